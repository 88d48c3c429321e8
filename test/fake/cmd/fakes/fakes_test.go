package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestStartDescribesReachableSeededRegistries(t *testing.T) {
	dir := t.TempDir()
	f, err := Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	env := f.Env
	if got := strings.Join(env.Backends, ","); got != "acr,ecr,gcr,static" {
		t.Errorf("backends %q", got)
	}
	pem, err := os.ReadFile(env.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := env.Resolve[addr]; ok {
				addr = to
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	cases := []struct {
		ref, user, passwordVar string
		registry, image        string
		ok                     bool
	}{
		{"my-registry.example/images/my-image:v1", "images-user", "IMAGES_USER_PASSWORD", "static-docs", "images/my-image:v1", true},
		{"my-registry.example/images/subpath/my-image:v1", "subpath-user", "SUBPATH_USER_PASSWORD", "static-docs", "images/subpath/my-image:v1", true},
		{"my-registry.example/images/my-image:v1", "subpath-user", "SUBPATH_USER_PASSWORD", "static-docs", "", false}, // path-limited user
		{"a.b.sub.my-registry.example/images/my-image:latest", "wild-user", "WILD_USER_PASSWORD", "static-wild", "images/my-image:latest", true},
		{"index.docker.io/library/busybox:latest", "hub-user", "HUB_USER_PASSWORD", "dockerhub", "library/busybox:latest", true},
		{env.Vars["STATIC_PORT_ADDR"] + "/team/app:v1", "port-user", "PORT_USER_PASSWORD", "static-port", "team/app:v1", true},
		{env.Vars["STATIC_PORT_ADDR"] + "/team/app:v1", "port2-user", "PORT2_USER_PASSWORD", "static-port", "", false},
		{"gcr.io/fake-project/app:v1", "oauth2accesstoken", "not-a-var", "google", "", false}, // no token issued
		{"myacr.azurecr.io/team/app:v1", "00000000-0000-0000-0000-000000000000", "not-a-var", "acr", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.ref+" as "+tc.user, func(t *testing.T) {
			ref, err := name.ParseReference(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			password := env.Vars[tc.passwordVar]
			if password == "" {
				password = "not-a-token-the-fake-issued"
			}
			desc, err := remote.Get(ref, remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: tc.user, Password: password}))
			if (err == nil) != tc.ok {
				t.Fatalf("pull error %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && desc.Digest.String() != env.Registries[tc.registry].Images[tc.image].Digest {
				t.Errorf("digest %s, env says %s", desc.Digest, env.Registries[tc.registry].Images[tc.image].Digest)
			}
		})
	}
}

func TestShellExportsQuote(t *testing.T) {
	env := &Env{CAFile: "/tmp/ca.pem", Backends: []string{"static"},
		Vars:      map[string]string{"A": "it's", "B": "$(reboot)"},
		PluginEnv: map[string]string{"HTTPS_PROXY": "http://127.0.0.1:1"}}
	out := shellExports(env)
	script := out + `printf '%s|%s|%s|%s' "$A" "$B" "$PLUGIN_ENV_HTTPS_PROXY" "$FAKES_CA_FILE"`
	got, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "it's|$(reboot)|http://127.0.0.1:1|/tmp/ca.pem"; string(got) != want {
		t.Errorf("sourced values %q, want %q", got, want)
	}
}

func TestAdminKnobs(t *testing.T) {
	f, err := Start(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	url, err := f.serveAdmin()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want int
	}{
		{"/registry/static-docs/fail?n=1", 200},
		{"/registry/nope/fail?n=1", 400},
		{"/registry/static-docs/expire-tokens", 200},
		{"/google/fail?endpoint=metadata-token&n=1&status=503", 200},
		{"/google/fail?endpoint=metadata-token", 400},
		{"/azure/expire-tokens", 200},
		{"/calls?fake=google&endpoint=metadata-token&max=0", 200},
		{"/calls?fake=google&endpoint=metadata-token&min=1", 412},
		{"/calls?fake=nope&endpoint=x", 404},
		{"/aws/fail?endpoint=ecr:GetAuthorizationToken&n=1&status=500", 200},
		{"/aws/fail?endpoint=ecr:GetAuthorizationToken&n=1", 400},
		{"/aws/throttle?endpoint=sts:AssumeRoleWithWebIdentity&n=1", 200},
		{"/aws/expire-tokens", 200},
		{"/calls?fake=aws&endpoint=all&max=0", 200},
		{"/calls?fake=aws&endpoint=ecr:GetAuthorizationToken&min=1", 412},
		{"/calls?fake=aws&endpoint=sts:AssumeRoleWithWebIdentity&role=arn:aws:iam::123456789012:role/r&max=0", 200},
	}
	for _, tc := range cases {
		resp, err := http.Post(url+tc.path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("POST %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	// The injected registry failure is real.
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: f.ca.ClientConfig()}}).Get(f.Env.Registries["static-docs"].URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after /fail the registry answered %d, want 503", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "azure.json")); err != nil {
		t.Errorf("azure.json for the plugin: %v", err)
	}
}

// The static registries take the credentials of a docker config file given to Start for
// the hosts they serve, each limited to its entry's path, so the example config.json
// pulls as it ships; entries for hosts no registry serves change nothing.
func TestDockerConfigUsers(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"auths": {
  "https://index.docker.io/v1/": {"auth": "aHViLWV4YW1wbGU6aHViLXB3"},
  "my-registry.example/images": {"username": "images-example", "password": "images-pw"},
  "*.my-registry.example": {"username": "wild-example", "password": "wild-pw"},
  "localhost:5000": {"username": "nobody", "password": "x"}
}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Start(t.TempDir(), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	tr := &http.Transport{
		TLSClientConfig: f.ca.ClientConfig(),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := f.Env.Resolve[addr]; ok {
				addr = to
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	for _, tc := range []struct {
		ref, user, password string
		ok                  bool
	}{
		{"index.docker.io/library/busybox:v1", "hub-example", "hub-pw", true},
		{"my-registry.example/images/my-image:v1", "images-example", "images-pw", true},
		{"my-registry.example/images/my-image:v1", "images-example", "wrong", false},
		{"sub.my-registry.example/images/my-image:v1", "wild-example", "wild-pw", true},
		{"sub.my-registry.example/images/my-image:v1", "images-example", "images-pw", false},
		{"abc.kubernetes.io/app:v1", "nobody", "x", false},
	} {
		t.Run(tc.ref+" as "+tc.user, func(t *testing.T) {
			ref, err := name.ParseReference(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.Get(ref, remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: tc.user, Password: tc.password}))
			if (err == nil) != tc.ok {
				t.Fatalf("pull error %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if _, err := dockerConfigUsers(staticSites(), []string{filepath.Join(t.TempDir(), "missing.json")}); err == nil {
		t.Error("a missing docker config file is not an error")
	}
}
