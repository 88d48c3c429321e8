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
//
// A broken part of a file affects only the images it would have served (see Lookup):
//   - a file that cannot be read or parsed contributes nothing and is a problem for
//     every image (it might have served any);
//   - an auths entry that cannot be decoded is a problem for the images the kubelet
//     would have tried it for, and an error for an image that has no other usable
//     credential;
//   - a credsStore that is missing or fails contributes nothing and is a problem for
//     every image; a credHelpers helper that is missing or fails is a problem for its
//     registry only, and an error for an image of that registry with no other
//     usable credential.
//
// A problem is reported in providers.Result.Problems, so the answer gets
// cacheDuration 0 and is never replayed: the next pull after the fix sees it.
package dockercfg

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/internal/quote"
	"github.com/imagecred/image-credential-provider/internal/textfile"
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
	// kubelet looks for node credentials. On Windows the kubelet uses the same default,
	// \var\lib\kubelet on the drive of its working directory (C:\var\lib\kubelet).
	DefaultKubeletRootDir = "/var/lib/kubelet"
	// EveryHostLabels is how many host labels EveryHost covers.
	EveryHostLabels = 8
)

// maxFileSize bounds a docker config file.
const maxFileSize = 10 << 20

// Config is the "static:" section of the plugin's config file.
type Config struct {
	// Files are the docker config files to read, in order (config.json or legacy
	// .dockercfg, told apart by content). Empty means the kubelet's own search for
	// node credentials (see DefaultSearchPaths): the first file found that parses is
	// used. A listed file that is missing or cannot be parsed contributes nothing and
	// is reported as a problem with every answer until it is fixed.
	Files []string `json:"files,omitempty"`
	// CacheDuration is the cacheDuration of answers; nil means DefaultCacheDuration,
	// "0s" that the kubelet keeps nothing.
	CacheDuration *duration.Duration `json:"cacheDuration,omitempty"`
	// HelperTimeout bounds each credential helper run; zero means DefaultHelperTimeout.
	HelperTimeout duration.Duration `json:"helperTimeout,omitempty"`
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
		c.CacheDuration = duration.Ptr(d)
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
		c.HelperTimeout = duration.Of(d)
		return nil
	})
}

// Provider is the static backend. It implements providers.Provider, and answers
// which hosts it serves (Serves, MatchImages) without running any helper.
type Provider struct {
	files         []string // configured files; each is read
	search        []string // candidate files when none are configured; the first that parses is used
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

// New builds the static backend from cfg. It reads no file: files are read on each
// use.
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
// and parses, skipping missing and broken ones; so does the static backend. This is
// the one place the list is made.
//
// On Windows it is the same list as the kubelet makes it there: home is %USERPROFILE%
// (what os.UserHomeDir gives, as in the kubelet), and a path rooted without a drive
// (\.docker, \.dockercfg, the default root dir \var\lib\kubelet) is on the drive of
// the working directory, as the kubelet's filepath.Abs puts it: C:\.docker\config.json
// for a kubelet started in C:\k.
func DefaultSearchPaths(rootDir, cwd, home string) []string {
	root := string(filepath.Separator)
	var out []string
	for _, dir := range []string{rootDir, cwd, filepath.Join(home, ".docker"), filepath.Join(root, ".docker")} {
		out = append(out, onDriveOf(cwd, filepath.Join(dir, "config.json")))
	}
	for _, dir := range []string{rootDir, cwd, home, root} {
		out = append(out, onDriveOf(cwd, filepath.Join(dir, ".dockercfg")))
	}
	return out
}

// onDriveOf puts path, when it is rooted without a drive (Windows only), on the drive of
// dir.
func onDriveOf(dir, path string) string {
	if runtime.GOOS == "windows" && filepath.VolumeName(path) == "" && strings.HasPrefix(path, `\`) {
		return filepath.VolumeName(dir) + path
	}
	return path
}

// Name returns "static".
func (p *Provider) Name() string { return Name }

// loaded is what one pass over the files read.
type loaded struct {
	files []*File
	// problems name the files that could not be used, one line each.
	problems []string
	// missing are the files of the default search that do not exist, in order.
	missing []string
}

// log says, at loglevel.Decision, which files were read and which of the default
// search were not there (the files that could not be used are problems, reported
// with the answer).
func (l *loaded) log() {
	if !klog.V(loglevel.Decision).Enabled() {
		return
	}
	for _, path := range l.missing {
		klog.V(loglevel.Decision).InfoS("Docker config file not found", "backend", Name, "file", path)
	}
	for _, f := range l.files {
		klog.V(loglevel.Decision).InfoS("Docker config file read", "backend", Name, "file", f.Path, "entries", len(f.Auths), "credHelpers", len(f.CredHelpers), "credsStore", f.CredsStore)
	}
}

// everyHost reports whether the files may hold credentials for any host: a file
// could not be read, a part that belongs to no registry could not be read, or a
// credsStore serves every registry.
func (l *loaded) everyHost() bool {
	if len(l.problems) > 0 {
		return true
	}
	for _, f := range l.files {
		if f.CredsStore != "" || len(f.Problems) > 0 {
			return true
		}
	}
	return false
}

// Files returns the files the provider reads now: every configured one that can be
// read and parsed, or the first of the default search that can. problems say, one
// line each, which could not be used and why (an absent default search path is not
// a problem).
func (p *Provider) Files() (files []*File, problems []string) {
	l := p.load()
	return l.files, l.problems
}

func (p *Provider) load() *loaded {
	l := &loaded{}
	if len(p.files) > 0 {
		for _, path := range p.files {
			f, err := loadFile(path)
			if err != nil {
				l.problems = append(l.problems, fmt.Sprintf("%s: docker config file %s skipped: %s", Name, quote.String(path), err))
				continue
			}
			l.files = append(l.files, f)
		}
		return l
	}
	for _, path := range p.search {
		f, err := loadFile(path)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			l.missing = append(l.missing, path)
			continue
		}
		if err != nil {
			// The kubelet skips a broken file too, and so do we; unlike it, we say so.
			l.problems = append(l.problems, fmt.Sprintf("%s: docker config file %s skipped: %s", Name, quote.String(path), err))
			continue
		}
		l.files = []*File{f}
		break
	}
	return l
}

// loadFile reads and parses one file. Errors do not name it (the caller does); a
// missing file's error matches fs.ErrNotExist.
func loadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, pathErrorCause(err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, pathErrorCause(err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return parsePartial(path, textfile.StripBOM(data))
}

// pathErrorCause drops the path from an os error ("open /x: permission denied"
// becomes "permission denied"), keeping what errors.Is needs.
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Serves reports whether the static backend has something to say about the image's
// registry host: an auths entry for it, usable or not, or a credHelpers entry; or
// whether it may have credentials for every host (a credsStore, or a file or part of
// one that could not be read, so that the problem is reported with every answer).
// It runs no helper. For every host without a port, Serves is true exactly when one of
// MatchImages matches it (up to EveryHostLabels labels).
func (p *Provider) Serves(img providers.Image) bool {
	l := p.load()
	if l.everyHost() {
		return true
	}
	for _, f := range l.files {
		if helperFor(f, img.Host).applies() {
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

// MatchImages returns kubelet matchImages patterns for the hosts Serves is true for,
// sorted: the host part (with its port) of every auths entry and credHelpers entry,
// normalized the kubelet's way ("https://index.docker.io/v1/" gives
// "index.docker.io", plus "docker.io", the host the kubelet names Docker Hub images
// by). When the files may hold credentials for any host (a credsStore, or something
// that could not be read), it returns EveryHost() instead of the host names it
// covers, plus the hosts EveryHost does not cover (with a port, or more labels). It
// runs no helper.
func (p *Provider) MatchImages() []string {
	l := p.load()
	every := l.everyHost()
	set := map[string]bool{}
	add := func(key string) {
		n, err := match.NormalizeKey(key)
		if err != nil {
			return // the kubelet ignores such a key
		}
		host, _, _ := strings.Cut(n, "/")
		if host == "" || !match.MatchHost(n, host) {
			return // a key that matches no image, not even of its own host (the kubelet cannot parse it back)
		}
		if every && !strings.Contains(host, ":") && strings.Count(host, ".") < EveryHostLabels {
			return
		}
		set[host] = true
		if host == match.DefaultRegistryKey && !every {
			set["docker.io"] = true
		}
	}
	for _, f := range l.files {
		for _, e := range f.Auths {
			add(e.Key)
		}
		for reg := range f.CredHelpers {
			add(reg)
		}
		for reg := range f.BadCredHelpers {
			add(reg)
		}
	}
	out := make([]string, 0, len(set)+EveryHostLabels)
	if every {
		out = append(out, EveryHost()...)
	}
	for h := range set {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// EveryHost is the kubelet's nearest to "every registry" as matchImages patterns:
// "*", "*.*", ... up to EveryHostLabels labels. A kubelet pattern's "*" is one host
// label and a port must match exactly, so these cover every host name of up to
// EveryHostLabels labels without a port, and no host with a port.
func EveryHost() []string {
	out := make([]string, 0, EveryHostLabels)
	p := "*"
	for i := 0; i < EveryHostLabels; i++ {
		out = append(out, p)
		p += ".*"
	}
	return out
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

// Found is what the static backend has for one image.
type Found struct {
	// Credentials for the image's registry host, in order: per file, its entries by
	// key, then its helper's answer.
	Credentials []Credential
	// Problems are what could not be used and may matter to this image, one line
	// each, never a secret: files that could not be read or parsed, parts of them
	// that belong to no registry, a failing credsStore, and entries or a
	// credHelpers helper for this image that could not be used while another
	// credential for it could.
	Problems []string
	// PerImage is set when an entry for the image's registry could not be decoded
	// but the kubelet would not try it for this image (its path differs): the answer
	// then holds for this image only, not for the registry's other repositories.
	PerImage bool
}

// broken is a credential for the image's registry that cannot be used.
type broken struct {
	normalized string // the entry's normalized key; "" for a credHelpers helper (the whole host)
	cause      string // names the file and the entry or helper, never a secret
}

// Lookup returns every credential for the image's registry host, and what it could
// not use. An auths entry that cannot be decoded, or a credHelpers helper that is
// missing or fails, applies to the image when the kubelet would have tried it for the
// image (internal/match: the key matches the image's host, port and path, or it is
// the Docker Hub fallback) or, for a helper, when it names the image's registry.
// When such a broken credential applies and no usable credential of the answer
// would be tried for the image, Lookup fails with one line naming the registry,
// the file and the cause; when a usable one would be tried, the broken one is a
// problem. Each credential says which file, entry or helper it came from.
func (p *Provider) Lookup(ctx context.Context, img providers.Image) (*Found, error) {
	l := p.load()
	l.log()
	found := &Found{Problems: l.problems}
	var bad []broken
	used := map[string]providers.AuthConfig{}
	ranHelpers := map[string]bool{}
	add := func(c Credential) {
		key, ok := answerKey(c.FileKey, c.Normalized, c.Auth, used)
		if !ok {
			return
		}
		c.Key = key
		used[key] = c.Auth
		found.Credentials = append(found.Credentials, c)
	}
	for _, f := range l.files {
		for _, err := range f.Problems {
			found.Problems = append(found.Problems, fmt.Sprintf("%s: docker config file %s: %s; ignored", Name, quote.String(f.Path), err))
		}
		h := helperFor(f, img.Host)
		for _, e := range f.Auths {
			n, err := match.NormalizeKey(e.Key)
			if err != nil {
				klog.Warningf("%s: %s: ignoring entry %s: the kubelet cannot parse its key", Name, quote.String(f.Path), quoteKey(e.Key))
				continue
			}
			if !match.ServesHost(n, img.Host) {
				continue
			}
			if e.Err != nil {
				bad = append(bad, broken{normalized: n, cause: fmt.Sprintf("docker config file %s, entry %s: %s", quote.String(f.Path), quoteKey(e.Key), e.Err)})
				continue
			}
			if h.applies() && e.Empty() {
				continue // docker's placeholder for a login kept by the helper
			}
			add(Credential{Normalized: n, File: f.Path, FileKey: e.Key, Auth: providers.AuthConfig{Username: e.Username, Password: e.Password}})
		}
		if !h.applies() {
			continue
		}
		if h.err != nil {
			bad = append(bad, broken{cause: fmt.Sprintf("docker config file %s, credHelpers entry %s: %s", quote.String(f.Path), quoteKey(h.registry), h.err)})
			continue
		}
		server := helperServerURL(img.Host)
		if ranHelpers[h.name+"\x00"+server] {
			continue
		}
		ranHelpers[h.name+"\x00"+server] = true
		user, secret, err := runHelper(ctx, h.name, server, p.helperTimeout)
		if errors.Is(err, errHelperNotFound) {
			klog.V(loglevel.Decision).InfoS("Credential helper has no credentials", "backend", Name, "helper", helperPrefix+h.name, "server", server)
			continue
		}
		if err == nil {
			klog.V(loglevel.Decision).InfoS("Credential helper answered", "backend", Name, "helper", helperPrefix+h.name, "server", server)
		}
		if err != nil && h.store {
			found.Problems = append(found.Problems, fmt.Sprintf("%s: docker config file %s, credsStore: %s; no credentials from it", Name, quote.String(f.Path), err))
			continue
		}
		if err != nil {
			bad = append(bad, broken{cause: fmt.Sprintf("docker config file %s, credHelpers entry %s: %s", quote.String(f.Path), quoteKey(h.registry), err)})
			continue
		}
		n, err := match.NormalizeKey(img.Host)
		if err != nil {
			return nil, fmt.Errorf("%s: registry host %s is not a valid key", Name, quote.String(img.Host))
		}
		add(Credential{Normalized: n, File: f.Path, FileKey: server, Helper: helperPrefix + h.name, Auth: providers.AuthConfig{Username: user, Password: secret}})
	}
	if len(bad) == 0 {
		return found, nil
	}

	// Which credentials would the kubelet try for this image: of the usable ones
	// (what it gets from the answer), and had the broken entries been usable.
	repo := img.Repository()
	var usable, all []string
	for _, c := range found.Credentials {
		usable = append(usable, c.Normalized)
	}
	all = append(all, usable...)
	for _, b := range bad {
		if b.normalized != "" {
			all = append(all, b.normalized)
		}
	}
	tried := map[string]bool{}
	for _, k := range match.Lookup(all, repo) {
		tried[k] = true
	}
	var applies []string
	for _, b := range bad {
		if b.normalized == "" || tried[b.normalized] {
			applies = append(applies, b.cause)
		} else {
			found.PerImage = true
		}
	}
	if len(applies) == 0 {
		return found, nil
	}
	host := quote.String(img.Host)
	if len(match.Lookup(usable, repo)) == 0 {
		return nil, fmt.Errorf("%s: registry %s: no usable credential for this image: %s", Name, host, strings.Join(applies, "; "))
	}
	for _, a := range applies {
		found.Problems = append(found.Problems, fmt.Sprintf("%s: registry %s: %s; answering with the other credentials", Name, host, a))
	}
	return found, nil
}

// Credentials answers with every usable credential for the image's registry host,
// keyed Registry (Image when an unusable entry on the registry does not apply to the
// image), for CacheDuration, with the problems Lookup found.
func (p *Provider) Credentials(ctx context.Context, req providers.Request) (*providers.Result, error) {
	found, err := p.Lookup(ctx, req.Image)
	if err != nil {
		return nil, err
	}
	auth := make(map[string]providers.AuthConfig, len(found.Credentials))
	for _, c := range found.Credentials {
		auth[c.Key] = c.Auth
	}
	kt := providers.RegistryPluginCacheKeyType
	if found.PerImage {
		kt = providers.ImagePluginCacheKeyType
	}
	return &providers.Result{
		Auth:          auth,
		CacheKeyType:  kt,
		CacheDuration: p.cacheDuration,
		Problems:      found.Problems,
	}, nil
}

// helperRef is the credential helper a file names for one host.
type helperRef struct {
	name     string // run as docker-credential-<name>; "" when none or unusable
	registry string // the credHelpers key as written; "" for credsStore
	err      error  // the credHelpers entry for the host is not a helper name
	store    bool   // from credsStore
}

// applies reports whether a helper claims the host (even one that cannot be run).
func (h helperRef) applies() bool { return h.name != "" || h.err != nil }

// helperFor returns the credential helper f names for host: the credHelpers entry
// whose registry matches host (an exact one first, then the kubelet's wildcard rules,
// "https://index.docker.io/v1/" for Docker Hub), else credsStore, else none.
func helperFor(f *File, host string) helperRef {
	regs := make([]string, 0, len(f.CredHelpers)+len(f.BadCredHelpers))
	for reg := range f.CredHelpers {
		regs = append(regs, reg)
	}
	for reg := range f.BadCredHelpers {
		regs = append(regs, reg)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(regs)))
	ref := func(reg string) helperRef {
		return helperRef{name: f.CredHelpers[reg], registry: reg, err: f.BadCredHelpers[reg]}
	}
	best := ""
	for _, reg := range regs {
		n, err := match.NormalizeKey(reg)
		if err != nil {
			continue
		}
		if n == host || (host == "docker.io" && n == match.DefaultRegistryKey) {
			return ref(reg)
		}
		if best == "" && match.ServesHost(n, host) {
			best = reg
		}
	}
	if best != "" {
		return ref(best)
	}
	if f.CredsStore != "" {
		return helperRef{name: f.CredsStore, store: true}
	}
	return helperRef{}
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
	klog.Warningf("%s: too many different credentials for %s; ignoring one", Name, quote.String(normalized))
	return "", false
}
