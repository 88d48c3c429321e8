// Package backends says, from the plugin's configuration alone, which backends are
// enabled and which image hosts each serves: the light view of every backend
// (providers.Hosts: no SDK, no network), as the plugin routes a request with it, and
// the kubelet matchImages patterns that reach those hosts, as `install` writes them and
// `check` lints them. One package makes all three, so they cannot disagree.
package backends

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/azureconfig"
	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/providers"
)

// names lists every backend in the default order of precedence.
var names = [...]string{dockercfg.Name, ecr.Name, gcr.Name, acr.Name}

// Names lists every backend in the default order of precedence.
func Names() []string { return names[:] }

// Enabled returns the backends cfg enables, in its order of precedence, or every
// backend when it names none. A name that is not a backend, or one listed twice, is an
// error.
func Enabled(cfg *config.Config) ([]string, error) {
	if len(cfg.Backends) == 0 {
		return Names(), nil
	}
	seen := map[string]bool{}
	for _, name := range cfg.Backends {
		known := false
		for _, b := range names {
			known = known || b == name
		}
		if !known {
			return nil, fmt.Errorf("unknown backend %q: want some of %s", name, strings.Join(names[:], ","))
		}
		if seen[name] {
			return nil, fmt.Errorf("backend %q listed twice", name)
		}
		seen[name] = true
	}
	return cfg.Backends, nil
}

// Node is the machine whose files the backends read, as this process sees it. The zero
// Node is this machine, as the plugin itself sees it.
//
// An installer running in a container that mounts the host at /host reads the host's
// files under Root "/host", and the plugin's environment (the kubelet's, plus the
// provider's env) through LookupEnv; the paths in the configuration stay the host's.
type Node struct {
	// Root prefixes every path read ("" for none).
	Root string
	// LookupEnv reads the plugin's environment; nil means this process's.
	LookupEnv func(string) (string, bool)
	// Home and Cwd are the plugin's home and working directory (the kubelet's), for
	// the static backend's default search and relative paths; empty means this
	// process's.
	Home, Cwd string
	// Files, when set, stand in for files at the given paths (before Root is applied)
	// that are about to be installed: the backends read the new content from the path
	// each maps to, as it is in this process's file system.
	Files map[string]string
}

func (n Node) zero() bool {
	return n.Root == "" && n.LookupEnv == nil && n.Home == "" && n.Cwd == "" && len(n.Files) == 0
}

func (n Node) lookupEnv(name string) (string, bool) {
	if n.LookupEnv == nil {
		return os.LookupEnv(name)
	}
	return n.LookupEnv(name)
}

func (n Node) cwd() string {
	if n.Cwd != "" {
		return n.Cwd
	}
	cwd, _ := os.Getwd()
	return cwd
}

// HomeVar is the environment variable that holds the plugin's home directory on this
// platform, as os.UserHomeDir reads it: USERPROFILE on Windows, else HOME.
func HomeVar() string {
	if runtime.GOOS == "windows" {
		return "USERPROFILE"
	}
	return "HOME"
}

func (n Node) home() string {
	if n.Home != "" {
		return n.Home
	}
	home, _ := os.UserHomeDir()
	return home
}

// Path is where this process reads the file the plugin reads at path. A relative path
// is taken from the plugin's working directory; on Windows a path rooted without a
// drive ("\etc\x") is on the drive of that directory, as Windows opens it.
func (n Node) Path(path string) string {
	if path == "" {
		return ""
	}
	path = n.abs(path)
	for dest, src := range n.Files {
		if n.abs(dest) == path {
			return src
		}
	}
	return Rooted(n.Root, path)
}

// abs is path on the node, absolute and clean.
func (n Node) abs(path string) string {
	switch {
	case filepath.IsAbs(path):
		return filepath.Clean(path)
	case filepath.VolumeName(path) == "" && (strings.HasPrefix(path, "/") || strings.HasPrefix(path, string(filepath.Separator))):
		return filepath.Join(filepath.VolumeName(n.cwd()), path)
	}
	return filepath.Join(n.cwd(), path)
}

// Rooted is where this process reaches the node's file at path (absolute on the node)
// when it sees the node's root directory at root: path itself when root is "", else
// path under root. On Windows root stands for the root of the node's drive, and the
// drive of path ("C:") is left out under it: with root D:\host, C:\etc\x is
// D:\host\etc\x.
func Rooted(root, path string) string {
	if root == "" {
		return path
	}
	return filepath.Join(root, path[len(filepath.VolumeName(path)):])
}

// Hosts builds the light view of backend name under cfg, reading the node's files
// (docker config files, azure.json) as the plugin would.
func Hosts(name string, cfg *config.Config, node Node) (providers.Hosts, error) {
	switch name {
	case dockercfg.Name:
		if node.zero() {
			return dockercfg.New(cfg.Static)
		}
		return staticOn(cfg.Static, node)
	case ecr.Name:
		return ecr.NewHosts(cfg.ECR)
	case gcr.Name:
		return gcr.NewHosts(cfg.GCR)
	case acr.Name:
		if node.zero() {
			return acr.NewHosts(cfg.ACR)
		}
		return acrOn(cfg.ACR, node)
	}
	return nil, fmt.Errorf("unknown backend %q", name)
}

// staticOn is the static backend reading node's files.
func staticOn(c dockercfg.Config, node Node) (*dockercfg.Provider, error) {
	c.Files = append([]string(nil), c.Files...)
	for i, f := range c.Files {
		c.Files[i] = node.Path(f)
	}
	root := c.KubeletRootDir
	if root == "" {
		root = dockercfg.DefaultKubeletRootDir
	}
	search := dockercfg.DefaultSearchPaths(root, node.cwd(), node.home())
	for i, f := range search {
		search[i] = node.Path(f)
	}
	return dockercfg.New(c, dockercfg.WithSearchPaths(search...))
}

// acrOn is the ACR backend's hosts, its files read on node and its environment
// node's; as acr.NewHosts otherwise.
func acrOn(c acr.Config, node Node) (*acr.Hosts, error) {
	var f azureconfig.File
	if c.AzureConfig != "" {
		var err error
		if f, err = azureconfig.Load(node.Path(c.AzureConfig)); err != nil {
			return nil, fmt.Errorf("acr: azure config: %w", err)
		}
	}
	if c.EnvironmentFile != "" {
		c.EnvironmentFile = node.Path(c.EnvironmentFile)
	}
	lookup := func(name string) (string, bool) {
		v, ok := node.lookupEnv(name)
		if ok && name == "AZURE_ENVIRONMENT_FILEPATH" && strings.TrimSpace(v) != "" {
			v = node.Path(strings.TrimSpace(v))
		}
		return v, ok
	}
	cloud, err := acr.ResolveCloud(c, f, lookup)
	if err != nil {
		return nil, err
	}
	return acr.NewHostsForCloud(c, cloud)
}

// Patterns are the kubelet matchImages patterns that send every image the enabled
// backends serve to the plugin.
type Patterns struct {
	// All lists every backend's patterns, backend by backend in order of precedence,
	// each pattern once (where two backends list it, under the first).
	All []string
	// Backends are the enabled backends, in order of precedence.
	Backends []string
	// Of holds each enabled backend's own MatchImages.
	Of map[string][]string
	// Hosts holds each enabled backend's light view.
	Hosts map[string]providers.Hosts
	// AnyHost lists the backends that serve every host (providers.AnyHost), for which
	// no list of patterns can be complete.
	AnyHost []string
}

// MatchImages works out the patterns for the backends cfg enables, reading node's
// files. It fails when the configuration is invalid or a backend's files cannot
// decide which hosts it serves. All may be empty (a static backend whose docker config
// files name no registry).
func MatchImages(cfg *config.Config, node Node) (*Patterns, error) {
	enabled, err := Enabled(cfg)
	if err != nil {
		return nil, err
	}
	p := &Patterns{Backends: enabled, Of: map[string][]string{}, Hosts: map[string]providers.Hosts{}}
	seen := map[string]bool{}
	for _, name := range enabled {
		h, err := Hosts(name, cfg, node)
		if err != nil {
			return nil, Prefixed(name, err)
		}
		p.Hosts[name] = h
		if providers.AnyHost(h) {
			p.AnyHost = append(p.AnyHost, name)
		}
		own := h.MatchImages()
		p.Of[name] = own
		for _, m := range own {
			if !seen[m] {
				seen[m] = true
				p.All = append(p.All, m)
			}
		}
	}
	return p, nil
}

// Prefixed puts the backend's name in front of err unless it is already there.
func Prefixed(name string, err error) error {
	if strings.HasPrefix(err.Error(), name+":") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ServiceAccountAnnotations lists the Kubernetes service account annotations the
// enabled backends read in service-account-token mode, in backend order: the keys a
// kubelet configuration passes on to the plugin.
func ServiceAccountAnnotations(enabled []string) []string {
	var out []string
	for _, name := range enabled {
		switch name {
		case ecr.Name:
			out = append(out, ecr.RoleAnnotation)
		case gcr.Name:
			out = append(out, gcr.AnnotationServiceAccount, gcr.AnnotationEnableImagePull)
		case acr.Name:
			out = append(out, acr.ClientIDAnnotation, acr.TenantIDAnnotation)
		}
	}
	return out
}

// Describe says in a few words which hosts backend name serves under cfg, for a comment
// above its patterns.
func Describe(name string, cfg *config.Config) string {
	switch name {
	case dockercfg.Name:
		if len(cfg.Static.Files) > 0 {
			return "static: the registries of " + strings.Join(cfg.Static.Files, ", ")
		}
		return "static: the registries of the node's docker config file (the kubelet's search)"
	case ecr.Name:
		return "ecr: Amazon ECR in every partition and host family (FIPS, dual-stack), and ECR Public"
	case gcr.Name:
		return "gcr: Google Container Registry and Artifact Registry (regional and docker.<region>.rep.pkg.dev)"
	case acr.Name:
		return "acr: Azure Container Registry login servers and geo-replicas, on the default port and :443"
	}
	return name
}

// exampleLabels stand in for a '*' of a pattern when looking for a host it reaches that
// a backend serves: account ids, regions of every partition, names.
var exampleLabels = [...]string{"123456789012", "us-east-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1",
	"us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1", "europe-west1", "europe-west1-docker",
	"myregistry", "westeurope", "example"}

// ExampleHost returns a host[:port] (with the pattern's path, if any) that pattern
// reaches and h serves, trying well-known values in each label that is '*'; "" when
// none is found (a label with another glob, or no such host).
func ExampleHost(pattern string, h providers.Hosts) string {
	rest, path, _ := strings.Cut(pattern, "/")
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i:]
	}
	labels := strings.Split(host, ".")
	var stars []int
	for i, l := range labels {
		switch {
		case l == "*":
			stars = append(stars, i)
		case strings.ContainsAny(l, `*?[\`):
			return ""
		}
	}
	if len(stars) > 3 {
		return ""
	}
	var try func(k int) string
	try = func(k int) string {
		if k == len(stars) {
			hp := strings.Join(labels, ".") + port
			if !h.Serves(providers.Image{Host: hp, Path: "app"}) {
				return ""
			}
			if path != "" {
				return hp + "/" + path
			}
			return hp
		}
		for _, v := range exampleLabels {
			labels[stars[k]] = v
			if s := try(k + 1); s != "" {
				return s
			}
		}
		return ""
	}
	return try(0)
}
