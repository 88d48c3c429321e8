package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/quote"
	"github.com/imagecred/image-credential-provider/internal/testbin"
)

// binDir holds every binary, built once, as the kubelet's bin dir would; pluginBin is
// the front end in it, the one the kubelet config names.
var binDir, pluginBin string

func TestMain(m *testing.M) {
	dir, err := testbin.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binDir, pluginBin = dir, filepath.Join(dir, testbin.Exe("image-credential-provider"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the plugin binary.
type result struct {
	stdout, stderr string
	code           int
}

// runPlugin runs the built plugin the way the kubelet does: args, extra env on top of a
// clean environment (HOME in a temp dir so no real docker config is read), stdin, a
// timeout. name, when set, is the name the binary is invoked under (see dropIn).
func runPlugin(t *testing.T, name string, env []string, stdin string, args ...string) result {
	t.Helper()
	bin := pluginBin
	if name != "" {
		bin = dropIn(t, name)
	}
	r, err := testbin.Run{Bin: bin, Args: args, Home: t.TempDir(), Env: env, Stdin: stdin}.Do()
	if err != nil {
		t.Fatalf("running plugin: %v", err)
	}
	return result{stdout: r.Stdout, stderr: r.Stderr, code: r.Code}
}

// dropIn installs the front end under a single-cloud plugin's name and returns its
// path. On Linux it is a symlink in a directory of its own: the front end finds its
// companions beside the file the link resolves to. On Windows a program learns only
// the path it was started by, so the name goes into a bin dir with every binary, as
// the README says to install it there: hard links (copies where the file system has
// none) of the binaries, and the front end once more under name.exe.
func dropIn(t *testing.T, name string) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		link := filepath.Join(t.TempDir(), name)
		if err := os.Symlink(pluginBin, link); err != nil {
			t.Fatal(err)
		}
		return link
	}
	dir := t.TempDir()
	ents, err := os.ReadDir(binDir)
	if err != nil {
		t.Fatal(err)
	}
	install := func(from, to string) {
		if os.Link(from, to) == nil {
			return
		}
		data, err := os.ReadFile(from)
		if err == nil {
			err = os.WriteFile(to, data, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range ents {
		install(filepath.Join(binDir, e.Name()), filepath.Join(dir, e.Name()))
	}
	link := filepath.Join(dir, testbin.Exe(name))
	install(pluginBin, link)
	return link
}

func request(apiVersion, image string) string {
	return fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":%q,"image":%q}`, apiVersion, image)
}

type response struct {
	Kind          string `json:"kind"`
	APIVersion    string `json:"apiVersion"`
	CacheKeyType  string `json:"cacheKeyType"`
	CacheDuration string `json:"cacheDuration"`
	Auth          map[string]struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"auth"`
}

func decodeResponse(t *testing.T, r result) response {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	var resp response
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("stdout is not one response: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout: %q", r.stdout)
	}
	return resp
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// exampleConfig is the README demo's config.json, as an absolute path (the plugin runs
// in a temp dir, as the kubelet's cwd is not ours).
var exampleConfig = func() string {
	p, err := filepath.Abs("../../examples/dockercfg/config.json")
	if err != nil {
		panic(err)
	}
	return p
}()

func TestKubeletModeEveryAPIVersion(t *testing.T) {
	for _, v := range []string{"credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"} {
		t.Run(v, func(t *testing.T) {
			r := runPlugin(t, "", nil, request(v, "my-registry.example/images/app"), "--dockercfg", exampleConfig, "--no-cache")
			resp := decodeResponse(t, r)
			if resp.APIVersion != v || resp.Kind != "CredentialProviderResponse" {
				t.Fatalf("answered %s %s to a %s request", resp.APIVersion, resp.Kind, v)
			}
			if resp.CacheKeyType != "Registry" || resp.CacheDuration == "" {
				t.Fatalf("cacheKeyType %q cacheDuration %q", resp.CacheKeyType, resp.CacheDuration)
			}
			if _, ok := resp.Auth["my-registry.example/images"]; !ok {
				t.Fatalf("no credentials for my-registry.example/images: %v", resp.Auth)
			}
		})
	}
}

func TestKubeletModeNoBackendServes(t *testing.T) {
	r := runPlugin(t, "", nil, request("credentialprovider.kubelet.k8s.io/v1", "quay.io/org/app"), "--backends", "static", "--dockercfg", exampleConfig)
	resp := decodeResponse(t, r)
	if len(resp.Auth) != 0 || resp.CacheKeyType != "Registry" {
		t.Fatalf("got %+v, want empty auth and Registry", resp)
	}
}

func TestKubeletModeBadRequests(t *testing.T) {
	tests := []struct {
		name, stdin, wantErr string
	}{
		{"empty", "", "empty request"},
		{"malformed", "{", "malformed"},
		{"wrong kind", `{"kind":"Pod","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a"}`, `kind is "Pod"`},
		{"missing apiVersion", `{"kind":"CredentialProviderRequest","image":"a"}`, "no apiVersion"},
		{"empty image", request("credentialprovider.kubelet.k8s.io/v1", ""), "empty image"},
		{"invalid image", request("credentialprovider.kubelet.k8s.io/v1", "bad image/x"), "invalid image reference"},
		{"too large", strings.Repeat(" ", 1<<20+1), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPlugin(t, "", nil, tt.stdin, "--dockercfg", exampleConfig)
			if r.code != 1 || r.stdout != "" {
				t.Fatalf("exit %d stdout %q, want exit 1 and nothing on stdout", r.code, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.wantErr) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Fatalf("stderr %q: want one line containing %q", r.stderr, tt.wantErr)
			}
		})
	}
}

func TestCLIErrorsAreOneLineWithoutUsage(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"frobnicate"}, {"get"}, {"get", "a", "b"}, {"get", "-o", "yaml", "nginx"}} {
		r := runPlugin(t, "", nil, "", args...)
		if r.code != 1 || strings.Contains(r.stderr, "Usage") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d stderr %q: want exit 1 and one line, no usage", args, r.code, r.stderr)
		}
	}
	r := runPlugin(t, "", nil, "", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "-dockercfg") {
		t.Errorf("--help: exit %d stdout %q", r.code, r.stdout)
	}
	r = runPlugin(t, "", nil, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "image-credential-provider ") {
		t.Errorf("version: exit %d stdout %q", r.code, r.stdout)
	}
}

func TestGetMasksSecrets(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.json", `{"auths":{"reg.example":{"username":"alice","password":"s3cr3t-pass"}}}`)
	r := runPlugin(t, "", nil, "", "get", "reg.example/team/app:1.0", "--dockercfg", cfg, "--no-cache")
	if r.code != 0 || !strings.Contains(r.stdout, "alice") || strings.Contains(r.stdout, "s3cr3t-pass") || !strings.Contains(r.stdout, "static") {
		t.Fatalf("get: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runPlugin(t, "", nil, "", "get", "-o", "json", "--show-secrets", "reg.example/team/app", "--dockercfg", cfg, "--no-cache")
	resp := decodeResponse(t, r)
	if resp.Auth["reg.example"].Password != "s3cr3t-pass" || resp.APIVersion != "credentialprovider.kubelet.k8s.io/v1" {
		t.Fatalf("get -o json --show-secrets: %+v", resp)
	}
	r = runPlugin(t, "", nil, "", "get", "-o", "json", "reg.example/team/app", "--dockercfg", cfg, "--no-cache", "-v", "10")
	if strings.Contains(r.stdout+r.stderr, "s3cr3t-pass") {
		t.Fatalf("secret printed without --show-secrets at -v 10: %s %s", r.stdout, r.stderr)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [static]\nstatic:\n  files: ["+exampleConfig+"]\n")
	r := runPlugin(t, "", nil, request("credentialprovider.kubelet.k8s.io/v1", "my-registry.example/images/x"), "--config", good)
	if resp := decodeResponse(t, r); len(resp.Auth) == 0 {
		t.Fatalf("config file not applied: %+v", resp)
	}
	for name, tc := range map[string]struct{ content, want string }{
		"unknown field": {"apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbakends: [static]\n", `unknown field.yaml:3:1: bakends: unknown field (did you mean backends?)`},
		"wrong kind":    {"apiVersion: imagecred.dev/v1alpha1\nkind: Nope\n", `wrong kind.yaml:2:7: kind: "Nope": want ImageCredentialProviderConfig`},
		"bad backend":   {"apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [quay]\n", `bad backend.yaml:3:12: backends[0]: unknown backend "quay"`},
	} {
		p := writeFile(t, dir, name+".yaml", tc.content)
		r := runPlugin(t, "", nil, request("credentialprovider.kubelet.k8s.io/v1", "a/b"), "--config", p)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d stderr %q, want %q", name, r.code, r.stderr, tc.want)
		}
	}
	// Flags override the file.
	r = runPlugin(t, "", nil, request("credentialprovider.kubelet.k8s.io/v1", "my-registry.example/images/x"), "--config", good, "--backends", "static", "--dockercfg", writeFile(t, dir, "other.json", `{"auths":{}}`))
	if resp := decodeResponse(t, r); len(resp.Auth) != 0 {
		t.Fatalf("--dockercfg did not override the file: %+v", resp)
	}
}

// TestBrokenDockerConfigBlocksNothing: issue 12. A broken docker config file (one
// that does not parse, a credsStore whose helper is not installed, an entry whose
// "auth" does not decode) blocks no image: the kubelet gets what is usable with
// cacheDuration 0s, stderr warns without secrets, `get` lists the problems, the answer
// is not recorded for replay; an image whose only credential is broken fails naming
// the file and entry.
func TestBrokenDockerConfigBlocksNothing(t *testing.T) {
	dir := t.TempDir()
	const hidden = "hidden-s3cr3t"
	broken := writeFile(t, dir, "broken.json", `{"auths":{"reg.example":{"auth":"`+hidden+`"`)
	store := writeFile(t, dir, "store.json", `{"auths":{"reg.example":{"username":"alice","password":"alice-pass"},"bad.example":{"auth":"`+hidden+`!"}},"credsStore":"desktop"}`)
	args := []string{"--backends", "static", "--dockercfg", broken, "--dockercfg", store}
	for _, tc := range []struct {
		image, user string
	}{
		{"quay.io/a/b", ""},
		{"reg.example/team/app", "alice"},
	} {
		cacheDir := filepath.Join(t.TempDir(), "cache")
		r := runPlugin(t, "", []string{"PATH=" + dir}, request("credentialprovider.kubelet.k8s.io/v1", tc.image), append(args, "--cache-dir", cacheDir)...)
		resp := decodeResponse(t, r)
		if resp.CacheDuration != "0s" || resp.Auth["reg.example"].Username != tc.user || (tc.user == "" && len(resp.Auth) != 0) {
			t.Errorf("%s: answer %+v, want user %q with cacheDuration 0s", tc.image, resp, tc.user)
		}
		for _, w := range []string{`broken.json\" skipped: malformed JSON`, `credsStore: credential helper \"docker-credential-desktop\" not found in PATH`} {
			if !strings.Contains(r.stderr, strings.ReplaceAll(w, `\"`, `"`)) {
				t.Errorf("%s: stderr %q does not warn about %q", tc.image, r.stderr, w)
			}
		}
		list := runPlugin(t, "", nil, "", "cache", "list", "--cache-dir", cacheDir)
		if strings.Contains(list.stdout, "kubelet-answer") {
			t.Errorf("%s: an answer with problems was recorded for replay:\n%s", tc.image, list.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, hidden) || strings.Contains(r.stderr, "alice-pass") {
			t.Errorf("%s: a secret reached the output: %s %s", tc.image, r.stdout, r.stderr)
		}
	}

	r := runPlugin(t, "", []string{"PATH=" + dir}, "", append([]string{"get", "quay.io/a/b", "--no-cache"}, args...)...)
	if r.code != 0 || strings.Count(r.stdout, "\nproblem: ") != 2 || !strings.Contains(r.stdout, "cacheDuration:  0s  (problems:") {
		t.Errorf("get: exit %d, stdout:\n%s", r.code, r.stdout)
	}

	r = runPlugin(t, "", []string{"PATH=" + dir}, request("credentialprovider.kubelet.k8s.io/v1", "bad.example/app"), args...)
	if r.code != 1 || !strings.Contains(r.stderr, `static: registry "bad.example": no usable credential for this image: docker config file `+quote.String(store)+`, entry "bad.example": "auth" is not valid base64`) || strings.Contains(r.stderr, hidden) {
		t.Errorf("only credential broken: exit %d, stderr %q", r.code, r.stderr)
	}
}
