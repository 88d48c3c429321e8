package testca

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestServerConfigPresentsCertificateForSNI(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.TLS = ca.ServerConfig()
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	other, err := New()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		serverName string // SNI and the name verified
		roots      *x509.CertPool
		wantErr    bool
	}{
		{"registry name", "myacr.azurecr.io", ca.Pool(), false},
		{"geo replica name", "myacr.eastus.geo.azurecr.io", ca.Pool(), false},
		{"authority name", "login.microsoftonline.com", ca.Pool(), false},
		{"ip without SNI", "127.0.0.1", ca.Pool(), false},
		{"untrusted by another CA", "myacr.azurecr.io", other.Pool(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: tt.roots, ServerName: tt.serverName, MinVersion: tls.VersionTLS12}
			conn, err := tls.Dial("tcp", addr, cfg)
			if tt.wantErr {
				if err == nil {
					conn.Close()
					t.Fatal("handshake succeeded, want a verification error")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			leaf := conn.ConnectionState().PeerCertificates[0]
			if err := leaf.VerifyHostname(tt.serverName); err != nil {
				t.Fatalf("leaf does not cover %s: %v", tt.serverName, err)
			}
		})
	}
}

func TestIssueCoversNamesAndCaches(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	c1, err := ca.Issue("*.azurecr.io", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.azurecr.io", "127.0.0.1"} {
		if err := c1.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := c1.Leaf.VerifyHostname("a.b.azurecr.io"); err == nil {
		t.Error("a wildcard must cover one label only")
	}
	c2, err := ca.Issue("127.0.0.1", "*.AZURECR.io")
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("the same set of names must give the cached certificate")
	}
	if _, err := ca.Issue(); err == nil {
		t.Error("Issue with no names must fail")
	}
}

func TestWriteFileIsPEMOfTheCA(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA || !cert.Equal(ca.Certificate) {
		t.Fatal("file does not hold the CA certificate")
	}
	// A leaf verifies against a pool built from the file alone.
	leaf, err := ca.Issue("myacr.azurecr.io")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "myacr.azurecr.io"}); err != nil {
		t.Fatal(err)
	}
}
