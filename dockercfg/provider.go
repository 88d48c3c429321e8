// Package dockercfg is the static backend: credentials from docker config files
// (config.json and the legacy .dockercfg) and the credential helpers they name,
// matched against images with the kubelet's own rules (wildcard hosts, path prefixes).
//
// Files are read on every invocation, so an edit takes effect on the next pull the
// kubelet does not answer from its own cache; nothing is cached on disk. The answer
// holds every entry whose host part matches the image's registry, whatever its path:
// the kubelet matches paths itself, so the answer is keyed Registry and stays right
// for every repository on that registry. An "index.docker.io" entry (however
// spelled) is offered for docker.io images only.
//
// Credential helpers (which the kubelet itself ignores): a credHelpers entry applies
// to the registry it names (docker's exact hostnames; the kubelet's wildcard forms
// work too), credsStore to every other registry, so a file with a credsStore serves
// every image. The helper is asked for the image's registry host as docker would
// ("https://index.docker.io/v1/" for Docker Hub) and its answer is keyed by that
// host. Empty entries, which docker writes for logins kept by a helper, are dropped
// when a helper applies; "credentials not found" from a helper is no answer, not an
// error.
package dockercfg

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/providers"
)

// Name is the backend's name in errors, logs and the config file.
const Name = "static"

const (
	// DefaultCacheDuration is how long the kubelet may keep an answer. It is short
	// because the files can change under it (a `docker login`, a rotated secret) and
	// reading them again costs a millisecond, not a cloud call.
	DefaultCacheDuration = time.Minute
	// DefaultHelperTimeout bounds one credential helper run.
	DefaultHelperTimeout = 10 * time.Second
	// DefaultKubeletRootDir is the kubelet's --root-dir default, the first place the
	// kubelet looks for node credentials.
	DefaultKubeletRootDir = "/var/lib/kubelet"
)

// maxFileSize bounds a docker config file.
const maxFileSize = 10 << 20

// Config is the "static:" section of the plugin's config file.
type Config struct {
	// Enabled turns the backend off when false; nil means on. New ignores it: the
	// caller does not build a disabled backend.
	Enabled *bool `json:"enabled,omitempty"`
	// Files are the docker config files to read, in order (config.json or legacy
	// .dockercfg, told apart by content). Empty means the kubelet's own search for
	// node credentials (see DefaultSearchPaths): the first file found is used.
	// A listed file that is missing or broken is an error.
	Files []string `json:"files,omitempty"`
	// CacheDuration is the cacheDuration of answers; nil means DefaultCacheDuration,
	// "0s" that the kubelet keeps nothing.
	CacheDuration *metav1.Duration `json:"cacheDuration,omitempty"`
	// HelperTimeout bounds each credential helper run; zero means DefaultHelperTimeout.
	HelperTimeout metav1.Duration `json:"helperTimeout,omitempty"`
	// KubeletRootDir is the kubelet's --root-dir, searched first when Files is empty;
	// empty means DefaultKubeletRootDir.
	KubeletRootDir string `json:"kubeletRootDir,omitempty"`
}

// AddFlags registers --dockercfg (repeatable; the first use replaces the config
// file's list), --dockercfg-cache-duration and --dockercfg-helper-timeout.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	replaced := false
	fs.Func("dockercfg", "docker config file (config.json or .dockercfg) for the static backend; repeat for more (default: the kubelet's search: <kubelet root dir>, cwd, $HOME/.docker, /.docker)", func(s string) error {
		if s == "" {
			return errors.New("empty path")
		}
		if !replaced {
			c.Files, replaced = nil, true
		}
		c.Files = append(c.Files, s)
		return nil
	})
	fs.Func("dockercfg-cache-duration", fmt.Sprintf("how long the kubelet may keep a static answer (default %s; 0s: not at all)", DefaultCacheDuration), func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		c.CacheDuration = &metav1.Duration{Duration: d}
		return nil
	})
	fs.Func("dockercfg-helper-timeout", fmt.Sprintf("time limit for one docker credential helper run (default %s)", DefaultHelperTimeout), func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d <= 0 {
			return errors.New("must be positive")
		}
		c.HelperTimeout = metav1.Duration{Duration: d}
		return nil
	})
}

// Provider is the static backend. It implements providers.Provider.
type Provider struct {
	files         []string // configured files; all must load
	search        []string // candidate files when none are configured; the first that loads is used
	cacheDuration time.Duration
	helperTimeout time.Duration
}

// Option changes how New builds a Provider.
type Option func(*Provider)

// WithSearchPaths replaces the candidate files searched when Config.Files is empty
// (tests use it to keep away from the real $HOME and /var/lib/kubelet).
func WithSearchPaths(paths ...string) Option {
	return func(p *Provider) { p.search = append([]string(nil), paths...) }
}

// New builds the static backend from cfg.
func New(cfg Config, opts ...Option) (*Provider, error) {
	p := &Provider{
		files:         append([]string(nil), cfg.Files...),
		cacheDuration: DefaultCacheDuration,
		helperTimeout: DefaultHelperTimeout,
	}
	if cfg.CacheDuration != nil {
		if cfg.CacheDuration.Duration < 0 {
			return nil, fmt.Errorf("%s: cacheDuration %s is negative", Name, cfg.CacheDuration.Duration)
		}
		p.cacheDuration = cfg.CacheDuration.Duration
	}
	if cfg.HelperTimeout.Duration < 0 {
		return nil, fmt.Errorf("%s: helperTimeout %s is negative", Name, cfg.HelperTimeout.Duration)
	}
	if cfg.HelperTimeout.Duration > 0 {
		p.helperTimeout = cfg.HelperTimeout.Duration
	}
	for _, f := range p.files {
		if f == "" {
			return nil, fmt.Errorf("%s: empty file name in files", Name)
		}
	}
	root := cfg.KubeletRootDir
	if root == "" {
		root = DefaultKubeletRootDir
	}
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	p.search = DefaultSearchPaths(root, cwd, home)
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// DefaultSearchPaths is the kubelet's own search for node credentials (its
// ReadDockerConfigFile): config.json in rootDir, cwd, home/.docker and /.docker, then
// .dockercfg in rootDir, cwd, home and /. The kubelet takes the first file that reads
// and parses, skipping missing and broken ones; so does the static backend.
func DefaultSearchPaths(rootDir, cwd, home string) []string {
	var out []string
	for _, dir := range []string{rootDir, cwd, filepath.Join(home, ".docker"), "/.docker"} {
		out = append(out, filepath.Join(dir, "config.json"))
	}
	for _, dir := range []string{rootDir, cwd, home, "/"} {
		out = append(out, filepath.Join(dir, ".dockercfg"))
	}
	return out
}

// Name returns "static".
func (p *Provider) Name() string { return Name }

// Files returns the files the provider reads now: the configured ones, or the first
// of the default search that loads (none when none does). It reports the first
// configured file that cannot be loaded.
func (p *Provider) Files() ([]*File, error) {
	files, err := p.load()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	return files, nil
}

func (p *Provider) load() ([]*File, error) {
	if len(p.files) > 0 {
		out := make([]*File, 0, len(p.files))
		for _, path := range p.files {
			f, err := loadFile(path)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, nil
	}
	for _, path := range p.search {
		f, err := loadFile(path)
		if err == nil {
			klog.V(4).InfoS("Using docker config file", "backend", Name, "file", path)
			return []*File{f}, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			// The kubelet skips a broken file too; say so, without secrets.
			klog.Warningf("%s: skipping %v", Name, err)
		}
	}
	return nil, nil
}

func loadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read docker config file: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read docker config file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("docker config file %s is larger than %d bytes", path, maxFileSize)
	}
	return Parse(path, data)
}

// Serves reports whether some file has an entry or a credential helper for the image's
// registry host (a credsStore serves every host). When a configured file cannot be
// loaded it reports true, so that Credentials reports the error instead of the file
// being silently ignored.
func (p *Provider) Serves(img providers.Image) bool {
	files, err := p.load()
	if err != nil {
		return true
	}
	for _, f := range files {
		if helperFor(f, img.Host) != "" {
			return true
		}
		for _, e := range f.Auths {
			if n, err := match.NormalizeKey(e.Key); err == nil && match.ServesHost(n, img.Host) {
				return true
			}
		}
	}
	return false
}

// Credential is one credential the backend returns, with where it came from.
type Credential struct {
	// Key is the auth key in the answer; the kubelet normalizes it to Normalized.
	Key string
	// Normalized is the kubelet's normalized form of the key (match.NormalizeKey).
	Normalized string
	// File is the docker config file it came from.
	File string
	// FileKey is the entry's key as written in File; for a helper, the server URL.
	FileKey string
	// Helper is the credential helper program that produced it, if any
	// ("docker-credential-gcloud").
	Helper string
	Auth   providers.AuthConfig
}

// Lookup returns every credential for the image's registry host, in order: per file,
// its entries by key, then its helper's answer. The get command uses it to show which
// file and key each auth entry of the answer came from.
func (p *Provider) Lookup(ctx context.Context, img providers.Image) ([]Credential, error) {
	files, err := p.load()
	if err != nil {
		return nil, fmt.Errorf("%s: registry %s: %w", Name, img.Host, err)
	}
	var out []Credential
	used := map[string]providers.AuthConfig{}
	ranHelpers := map[string]bool{}
	add := func(c Credential) {
		key, ok := answerKey(c.FileKey, c.Normalized, c.Auth, used)
		if !ok {
			return
		}
		c.Key = key
		used[key] = c.Auth
		out = append(out, c)
	}
	for _, f := range files {
		helper := helperFor(f, img.Host)
		for _, e := range f.Auths {
			n, err := match.NormalizeKey(e.Key)
			if err != nil {
				klog.Warningf("%s: %s: ignoring entry %q: the kubelet cannot parse its key", Name, f.Path, e.Key)
				continue
			}
			if !match.ServesHost(n, img.Host) {
				continue
			}
			if helper != "" && e.Empty() {
				continue // docker's placeholder for a login kept by the helper
			}
			add(Credential{Normalized: n, File: f.Path, FileKey: e.Key, Auth: providers.AuthConfig{Username: e.Username, Password: e.Password}})
		}
		if helper == "" {
			continue
		}
		server := helperServerURL(img.Host)
		if ranHelpers[helper+"\x00"+server] {
			continue
		}
		ranHelpers[helper+"\x00"+server] = true
		user, secret, err := runHelper(ctx, helper, server, p.helperTimeout)
		if errors.Is(err, errHelperNotFound) {
			klog.V(2).InfoS("Credential helper has no credentials", "backend", Name, "helper", helperPrefix+helper, "server", server)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: registry %s: %s: %w", Name, img.Host, f.Path, err)
		}
		n, err := match.NormalizeKey(img.Host)
		if err != nil {
			return nil, fmt.Errorf("%s: registry host %q is not a valid key", Name, img.Host)
		}
		add(Credential{Normalized: n, File: f.Path, FileKey: server, Helper: helperPrefix + helper, Auth: providers.AuthConfig{Username: user, Password: secret}})
	}
	return out, nil
}

// Credentials answers with every credential for the image's registry host, keyed
// Registry, for CacheDuration.
func (p *Provider) Credentials(ctx context.Context, req providers.Request) (*providers.Result, error) {
	creds, err := p.Lookup(ctx, req.Image)
	if err != nil {
		return nil, err
	}
	auth := make(map[string]providers.AuthConfig, len(creds))
	for _, c := range creds {
		auth[c.Key] = c.Auth
	}
	return &providers.Result{
		Auth:          auth,
		CacheKeyType:  providers.RegistryPluginCacheKeyType,
		CacheDuration: p.cacheDuration,
	}, nil
}

// helperFor returns the credential helper f names for host: the credHelpers entry
// whose registry matches host (an exact one first, then the kubelet's wildcard rules,
// "https://index.docker.io/v1/" for Docker Hub), else credsStore, else "".
func helperFor(f *File, host string) string {
	var regs []string
	for reg := range f.CredHelpers {
		regs = append(regs, reg)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(regs)))
	best := ""
	for _, reg := range regs {
		n, err := match.NormalizeKey(reg)
		if err != nil {
			continue
		}
		if n == host || (host == "docker.io" && n == match.DefaultRegistryKey) {
			return f.CredHelpers[reg]
		}
		if best == "" && match.ServesHost(n, host) {
			best = f.CredHelpers[reg]
		}
	}
	if best != "" {
		return best
	}
	return f.CredsStore
}

// answerKey picks the auth key for a credential whose kubelet-normalized key is
// normalized: normalized itself when the kubelet reads it back unchanged, else another
// spelling that it normalizes the same way (the key as written, or with a scheme or a
// /v1/ or /v2/ prefix). Two different credentials under one normalized key thus both
// reach the kubelet, which tries each, as it would with two node config entries.
// It returns false when the same credentials are already in used under a spelling
// of normalized, or when every spelling is taken.
func answerKey(written, normalized string, auth providers.AuthConfig, used map[string]providers.AuthConfig) (string, bool) {
	for k, a := range used {
		if a == auth {
			if n, err := match.NormalizeKey(k); err == nil && n == normalized {
				return "", false
			}
		}
	}
	host, path, _ := strings.Cut(normalized, "/")
	if path != "" {
		path = "/" + path
	}
	cands := []string{normalized, written}
	for _, scheme := range []string{"", "https://", "http://"} {
		for _, mid := range []string{"", "/v2", "/v1"} {
			cands = append(cands, scheme+host+mid+path)
			if path == "" {
				cands = append(cands, scheme+host+mid+"/")
			}
		}
	}
	for _, c := range cands {
		if _, taken := used[c]; taken {
			continue
		}
		if n, err := match.NormalizeKey(c); err == nil && n == normalized {
			return c, true
		}
	}
	klog.Warningf("%s: too many different credentials for %q; ignoring one", Name, normalized)
	return "", false
}
