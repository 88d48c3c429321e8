package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/kubelet/pkg/apis/credentialprovider/install"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/providers"
)

// binDir holds both binaries, as a kubelet plugin bin dir would.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "icp-fast-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	for _, b := range []struct{ out, pkg string }{
		{"image-credential-provider-fast", "."},
		{"image-credential-provider", "../image-credential-provider"},
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b.pkg, err, out)
			os.Exit(2)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// runBin runs bin (a file in dir) with a fixed, clean environment, as the kubelet does.
func runBin(t *testing.T, dir, bin, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, bin), args...)
	cmd.Env = append([]string{"HOME=/nonexistent", "PATH=/usr/bin:/bin"}, env...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func req(apiVersion, image string) string {
	return fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":%q,"image":%q}`, apiVersion, image)
}

// ownBinDir copies both binaries into a fresh dir, so a test may remove the full one.
func ownBinDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []string{"image-credential-provider-fast", "image-credential-provider"} {
		data, err := os.ReadFile(filepath.Join(binDir, b))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, b), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type testResponse struct {
	APIVersion    string                          `json:"apiVersion"`
	CacheKeyType  string                          `json:"cacheKeyType"`
	CacheDuration string                          `json:"cacheDuration"`
	Auth          map[string]providers.AuthConfig `json:"auth"`
}

func decode(t *testing.T, r result) testResponse {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var resp testResponse
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	return resp
}

func staticConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(`{"auths":{"reg.example":{"username":"u","password":"static-secret"},"other.example":{"username":"o","password":"p"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A miss runs the full plugin, which records its answer; then the front answers on its
// own (the full plugin is gone), for the registry the answer was keyed to, with a
// cacheDuration that has counted down.
func TestReplayAfterMiss(t *testing.T) {
	dir := ownBinDir(t)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	args := []string{"--backends=static", "--dockercfg", staticConfig(t), "--cache-dir", cacheDir}
	for _, v := range []string{"credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"} {
		first := decode(t, runBin(t, dir, "image-credential-provider-fast", req(v, "reg.example/team/app"), nil, args...))
		if first.APIVersion != v || first.Auth["reg.example"].Password != "static-secret" || first.CacheKeyType != "Registry" {
			t.Fatalf("%s: first answer %+v", v, first)
		}
	}
	if err := os.Remove(filepath.Join(dir, "image-credential-provider")); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"} {
		// Another repository on the same registry: the kubelet would reuse a Registry answer too.
		r := runBin(t, dir, "image-credential-provider-fast", req(v, "reg.example/other/app"), nil, args...)
		got := decode(t, r)
		d, err := time.ParseDuration(got.CacheDuration)
		if err != nil || d <= 0 || d > time.Minute || got.APIVersion != v || got.Auth["reg.example"].Password != "static-secret" {
			t.Fatalf("%s: replayed %+v (%v)", v, got, err)
		}
		if err := kubeletDecodes(r.stdout); err != nil {
			t.Fatalf("%s: the kubelet's strict decoder rejects the replay: %v\n%s", v, err, r.stdout)
		}
	}
	// Nothing recorded for this registry, or with other arguments, or another environment:
	// the front must run the full plugin, which is gone.
	for name, c := range map[string]struct {
		image string
		env   []string
		args  []string
	}{
		"other registry":    {"other.example/app", nil, args},
		"other arguments":   {"reg.example/team/app", nil, append([]string{"-v=1"}, args...)},
		"other environment": {"reg.example/team/app", []string{"AWS_PROFILE=x"}, args},
		"cache disabled":    {"reg.example/team/app", nil, append([]string{"--no-cache"}, args...)},
	} {
		r := runBin(t, dir, "image-credential-provider-fast", req("credentialprovider.kubelet.k8s.io/v1", c.image), c.env, c.args...)
		if r.code != 1 || !strings.Contains(r.stderr, "cannot run image-credential-provider") {
			t.Errorf("%s: exit %d stdout %q stderr %q: want a miss", name, r.code, r.stdout, r.stderr)
		}
	}
}

// What the front does not understand goes to the full plugin, whose errors come through.
func TestDelegatesWhatItDoesNotAnswer(t *testing.T) {
	args := []string{"--backends=static", "--dockercfg", staticConfig(t), "--cache-dir", filepath.Join(t.TempDir(), "c")}
	for name, c := range map[string]struct{ stdin, want string }{
		"malformed":    {"{", "malformed"},
		"wrong kind":   {`{"kind":"Pod","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a"}`, `kind is "Pod"`},
		"empty image":  {req("credentialprovider.kubelet.k8s.io/v1", ""), "empty image"},
		"bad version":  {req("credentialprovider.kubelet.k8s.io/v2", "a/b"), "not supported"},
		"empty stdin":  {"", "empty request"},
		"invalid name": {req("credentialprovider.kubelet.k8s.io/v1", "bad image/x"), "invalid image reference"},
	} {
		r := runBin(t, binDir, "image-credential-provider-fast", c.stdin, nil, args...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d stdout %q stderr %q, want the full plugin's %q", name, r.code, r.stdout, r.stderr, c.want)
		}
	}
	r := runBin(t, binDir, "image-credential-provider-fast", "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "image-credential-provider ") {
		t.Errorf("version through the front: %+v", r)
	}
}

// A recorded answer for one service account is never replayed to another.
func TestServiceAccountsAreKeptApart(t *testing.T) {
	dir := ownBinDir(t)
	args := []string{"--backends=static", "--dockercfg", staticConfig(t), "--cache-dir", filepath.Join(t.TempDir(), "c")}
	saReq := func(ns, name, uid string) string {
		claims := fmt.Sprintf(`{"sub":"system:serviceaccount:%s:%s","kubernetes.io":{"namespace":%q,"serviceaccount":{"name":%q,"uid":%q}}}`, ns, name, ns, name, uid)
		tok := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
		return fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"reg.example/app","serviceAccountToken":%q,"serviceAccountAnnotations":{"a":"1"}}`, tok)
	}
	decode(t, runBin(t, dir, "image-credential-provider-fast", saReq("team", "builder", "u1"), nil, args...))
	os.Remove(filepath.Join(dir, "image-credential-provider"))
	decode(t, runBin(t, dir, "image-credential-provider-fast", saReq("team", "builder", "u1"), nil, args...)) // replayed
	for _, other := range []string{saReq("team", "other", "u2"), saReq("team", "builder", "u3"), saReq("x", "builder", "u1")} {
		if r := runBin(t, dir, "image-credential-provider-fast", other, nil, args...); r.code == 0 {
			t.Fatalf("another service account got a replayed answer: %s", r.stdout)
		}
	}
}

func kubeletDecodes(out string) error {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDecoder(
		schema.GroupVersion{Group: "credentialprovider.kubelet.k8s.io", Version: "v1"},
		schema.GroupVersion{Group: "credentialprovider.kubelet.k8s.io", Version: "v1beta1"},
		schema.GroupVersion{Group: "credentialprovider.kubelet.k8s.io", Version: "v1alpha1"},
	)
	_, _, err := dec.Decode([]byte(out), nil, nil)
	return err
}

func TestCacheDirFromArguments(t *testing.T) {
	cfg := []byte("apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\ncache:\n  dir: /from/file\n")
	tests := []struct {
		args   []string
		config []byte
		want   string
		ok     bool
	}{
		{[]string{"--cache-dir", "/a"}, nil, "/a", true},
		{[]string{"-cache-dir=/b"}, nil, "/b", true},
		{nil, cfg, "/from/file", true},
		{[]string{"--cache-dir=/flag"}, cfg, "/flag", true},
		{[]string{"--no-cache"}, nil, "", false},
		{[]string{"--no-cache=false", "--cache-dir", "/c"}, nil, "/c", true},
		{[]string{"--no-cache=maybe"}, nil, "", false},
		{[]string{"--cache-dir"}, nil, "", false},
		{nil, []byte("cache: [not, a, map"), "", false},
		{nil, []byte("cache:\n  disabled: true\n"), "", false},
	}
	for _, tt := range tests {
		got, ok := cacheDir(tt.args, tt.config)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("cacheDir(%q, %q) = %q, %v; want %q, %v", tt.args, tt.config, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzReplayRequest(f *testing.F) {
	f.Add([]byte(req("credentialprovider.kubelet.k8s.io/v1", "a/b")))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x","serviceAccountToken":"a.b.c"}`))
	dir := filepath.Join(f.TempDir(), "cache")
	f.Fuzz(func(t *testing.T, data []byte) {
		// With an empty cache nothing is ever replayed, whatever the input.
		if out, ok := replay([]string{"--cache-dir", dir}, data, time.Now()); ok {
			t.Fatalf("replayed %q from an empty cache", out)
		}
	})
}

// FuzzCacheDir compares the front end's reading of the cache flags with the flag
// package's, which the full plugin uses: when both find the cache enabled, they name the
// same directory, and the front end never uses a cache the flags disable.
func FuzzCacheDir(f *testing.F) {
	f.Add("--cache-dir\x00/a\x00--no-cache=false")
	f.Add("-cache-dir=/b\x00get\x00--cache-dir\x00/c")
	f.Add("--no-cache\x00--cache-dir=/d")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		got, ok := cacheDir(args, nil)
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		dir := fs.String("cache-dir", "", "")
		disabled := fs.Bool("no-cache", false, "")
		if _, err := cliargs.ParseInterleaved(fs, args); err != nil {
			return // the full plugin refuses these arguments: nothing was recorded
		}
		if ok && *disabled {
			t.Fatalf("cacheDir(%q) = %q, but the flags disable the cache", args, got)
		}
		if ok && *dir != "" && got != *dir {
			t.Fatalf("cacheDir(%q) = %q, the flags say %q", args, got, *dir)
		}
	})
}

// Installed under a drop-in name, the front end runs the full plugin under that name
// (its drop-in mode, with that plugin's arguments) and replays nothing.
func TestDropInNamesRunTheFullPluginUnderTheirName(t *testing.T) {
	dir := ownBinDir(t)
	for name := range dropIns {
		if err := os.Symlink("image-credential-provider-fast", filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		r := runBin(t, dir, name, req("credentialprovider.kubelet.k8s.io/v1", "a.example/b"), nil, "--not-a-flag-of-any-plugin")
		if r.code != 1 || !strings.Contains(r.stderr, "invoked as "+name) {
			t.Errorf("%s: exit %d, stderr %q; want the full plugin's drop-in error", name, r.code, r.stderr)
		}
	}
}
