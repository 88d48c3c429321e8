package pull

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/test/fake/registry"
	"github.com/imagecred/image-credential-provider/test/fake/testca"
)

// start runs a static registry reachable as reg.example (port 443) and returns a
// puller that resolves that name to it and trusts its CA, and the seeded image.
func start(t *testing.T) (*Puller, registry.Image) {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := registry.Start(registry.Config{
		Auth: registry.StaticAuth(registry.User{Name: "alice", Password: "right"}),
		TLS:  ca.ServerConfig(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	img, err := srv.Seed("team/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteFile(caFile); err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Resolve: map[string]string{"reg.example:443": srv.Addr}, CAFiles: []string{caFile}})
	if err != nil {
		t.Fatal(err)
	}
	return p, img
}

func TestPullTriesCredentialsInTheKubeletsOrder(t *testing.T) {
	p, img := start(t)
	right := Credential{Username: "alice", Password: "right"}
	wrong := Credential{Username: "alice", Password: "wrong"}
	cases := []struct {
		name     string
		creds    []Credential
		ok       bool
		attempts int
		used     int
	}{
		{"first works", []Credential{right, wrong}, true, 1, 0},
		{"first wrong, second works", []Credential{wrong, right}, true, 2, 1},
		{"all wrong: no anonymous fallback", []Credential{wrong, wrong}, false, 2, -1},
		{"no credentials: anonymous, refused", nil, false, 1, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := p.Pull(context.Background(), "reg.example/team/app:v1", tc.creds)
			if res.OK != tc.ok || len(res.Attempts) != tc.attempts || (tc.ok && res.Used != tc.used) {
				t.Fatalf("ok=%v attempts=%d used=%d, want %v %d %d (%s)", res.OK, len(res.Attempts), res.Used, tc.ok, tc.attempts, tc.used, res.Error)
			}
			if len(tc.creds) == 0 && res.Attempts[0].Credential != -1 {
				t.Errorf("the attempt without credentials is not marked anonymous: %+v", res.Attempts[0])
			}
			for _, a := range res.Attempts {
				if !a.OK && a.Status != 401 {
					t.Errorf("failed attempt status %d, want 401: %s", a.Status, a.Error)
				}
			}
			if !tc.ok {
				return
			}
			if res.Manifest == nil || res.Manifest.Digest != img.Digest || !res.Manifest.Verified {
				t.Errorf("manifest %+v, want %s verified", res.Manifest, img.Digest)
			}
			if res.Config == nil || res.Config.Digest != img.Config || !res.Config.Verified {
				t.Errorf("config %+v, want %s", res.Config, img.Config)
			}
			if len(res.Layers) != len(img.Layers) {
				t.Fatalf("%d layers, want %d", len(res.Layers), len(img.Layers))
			}
			for i, l := range res.Layers {
				if l.Digest != img.Layers[i] || !l.Verified {
					t.Errorf("layer %d %+v, want %s", i, l, img.Layers[i])
				}
			}
			if res.Bytes != img.Bytes {
				t.Errorf("bytes %d, want %d", res.Bytes, img.Bytes)
			}
		})
	}
}

func TestPullByDigest(t *testing.T) {
	p, img := start(t)
	res := p.Pull(context.Background(), "reg.example/team/app@"+img.Digest, []Credential{{Username: "alice", Password: "right"}})
	if !res.OK || res.Manifest.Digest != img.Digest {
		t.Fatalf("pull by digest: %+v", res)
	}
	bogus := "sha256:" + strings.Repeat("0", 64)
	if res := p.Pull(context.Background(), "reg.example/team/app@"+bogus, []Credential{{Username: "alice", Password: "right"}}); res.OK {
		t.Fatal("pull of an unknown digest succeeded")
	}
}

func TestPullerNeverLeavesLoopback(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Pull(context.Background(), "registry.example.com/app:v1", nil)
	if res.OK || !strings.Contains(res.Error, "not loopback") {
		t.Fatalf("pull of an unmapped name: ok=%v error %q, want a loopback refusal", res.OK, res.Error)
	}
}

func TestNewRejectsBadCAFiles(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{empty, filepath.Join(t.TempDir(), "absent.pem")} {
		if _, err := New(Options{CAFiles: []string{f}}); err == nil {
			t.Errorf("New accepted CA file %s", f)
		}
	}
}

func TestPullRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	cases := []struct{ image, tag, digest, want string }{
		{"nginx", "latest", "", "nginx:latest"},
		{"nginx:1.2", "1.2", "", "nginx:1.2"},
		{"reg.example:5000/team/app", "latest", "", "reg.example:5000/team/app:latest"},
		{"reg.example:5000/team/app:v1", "v1", "", "reg.example:5000/team/app:v1"},
		{"reg.example/app@" + d, "", d, "reg.example/app@" + d},
		{"reg.example/app:v1@" + d, "v1", d, "reg.example/app@" + d},
	}
	for _, tc := range cases {
		if got := PullRef(tc.image, tc.tag, tc.digest); got != tc.want {
			t.Errorf("PullRef(%q, %q, %q) = %q, want %q", tc.image, tc.tag, tc.digest, got, tc.want)
		}
	}
}
