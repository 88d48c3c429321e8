package frontend

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/kubelet/pkg/apis/credentialprovider/install"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/testbin"
	"github.com/imagecred/image-credential-provider/providers"
)

// builtDir holds every binary, built once; tests copy it into a bin dir of their own
// when they change it.
var builtDir string

func TestMain(m *testing.M) {
	dir, err := testbin.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	builtDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const v1 = "credentialprovider.kubelet.k8s.io/v1"

var apiVersions = []string{v1, "credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"}

// ownBinDir is a bin dir of the test's own, with every binary.
func ownBinDir(t *testing.T) string {
	t.Helper()
	dir, err := testbin.CopyTo(builtDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// frontEndAlone removes every binary but the front end from dir: from then on, only a
// replay can answer.
func frontEndAlone(t *testing.T, dir string) {
	t.Helper()
	for _, b := range binaries.Installed()[1:] {
		if err := os.Remove(filepath.Join(dir, testbin.Exe(b))); err != nil {
			t.Fatal(err)
		}
	}
}

type result = testbin.Result

// run runs the binary name of dir as the kubelet does, from the working directory home.
func run(t *testing.T, dir, name, home, stdin string, env []string, args ...string) result {
	t.Helper()
	r, err := testbin.Run{Bin: filepath.Join(dir, testbin.Exe(name)), Args: args, Home: home, Env: env, Stdin: stdin, Timeout: 30 * time.Second}.Do()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func req(apiVersion, image string) string {
	return fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":%q,"image":%q}`, apiVersion, image)
}

type testResponse struct {
	APIVersion    string                          `json:"apiVersion"`
	CacheKeyType  string                          `json:"cacheKeyType"`
	CacheDuration string                          `json:"cacheDuration"`
	Auth          map[string]providers.AuthConfig `json:"auth"`
}

func decode(t *testing.T, r result) testResponse {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	var resp testResponse
	if err := json.Unmarshal([]byte(r.Stdout), &resp); err != nil {
		t.Fatalf("%v: %q", err, r.Stdout)
	}
	if err := kubeletDecodes(r.Stdout); err != nil {
		t.Fatalf("the kubelet's strict decoder rejects the answer: %v\n%s", err, r.Stdout)
	}
	return resp
}

// isMiss reports whether the front end, alone in its bin dir, could not answer.
func isMiss(r result) bool {
	return r.Code == 1 && r.Stdout == "" && strings.Contains(r.Stderr, "cannot answer")
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const dockerConfig = `{"auths":{"reg.example":{"username":"u","password":"static-secret"},"other.example":{"username":"o","password":"p"}}}`

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

// A miss is answered by a companion, which records the answer; then the front end
// answers on its own (every other binary is gone), for the registry the answer was
// keyed to, with a cacheDuration that has counted down.
func TestReplayAfterMiss(t *testing.T) {
	dir := ownBinDir(t)
	home := t.TempDir()
	cacheDir := filepath.Join(t.TempDir(), "cache")
	args := []string{"--backends=static", "--dockercfg", writeFile(t, filepath.Join(t.TempDir(), "config.json"), dockerConfig), "--cache-dir", cacheDir}
	for _, v := range apiVersions {
		first := decode(t, run(t, dir, binaries.FrontEnd, home, req(v, "reg.example/team/app"), nil, args...))
		if first.APIVersion != v || first.Auth["reg.example"].Password != "static-secret" || first.CacheKeyType != "Registry" {
			t.Fatalf("%s: first answer %+v", v, first)
		}
	}
	frontEndAlone(t, dir)
	for _, v := range apiVersions {
		// Another repository on the same registry: the kubelet would reuse a Registry answer too.
		got := decode(t, run(t, dir, binaries.FrontEnd, home, req(v, "reg.example/other/app"), nil, args...))
		d, err := time.ParseDuration(got.CacheDuration)
		if err != nil || d <= 0 || d > time.Minute || got.APIVersion != v || got.Auth["reg.example"].Password != "static-secret" {
			t.Fatalf("%s: replayed %+v (%v)", v, got, err)
		}
	}
	// Nothing recorded for this registry, or with other arguments, or another
	// environment: the front end must hand over, and nothing is there to take it.
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
		if r := run(t, dir, binaries.FrontEnd, home, req(v1, c.image), c.env, c.args...); !isMiss(r) {
			t.Errorf("%s: exit %d stdout %q stderr %q: want a miss", name, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// What the front end does not understand goes to the binary with every backend, whose
// errors come through.
func TestHandsOverWhatItDoesNotAnswer(t *testing.T) {
	home := t.TempDir()
	args := []string{"--backends=static", "--dockercfg", writeFile(t, filepath.Join(home, "config.json"), dockerConfig), "--cache-dir", filepath.Join(t.TempDir(), "c")}
	for name, c := range map[string]struct{ stdin, want string }{
		"malformed":    {"{", "malformed"},
		"wrong kind":   {`{"kind":"Pod","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a"}`, `kind is "Pod"`},
		"empty image":  {req(v1, ""), "empty image"},
		"bad version":  {req("credentialprovider.kubelet.k8s.io/v2", "a/b"), "not supported"},
		"empty stdin":  {"", "empty request"},
		"invalid name": {req(v1, "bad image/x"), "invalid image reference"},
	} {
		r := run(t, builtDir, binaries.FrontEnd, home, c.stdin, nil, args...)
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, c.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%s: exit %d stdout %q stderr %q, want one line saying %q", name, r.Code, r.Stdout, r.Stderr, c.want)
		}
	}
}

// Commands for people (and version) work with a stdin that never ends: nothing but a
// kubelet request is read from it.
func TestCommandsDoNotReadStdin(t *testing.T) {
	home := t.TempDir()
	cfg := writeFile(t, filepath.Join(home, "config.json"), dockerConfig)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "image-credential-provider "},
		{[]string{"--version"}, "image-credential-provider "},
		{[]string{"--help"}, "Usage:"},
		{[]string{"help"}, "Usage:"},
		{[]string{"--backends=static", "--dockercfg", cfg, "--show-secrets", "get", "reg.example/app"}, "static-secret"},
		{[]string{"--cache-dir", filepath.Join(home, "c"), "cache", "list"}, "empty"},
	}
	for _, tt := range tests {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		res, err := testbin.Run{Bin: filepath.Join(builtDir, testbin.Exe(binaries.FrontEnd)), Args: tt.args, Home: home, StdinFile: r, Timeout: 20 * time.Second}.Do()
		w.Close()
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != 0 || !strings.Contains(res.Stdout, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", tt.args, res.Code, res.Stdout, res.Stderr, tt.want)
		}
	}
}

// A recorded answer for one service account is never replayed to another.
func TestServiceAccountsAreKeptApart(t *testing.T) {
	dir := ownBinDir(t)
	home := t.TempDir()
	args := []string{"--backends=static", "--dockercfg", writeFile(t, filepath.Join(home, "config.json"), dockerConfig), "--cache-dir", filepath.Join(t.TempDir(), "c")}
	saReq := func(ns, name, uid string) string {
		claims := fmt.Sprintf(`{"sub":"system:serviceaccount:%s:%s","kubernetes.io":{"namespace":%q,"serviceaccount":{"name":%q,"uid":%q}}}`, ns, name, ns, name, uid)
		tok := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
		return fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"reg.example/app","serviceAccountToken":%q,"serviceAccountAnnotations":{"a":"1"}}`, tok)
	}
	decode(t, run(t, dir, binaries.FrontEnd, home, saReq("team", "builder", "u1"), nil, args...))
	frontEndAlone(t, dir)
	decode(t, run(t, dir, binaries.FrontEnd, home, saReq("team", "builder", "u1"), nil, args...)) // replayed
	for _, other := range []string{saReq("team", "other", "u2"), saReq("team", "builder", "u3"), saReq("x", "builder", "u1")} {
		if r := run(t, dir, binaries.FrontEnd, home, other, nil, args...); !isMiss(r) {
			t.Fatalf("another service account got a replayed answer: %s", r.Stdout)
		}
	}
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
	f.Add([]byte(req(v1, "a/b")))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x","serviceAccountToken":"a.b.c"}`))
	dir := filepath.Join(f.TempDir(), "cache")
	f.Fuzz(func(t *testing.T, data []byte) {
		// With an empty cache nothing is ever replayed, whatever the input.
		if out, r := replay(records{dir: dir, fingerprint: "f"}, data, time.Now()); r.ok {
			t.Fatalf("replayed %q from an empty cache", out)
		}
	})
}

// FuzzCacheDir compares the front end's reading of the cache flags with the flag
// package's, which the companions use: when both find the cache enabled, they name the
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
			return // the plugin refuses these arguments: nothing was recorded
		}
		if ok && *disabled {
			t.Fatalf("cacheDir(%q) = %q, but the flags disable the cache", args, got)
		}
		if ok && *dir != "" && got != *dir {
			t.Fatalf("cacheDir(%q) = %q, the flags say %q", args, got, *dir)
		}
	})
}

// Under a single-cloud plugin's name the front end hands the request, unread, to that
// cloud's companion, which takes that plugin's arguments; it replays nothing.
func TestDropInNamesGoToTheirCompanion(t *testing.T) {
	dir := ownBinDir(t)
	for _, name := range []string{"ecr-credential-provider", "auth-provider-gcp", "acr-credential-provider"} {
		link := filepath.Join(dir, testbin.Exe(name))
		if err := sameFileAs(filepath.Join(dir, testbin.Exe(binaries.FrontEnd)), link); err != nil {
			t.Fatal(err)
		}
		r := run(t, dir, name, t.TempDir(), req(v1, "a.example/b"), nil, "--not-a-flag-of-any-plugin")
		if r.Code != 1 || !strings.HasPrefix(r.Stderr, name+": ") || !strings.Contains(r.Stderr, "(see "+name+" --help)") {
			t.Errorf("%s: exit %d, stderr %q; want the companion's drop-in error", name, r.Code, r.Stderr)
		}
	}
}
