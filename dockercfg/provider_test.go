package dockercfg

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/internal/quote"
	"github.com/imagecred/image-credential-provider/providers"
)

// image splits a kubelet image string (host/path) for tests.
func image(s string) providers.Image {
	host, path, _ := strings.Cut(s, "/")
	return providers.Image{Host: host, Path: path}
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newProvider builds a provider that never searches the real default locations.
func newProvider(t *testing.T, cfg Config, opts ...Option) *Provider {
	t.Helper()
	p, err := New(cfg, append([]Option{WithSearchPaths()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sortedKeys(m map[string]providers.AuthConfig) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestExampleConfig loads examples/dockercfg/config.json, which the README's demo
// uses, and checks what it answers and what the kubelet then picks.
func TestExampleConfig(t *testing.T) {
	p := newProvider(t, Config{Files: []string{"../examples/dockercfg/config.json"}})
	tests := []struct {
		image     string
		serves    bool
		keys      []string // the answer (every entry for the registry host)
		kubelet   []string // usernames the kubelet tries, in order
		notServed bool
	}{
		{
			image: "docker.io/library/nginx", serves: true,
			keys:    []string{"index.docker.io"},
			kubelet: []string{"example-hub-user"},
		},
		{
			image: "my-registry.example/images/subpath/app", serves: true,
			keys:    []string{"my-registry.example", "my-registry.example/images", "my-registry.example/images/subpath"},
			kubelet: []string{"example-subpath-reader", "example-images-reader", "example-registry-user"},
		},
		{
			image: "my-registry.example/other/app", serves: true,
			keys:    []string{"my-registry.example", "my-registry.example/images", "my-registry.example/images/subpath"},
			kubelet: []string{"example-registry-user"},
		},
		{
			image: "sub.my-registry.example/images/app", serves: true,
			keys:    []string{"*.my-registry.example/images"},
			kubelet: []string{"example-mirror-reader"},
		},
		{
			image: "sub.my-registry.example/other/app", serves: true,
			keys:    []string{"*.my-registry.example/images"},
			kubelet: nil, // the host matches, the path does not
		},
		{image: "a.sub.my-registry.example/images/app"},
		{
			image: "localhost:5000/app", serves: true,
			keys:    []string{"localhost:5000"},
			kubelet: []string{"example-local-user"},
		},
		{image: "localhost/app"},
		{image: "localhost:5001/app"},
		{
			image: "registry.example:8443/team/app", serves: true,
			keys:    []string{"registry.example:8443/team"},
			kubelet: []string{"example-team-user"},
		},
		{image: "registry.example/team/app"},
		{image: "quay.io/org/app"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			img := image(tt.image)
			if got := p.Serves(img); got != tt.serves {
				t.Fatalf("Serves = %v, want %v", got, tt.serves)
			}
			res, err := p.Credentials(context.Background(), providers.Request{Image: img})
			if err != nil {
				t.Fatal(err)
			}
			if res.CacheKeyType != providers.RegistryPluginCacheKeyType || res.CacheDuration != DefaultCacheDuration {
				t.Errorf("cacheKeyType %q, cacheDuration %s; want Registry, %s", res.CacheKeyType, res.CacheDuration, DefaultCacheDuration)
			}
			if got := sortedKeys(res.Auth); strings.Join(got, " ") != strings.Join(tt.keys, " ") {
				t.Errorf("answer keys = %q, want %q", got, tt.keys)
			}
			// What the kubelet does with the answer: normalize, then look up.
			var keys []string
			byKey := map[string]string{}
			for k, a := range res.Auth {
				n, err := match.NormalizeKey(k)
				if err != nil {
					t.Fatalf("answer key %q: %v", k, err)
				}
				keys = append(keys, n)
				byKey[n] = a.Username
			}
			var users []string
			for _, k := range match.Lookup(keys, tt.image) {
				users = append(users, byKey[k])
			}
			if strings.Join(users, " ") != strings.Join(tt.kubelet, " ") {
				t.Errorf("kubelet would try %q, want %q", users, tt.kubelet)
			}
		})
	}
}

func TestExampleLegacy(t *testing.T) {
	p := newProvider(t, Config{Files: []string{"../examples/dockercfg/.dockercfg"}})
	found, err := p.Lookup(context.Background(), image("docker.io/library/busybox"))
	if err != nil {
		t.Fatal(err)
	}
	if creds := found.Credentials; len(creds) != 1 || creds[0].Key != "index.docker.io" || creds[0].FileKey != "https://index.docker.io/v1/" ||
		creds[0].Auth.Username != "example-legacy-hub-user" || creds[0].File != "../examples/dockercfg/.dockercfg" {
		t.Fatalf("Lookup = %+v", found)
	}
	found, err = p.Lookup(context.Background(), image("legacy-registry.example/app"))
	if err != nil || len(found.Credentials) != 1 || found.Credentials[0].Auth.Username != "example-legacy-user" || len(found.Problems) != 0 {
		t.Fatalf("Lookup = %+v, %v", found, err)
	}
}

func TestCacheDuration(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "config.json"), `{"auths":{"reg.example":{"username":"u","password":"p"}}}`)
	tests := []struct {
		cfg  *duration.Duration
		want time.Duration
	}{
		{nil, time.Minute},
		{duration.Ptr(0), 0},
		{duration.Ptr(30 * time.Second), 30 * time.Second},
	}
	for _, tt := range tests {
		p := newProvider(t, Config{Files: []string{path}, CacheDuration: tt.cfg})
		res, err := p.Credentials(context.Background(), providers.Request{Image: image("reg.example/app")})
		if err != nil {
			t.Fatal(err)
		}
		if res.CacheDuration != tt.want {
			t.Errorf("CacheDuration(%v) = %s, want %s", tt.cfg, res.CacheDuration, tt.want)
		}
	}
	if _, err := New(Config{CacheDuration: duration.Ptr(-time.Second)}); err == nil {
		t.Error("New accepted a negative cacheDuration")
	}
}

func TestConfigDecoding(t *testing.T) {
	var cfg Config
	data := "files: [/a/config.json, /b/.dockercfg]\ncacheDuration: 1m\nhelperTimeout: 5s\nkubeletRootDir: /srv/kubelet\n"
	if err := yaml.UnmarshalStrict([]byte(data), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Files) != 2 || cfg.CacheDuration.Duration != time.Minute || cfg.HelperTimeout.Duration != 5*time.Second || cfg.KubeletRootDir != "/srv/kubelet" {
		t.Fatalf("decoded %+v", cfg)
	}
}

func TestAddFlags(t *testing.T) {
	cfg := Config{Files: []string{"/from/config/file.json"}}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.AddFlags(fs)
	err := fs.Parse([]string{"--dockercfg", "/a/config.json", "--dockercfg=/b/.dockercfg", "--dockercfg-cache-duration", "2m", "--dockercfg-helper-timeout", "3s"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Files, ",") != "/a/config.json,/b/.dockercfg" {
		t.Errorf("Files = %q: the flags should replace the config file's list", cfg.Files)
	}
	if cfg.CacheDuration == nil || cfg.CacheDuration.Duration != 2*time.Minute || cfg.HelperTimeout.Duration != 3*time.Second {
		t.Errorf("durations = %v, %v", cfg.CacheDuration, cfg.HelperTimeout)
	}
	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	cfg.AddFlags(fs)
	if err := fs.Parse([]string{"--dockercfg-cache-duration", "soon"}); err == nil {
		t.Error("a bad duration was accepted")
	}
}

// TestDefaultSearch checks the kubelet's search order: config.json in the root dir,
// cwd, $HOME/.docker, /.docker, then .dockercfg in root dir, cwd, $HOME, /; the
// first file that parses wins, missing ones are skipped silently, ones that do not
// parse are skipped and reported. A file with an entry that cannot be decoded still
// parses (unlike in the kubelet, which then skips the whole file): see
// TestBrokenPartsAreScoped.
func TestDefaultSearch(t *testing.T) {
	entry := func(user string) string {
		return `{"reg.example":{"username":"` + user + `","password":"p"}}`
	}
	configJSON := func(user string) string { return `{"auths":` + entry(user) + `}` }
	tests := []struct {
		name    string
		files   map[string]string // relative to a temp dir holding root/, cwd/, home/
		want    string            // username served for reg.example, "" for none
		problem string            // the file reported as skipped, if any
		err     string            // the error, if any
	}{
		{name: "nothing anywhere"},
		{name: "root config.json first", files: map[string]string{"root/config.json": configJSON("root"), "cwd/config.json": configJSON("cwd"), "home/.docker/config.json": configJSON("home")}, want: "root"},
		{name: "cwd before home", files: map[string]string{"cwd/config.json": configJSON("cwd"), "home/.docker/config.json": configJSON("home")}, want: "cwd"},
		{name: "home/.docker/config.json", files: map[string]string{"home/.docker/config.json": configJSON("home")}, want: "home"},
		{name: "any config.json before any .dockercfg", files: map[string]string{"root/.dockercfg": entry("legacy-root"), "home/.docker/config.json": configJSON("home")}, want: "home"},
		{name: ".dockercfg in home, not home/.docker", files: map[string]string{"home/.docker/.dockercfg": entry("wrong"), "home/.dockercfg": entry("legacy-home")}, want: "legacy-home"},
		{name: "unparseable file skipped and reported", files: map[string]string{"root/config.json": `{"auths":{"reg.example":`, "cwd/config.json": configJSON("cwd")}, want: "cwd", problem: "root/config.json"},
		{name: "unreadable file skipped and reported", files: map[string]string{"root/config.json/x": "", "home/.docker/config.json": configJSON("home")}, want: "home", problem: "root/config.json"},
		{name: "a parent that is a file is an absent path", files: map[string]string{"home/.docker": "not a dir", "home/.dockercfg": entry("legacy-home")}, want: "legacy-home"},
		{name: "a file with an undecodable entry is used", files: map[string]string{"root/config.json": `{"auths":{"reg.example":{"auth":"!!"}}}`, "cwd/config.json": configJSON("cwd")}, err: "root/config.json"},
		{name: "a found file without the registry ends the search", files: map[string]string{"root/config.json": `{"auths":{"other.example":{}}}`, "cwd/config.json": configJSON("cwd")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, data := range tt.files {
				writeFile(t, filepath.Join(dir, rel), data)
			}
			search := DefaultSearchPaths(filepath.Join(dir, "root"), filepath.Join(dir, "cwd"), filepath.Join(dir, "home"))
			// Keep the real /.docker and / out of the test.
			var local []string
			for _, s := range search {
				if strings.HasPrefix(s, dir) {
					local = append(local, s)
				}
			}
			if len(local) != 6 {
				t.Fatalf("search list %q", search)
			}
			p := newProvider(t, Config{}, WithSearchPaths(local...))
			img := image("reg.example/app")
			if got, want := p.Serves(img), tt.want != "" || tt.problem != "" || tt.err != ""; got != want {
				t.Errorf("Serves = %v, want %v", got, want)
			}
			res, err := p.Credentials(context.Background(), providers.Request{Image: img})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), quote.String(filepath.Join(dir, tt.err))) {
					t.Fatalf("error %v, want one naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Auth["reg.example"].Username; got != tt.want {
				t.Errorf("username = %q, want %q", got, tt.want)
			}
			if tt.problem == "" && len(res.Problems) > 0 {
				t.Errorf("problems %q, want none (an absent default path is normal)", res.Problems)
			}
			if tt.problem != "" && (len(res.Problems) != 1 || !strings.Contains(res.Problems[0], quote.String(filepath.Join(dir, tt.problem)))) {
				t.Errorf("problems %q, want one naming %s", res.Problems, tt.problem)
			}
		})
	}
}

// The kubelet's search, as it makes it on Linux and on Windows (pkg/credentialprovider:
// the --root-dir, the working directory, os.UserHomeDir(), "/", each made absolute).
func TestDefaultSearchPaths(t *testing.T) {
	tests := []struct {
		goos            string
		root, cwd, home string
		want            []string
	}{
		{"linux", "/var/lib/kubelet", "/run/cwd", "/root", []string{
			"/var/lib/kubelet/config.json", "/run/cwd/config.json", "/root/.docker/config.json", "/.docker/config.json",
			"/var/lib/kubelet/.dockercfg", "/run/cwd/.dockercfg", "/root/.dockercfg", "/.dockercfg",
		}},
		{"windows", `C:\var\lib\kubelet`, `D:\k`, `C:\Windows\system32\config\systemprofile`, []string{
			`C:\var\lib\kubelet\config.json`, `D:\k\config.json`, `C:\Windows\system32\config\systemprofile\.docker\config.json`, `D:\.docker\config.json`,
			`C:\var\lib\kubelet\.dockercfg`, `D:\k\.dockercfg`, `C:\Windows\system32\config\systemprofile\.dockercfg`, `D:\.dockercfg`,
		}},
		// The kubelet's default --root-dir is on the working directory's drive too.
		{"windows", DefaultKubeletRootDir, `E:\k`, `C:\Users\me`, []string{
			`E:\var\lib\kubelet\config.json`, `E:\k\config.json`, `C:\Users\me\.docker\config.json`, `E:\.docker\config.json`,
			`E:\var\lib\kubelet\.dockercfg`, `E:\k\.dockercfg`, `C:\Users\me\.dockercfg`, `E:\.dockercfg`,
		}},
	}
	ran := false
	for _, tt := range tests {
		if tt.goos != runtime.GOOS && !(tt.goos == "linux" && runtime.GOOS != "windows") {
			continue
		}
		ran = true
		got := DefaultSearchPaths(tt.root, tt.cwd, tt.home)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("DefaultSearchPaths(%q, %q, %q) = %q, want %q", tt.root, tt.cwd, tt.home, got, tt.want)
		}
	}
	if !ran {
		t.Fatalf("no case for %s", runtime.GOOS)
	}
}

// TestSameKeyTwice: two different credentials for one normalized key both reach the
// kubelet (under spellings it normalizes alike); identical ones are sent once.
func TestSameKeyTwice(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.json"), `{"auths":{"reg.example":{"username":"a","password":"1"},"https://index.docker.io/v1/":{"username":"hub","password":"1"},"index.docker.io":{"username":"hub2","password":"2"}}}`)
	b := writeFile(t, filepath.Join(dir, "b.json"), `{"auths":{"https://reg.example/v2/":{"username":"b","password":"2"},"reg.example/":{"username":"a","password":"1"}}}`)
	c := writeFile(t, filepath.Join(dir, "c.json"), `{"auths":{"reg.example/v2/v2/team":{"username":"c","password":"3"},"reg.example/v2/team":{"username":"d","password":"4"}}}`)
	p := newProvider(t, Config{Files: []string{a, b, c}})
	for _, tc := range []struct {
		image string
		want  map[string][]string // normalized key → usernames
	}{
		{"reg.example/team/app", map[string][]string{"reg.example": {"a", "b"}, "reg.example/v2/team": {"c"}, "reg.example/team": {"d"}}},
		{"docker.io/library/nginx", map[string][]string{"index.docker.io": {"hub", "hub2"}}},
	} {
		res, err := p.Credentials(context.Background(), providers.Request{Image: image(tc.image)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for k, v := range res.Auth {
			n, err := match.NormalizeKey(k)
			if err != nil {
				t.Fatalf("key %q: %v", k, err)
			}
			got[n] = append(got[n], v.Username)
		}
		for n := range got {
			sort.Strings(got[n])
		}
		for n, users := range tc.want {
			if strings.Join(got[n], ",") != strings.Join(users, ",") {
				t.Errorf("%s: %s → %q, want %q (answer %v)", tc.image, n, got[n], users, sortedKeys(res.Auth))
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: normalized keys %v, want %v", tc.image, got, tc.want)
		}
	}
}

func TestIgnoresUnparseableKey(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "config.json"), `{"auths":{"reg.example:port":{"username":"x"},"reg.example":{"username":"u"}}}`)
	p := newProvider(t, Config{Files: []string{path}})
	res, err := p.Credentials(context.Background(), providers.Request{Image: image("reg.example/app")})
	if err != nil || len(res.Auth) != 1 || res.Auth["reg.example"].Username != "u" {
		t.Fatalf("answer %v, %v", res, err)
	}
}
