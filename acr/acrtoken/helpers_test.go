package acrtoken

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/exchange"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

func startFake(t *testing.T, opts azurefake.Options) *azurefake.Server {
	t.Helper()
	s, err := azurefake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// envMap is a WithLookupEnv source.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func newProvider(t *testing.T, s *azurefake.Server, cfg acr.Config, env map[string]string) *Provider {
	t.Helper()
	p, err := New(cfg, WithHTTPClient(s.Client()), WithLookupEnv(envMap(env)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// jsonString is s as a JSON string (a Windows path holds backslashes).
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func image(ref string) providers.Image {
	host, path, _ := strings.Cut(ref, "/")
	return providers.Image{Host: host, Path: path}
}

func request(ref string) providers.Request { return providers.Request{Image: image(ref)} }

func saRequest(ref, namespace, name string, ann map[string]string) providers.Request {
	r := request(ref)
	r.ServiceAccount = &providers.ServiceAccount{
		Token:       azurefake.ServiceAccountToken(namespace, name, "uid-"+name, azurefake.FederatedAudience),
		Annotations: ann,
		Namespace:   namespace, Name: name, UID: "uid-" + name,
	}
	return r
}

// checkResult asserts a successful answer: the key, the username, a refresh token
// the fake issued (never a client secret), Registry scope and a ~3 h expiry.
func checkResult(t *testing.T, s *azurefake.Server, res *providers.Result, keys ...string) {
	t.Helper()
	if res.CacheKeyType != providers.RegistryPluginCacheKeyType {
		t.Errorf("cacheKeyType %q, want Registry", res.CacheKeyType)
	}
	if len(res.Auth) != len(keys) {
		t.Errorf("auth keys %v, want %v", mapKeys(res.Auth), keys)
	}
	for _, k := range keys {
		a, ok := res.Auth[k]
		if !ok {
			t.Fatalf("no auth entry for %s (have %v)", k, mapKeys(res.Auth))
		}
		if a.Username != exchange.Username {
			t.Errorf("username %q", a.Username)
		}
		if err := s.ValidateRefreshToken(a.Password); err != nil {
			t.Errorf("password is not a refresh token the fake issued: %v", err)
		}
	}
	if d := time.Until(res.Expiry); d < 2*time.Hour+55*time.Minute || d > 3*time.Hour+time.Minute {
		t.Errorf("expiry in %v, want about 3h (the refresh token's exp)", d)
	}
}

func mapKeys(m map[string]providers.AuthConfig) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func lastToken(t *testing.T, s *azurefake.Server) azurefake.TokenRequest {
	t.Helper()
	reqs := s.TokenRequests()
	if len(reqs) == 0 {
		t.Fatal("no token request reached the fake")
	}
	return reqs[len(reqs)-1]
}

func lastExchange(t *testing.T, s *azurefake.Server) azurefake.ExchangeRequest {
	t.Helper()
	ex := s.Exchanges()
	if len(ex) == 0 {
		t.Fatal("no exchange reached the fake")
	}
	return ex[len(ex)-1]
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func writeFileB(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
