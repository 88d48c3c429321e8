// Package testca is a throwaway certificate authority for loopback test servers.
//
// A CA lives in memory only. It issues leaf certificates for DNS names and IP addresses,
// on demand by SNI (so one loopback server can answer as "myacr.azurecr.io",
// "login.microsoftonline.com" and 127.0.0.1 alike), and writes its own certificate as PEM
// for SSL_CERT_FILE so a child process trusts the servers without touching the system
// trust store.
//
//	ca, _ := testca.New()
//	srv := httptest.NewUnstartedServer(h)
//	srv.TLS = ca.ServerConfig()
//	srv.StartTLS()
//	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig()}}
//	_ = ca.WriteFile(filepath.Join(dir, "ca.pem")) // then SSL_CERT_FILE=that path
package testca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// validity of every certificate the CA makes; generous so a long test run never sees
// an expired one, backdated to tolerate small clock differences.
const (
	validity = 24 * time.Hour
	backdate = time.Hour
)

// CA is an in-memory certificate authority. Its methods are safe for concurrent use.
type CA struct {
	// Certificate is the CA's own (self-signed) certificate.
	Certificate *x509.Certificate
	// PEM is Certificate in PEM form, what SSL_CERT_FILE should contain.
	PEM []byte

	key crypto.Signer

	mu     sync.Mutex
	leaves map[string]*tls.Certificate // by the sorted, comma-joined names
}

// New makes a fresh CA with a new key.
func New() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testca: generating CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "image-credential-provider test CA", Organization: []string{"testca"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("testca: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: parsing CA certificate: %w", err)
	}
	return &CA{
		Certificate: cert,
		PEM:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:         key,
		leaves:      map[string]*tls.Certificate{},
	}, nil
}

// Issue returns a server certificate (with its chain up to the CA) for names: DNS names
// (wildcards such as "*.azurecr.io" allowed) and IP literals. Certificates are cached
// per set of names.
func (ca *CA) Issue(names ...string) (*tls.Certificate, error) {
	if len(names) == 0 {
		return nil, errors.New("testca: Issue needs at least one name")
	}
	sorted := append([]string(nil), names...)
	for i, n := range sorted {
		sorted[i] = strings.ToLower(strings.TrimSuffix(n, "."))
	}
	sort.Strings(sorted)
	id := strings.Join(sorted, ",")

	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[id]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testca: generating leaf key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: sorted[0]},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range sorted {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("testca: creating certificate for %s: %w", id, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: parsing certificate for %s: %w", id, err)
	}
	c := &tls.Certificate{
		Certificate: [][]byte{der, ca.Certificate.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}
	ca.leaves[id] = c
	return c, nil
}

// ServerConfig is a TLS server configuration that presents, for each connection, a
// certificate issued for the name the client asked for (SNI). A client that sends no
// SNI (it dialled an IP address) gets a certificate for 127.0.0.1, ::1 and localhost.
func (ca *CA) ServerConfig() *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				return ca.Issue("127.0.0.1", "::1", "localhost")
			}
			return ca.Issue(hello.ServerName)
		},
	}
	// Also set Certificates: crypto/tls consults GetCertificate without SNI only when
	// Certificates is empty, and httptest.Server.StartTLS fills an empty list with its
	// own certificate, which this CA did not sign.
	if c, err := ca.Issue("127.0.0.1", "::1", "localhost"); err == nil {
		cfg.Certificates = []tls.Certificate{*c}
	}
	return cfg
}

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Certificate)
	return p
}

// ClientConfig is a TLS client configuration that trusts the CA and nothing else.
func (ca *CA) ClientConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool()}
}

// WriteFile writes the CA certificate as PEM to path (mode 0644), for SSL_CERT_FILE.
func (ca *CA) WriteFile(path string) error {
	if err := os.WriteFile(path, ca.PEM, 0o644); err != nil {
		return fmt.Errorf("testca: writing CA certificate: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		// crypto/rand does not fail on Linux; a constant serial is still a valid test cert.
		return big.NewInt(1)
	}
	return n.Add(n, big.NewInt(1))
}
