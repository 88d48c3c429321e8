package ecrtoken

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
)

// awsEnv lists every variable the SDK's default chain and our provider read; isolate
// clears them all so no test sees the machine's AWS setup.
var awsEnv = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ECR_PUBLIC",
	"AWS_ENDPOINT_URL_STS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CA_BUNDLE", "AWS_SDK_LOAD_CONFIG", ecr.RoleEnv, "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
}

// isolate clears the AWS environment and points the shared config and credentials files
// at empty temp files, with instance metadata disabled.
func isolate(t *testing.T) {
	t.Helper()
	for _, k := range awsEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		p := filepath.Join(dir, strings.ToLower(k))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(k, p)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// withFake isolates the environment and aims the SDK at a new fake with its static
// test credentials.
func withFake(t *testing.T) *awsfake.Server {
	t.Helper()
	isolate(t)
	f := awsfake.New()
	t.Cleanup(f.Close)
	setEnv(t, f.Env())
	return f
}

func setEnv(t *testing.T, kvs []string) {
	t.Helper()
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func newProvider(t *testing.T, cfg ecr.Config, opts ...Option) *Provider {
	t.Helper()
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p.maxBackoff = 5 * time.Millisecond // retries stay real, waits short
	return p
}

func imageReq(image string) providers.Request {
	host, path, _ := strings.Cut(image, "/")
	return providers.Request{Image: providers.Image{Host: host, Path: path}}
}

// saReq is a service-account-token request; the token's claims name ns/name/uid.
func saReq(image, token string, annotations map[string]string) providers.Request {
	r := imageReq(image)
	r.ServiceAccount = &providers.ServiceAccount{Token: token, Annotations: annotations, Namespace: "team-a", Name: "puller", UID: "0000-1111"}
	return r
}

// closedPort returns a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// redirector is an HTTP client that sends every request to the fake, keeping the URL
// host the SDK chose as the Host header, and records those hosts: the SDK resolves the
// real AWS endpoints and the fake serves them.
type redirector struct {
	fake  *awsfake.Server
	mu    sync.Mutex
	hosts []string
	c     http.Client
}

func newRedirector(f *awsfake.Server) *redirector {
	return &redirector{fake: f, c: http.Client{Timeout: 10 * time.Second}}
}

func (r *redirector) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Scheme+"://"+req.URL.Host)
	r.mu.Unlock()
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme = "http"
	out.URL.Host = strings.TrimPrefix(r.fake.URL, "http://")
	out.RequestURI = ""
	return r.c.Do(out)
}

func (r *redirector) Hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hosts...)
}

func fetch(t *testing.T, p *Provider, req providers.Request) (*providers.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.Credentials(ctx, req)
}

// mustToken checks res carries exactly one live fake token for host, username AWS, and
// returns it.
func mustToken(t *testing.T, f *awsfake.Server, res *providers.Result, err error, host string) awsfake.Token {
	t.Helper()
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	if len(res.Auth) != 1 {
		t.Fatalf("auth %v, want one key %q", res.Auth, host)
	}
	a, ok := res.Auth[host]
	if !ok {
		t.Fatalf("auth keys %v, want %q", res.Auth, host)
	}
	if a.Username != "AWS" {
		t.Errorf("username %q, want AWS", a.Username)
	}
	if res.CacheKeyType != providers.RegistryPluginCacheKeyType {
		t.Errorf("cacheKeyType %q", res.CacheKeyType)
	}
	tok, ok := f.Lookup(a.Password)
	if !ok || !f.Valid(a.Password) {
		t.Fatalf("password is not a live token of the fake")
	}
	if d := res.Expiry.Sub(tok.ExpiresAt); d > time.Millisecond || d < -time.Millisecond {
		t.Errorf("expiry %v, token expires %v", res.Expiry, tok.ExpiresAt)
	}
	return tok
}
