package gcrtoken

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

// startFake starts the Google fake and points the metadata library at it. It also
// clears GOOGLE_APPLICATION_CREDENTIALS so the machine's environment cannot leak in.
func startFake(t *testing.T) *gcpfake.Server {
	t.Helper()
	f := gcpfake.New()
	t.Cleanup(f.Close)
	t.Setenv("GCE_METADATA_HOST", f.MetadataHost)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	return f
}

func newProvider(t *testing.T, cfg gcr.Config, opts ...Option) *Provider {
	t.Helper()
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func request(host string) providers.Request {
	return providers.Request{Image: providers.Image{Host: host, Path: "team/app"}}
}

func saRequest(host, token string, annotations map[string]string) providers.Request {
	r := request(host)
	r.ServiceAccount = &providers.ServiceAccount{Token: token, Annotations: annotations, Namespace: "ns", Name: "sa", UID: "uid-1"}
	return r
}

func fetch(t *testing.T, p *Provider, r providers.Request) (*providers.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.Credentials(ctx, r)
}

// tokenOf checks res is a Google token answer for host and returns the token.
func tokenOf(t *testing.T, res *providers.Result, host string) string {
	t.Helper()
	if len(res.Auth) != 1 {
		t.Fatalf("auth has %d keys, want exactly %q", len(res.Auth), host)
	}
	a, ok := res.Auth[host]
	if !ok {
		t.Fatalf("auth keys %v, want %q", keys(res.Auth), host)
	}
	if a.Username != Username {
		t.Errorf("username %q, want %q", a.Username, Username)
	}
	if res.CacheKeyType != providers.RegistryPluginCacheKeyType {
		t.Errorf("cacheKeyType %q, want Registry", res.CacheKeyType)
	}
	return a.Password
}

func keys(m map[string]providers.AuthConfig) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkOneLine checks err is the backend's one-line error for host and mentions want.
func checkOneLine(t *testing.T, err error, host string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error mentioning %q, got none", want)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !strings.HasPrefix(msg, "gcr: registry "+host+": ") {
		t.Errorf("error %q does not start with %q", msg, "gcr: registry "+host+": ")
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	if strings.Contains(msg, "ya29.") {
		t.Errorf("error %q carries an access token", msg)
	}
}

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// rsaKey is a throwaway key generated once per test binary.
func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// serviceAccountKey returns a service_account credentials object whose token_uri is
// the fake's, and registers its public key there.
func serviceAccountKey(t *testing.T, f *gcpfake.Server, email string) map[string]any {
	t.Helper()
	k := rsaKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	f.AddKey(email, &k.PublicKey)
	return map[string]any{
		"type":           "service_account",
		"project_id":     "fake-project",
		"private_key_id": "fake-key-id",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   email,
		"client_id":      "100000000000000000001",
		"token_uri":      f.OAuth2TokenURL,
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "creds.json", string(b))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// notGCE is a DMI product name file of a machine that is not a GCE VM.
func notGCE(t *testing.T) Option {
	return WithProductNameFile(writeFile(t, "product_name", "Standard PC (Q35 + ICH9, 2009)\n"))
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
