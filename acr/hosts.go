package acr

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/imagecred/image-credential-provider/acr/acrhost"
	"github.com/imagecred/image-credential-provider/acr/azureconfig"
	"github.com/imagecred/image-credential-provider/providers"
)

// Hosts is the set of image hosts the ACR backend serves: the login servers of every
// registry suffix (azurecr.io/.cn/.us/.de, the cloud's, Config.RegistrySuffixes), with
// their geo-replicas, on any port; and the sources of Config.RegistryMirror and
// Config.Mirrors. It implements providers.Hosts; the token backend (package acrtoken)
// answers for exactly these hosts.
type Hosts struct {
	matcher acrhost.Matcher
	// suffixes in the order they were named, without duplicates.
	suffixes []string
	mirrors  map[string]string // lower-case source host[:port] → target
}

var _ providers.Hosts = (*Hosts)(nil)

// NewHosts reads what decides which hosts cfg serves and returns them: azure.json's
// cloud (Config.AzureConfig), the cloud's environment file for a custom cloud, and the
// process environment (AZURE_ENVIRONMENT_FILEPATH, AZURE_AUTHORITY_HOST). No network.
func NewHosts(cfg Config) (*Hosts, error) {
	var f azureconfig.File
	if cfg.AzureConfig != "" {
		var err error
		if f, err = azureconfig.Load(cfg.AzureConfig); err != nil {
			return nil, fmt.Errorf("acr: azure config: %w", err)
		}
	}
	cloud, err := ResolveCloud(cfg, f, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	return NewHostsForCloud(cfg, cloud)
}

// NewHostsForCloud returns the hosts cfg serves in cloud (see ResolveCloud), checking
// the registry suffixes and mirrors of cfg. No I/O.
func NewHostsForCloud(cfg Config, cloud azureconfig.Cloud) (*Hosts, error) {
	suffixes := append([]string(nil), acrhost.WellKnownSuffixes...)
	suffixes = append(suffixes, cloud.RegistrySuffix)
	for _, s := range cfg.RegistrySuffixes {
		n, err := azureconfig.NormalizeSuffix(s)
		if err != nil {
			return nil, fmt.Errorf("acr: registrySuffixes: %w", err)
		}
		suffixes = append(suffixes, n)
	}
	h := &Hosts{matcher: acrhost.NewMatcher(suffixes)}
	for _, s := range suffixes {
		if s != "" && !slices.Contains(h.suffixes, s) {
			h.suffixes = append(h.suffixes, s)
		}
	}
	var err error
	if h.mirrors, err = h.buildMirrors(cfg); err != nil {
		return nil, fmt.Errorf("acr: %w", err)
	}
	return h, nil
}

// ResolveCloud says which cloud cfg and azure.json (f) name: Config.Cloud, else f's,
// a custom cloud read from its environment file (Config.EnvironmentFile, else
// $AZURE_ENVIRONMENT_FILEPATH), with Config.Audience and $AZURE_AUTHORITY_HOST applied.
// lookupEnv reads the environment. No network.
func ResolveCloud(cfg Config, f azureconfig.File, lookupEnv func(string) (string, bool)) (azureconfig.Cloud, error) {
	c, err := resolveCloud(cfg, f, lookupEnv)
	if err != nil {
		return c, fmt.Errorf("acr: %w", err)
	}
	return c, nil
}

func resolveCloud(cfg Config, f azureconfig.File, lookupEnv func(string) (string, bool)) (azureconfig.Cloud, error) {
	getenv := func(name string) string {
		v, _ := lookupEnv(name)
		return strings.TrimSpace(v)
	}
	name := first(cfg.Cloud, f.Cloud)
	var c azureconfig.Cloud
	switch known, ok := azureconfig.KnownCloud(name); {
	case cfg.EnvironmentFile != "" || azureconfig.IsStack(name):
		path := first(cfg.EnvironmentFile, getenv("AZURE_ENVIRONMENT_FILEPATH"))
		if path == "" {
			return c, fmt.Errorf("cloud %s needs an environment file (environmentFile, -acr-environment-file or AZURE_ENVIRONMENT_FILEPATH)", name)
		}
		var err error
		if c, err = azureconfig.LoadEnvironment(path, cfg.Audience); err != nil {
			return c, fmt.Errorf("cloud environment: %w", err)
		}
	case ok:
		c = known
	default:
		return c, fmt.Errorf("unknown cloud %q (want AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud or AzureStackCloud with an environment file)", name)
	}
	if cfg.Audience != "" {
		c.Audience = cfg.Audience
	}
	if h := getenv("AZURE_AUTHORITY_HOST"); h != "" {
		a, err := azureconfig.NormalizeAuthority(h)
		if err != nil {
			return c, fmt.Errorf("AZURE_AUTHORITY_HOST: %w", err)
		}
		c.AuthorityHost = a
	}
	return c, nil
}

func (h *Hosts) buildMirrors(cfg Config) (map[string]string, error) {
	list, err := ParseRegistryMirror(cfg.RegistryMirror)
	if err != nil {
		return nil, err
	}
	list = append(list, cfg.Mirrors...)
	out := map[string]string{}
	for _, m := range list {
		src, err := normalizeRegistryHost("mirror source", m.Source)
		if err != nil {
			return nil, err
		}
		dst, err := normalizeRegistryHost("mirror target", m.Target)
		if err != nil {
			return nil, err
		}
		if !h.matcher.IsLoginServer(dst) {
			return nil, fmt.Errorf("mirror target %q is not an Azure Container Registry login server", m.Target)
		}
		if src == dst {
			return nil, fmt.Errorf("mirror %q maps a registry to itself", m.Source)
		}
		if prev, dup := out[src]; dup && prev != dst {
			return nil, fmt.Errorf("mirror source %q is mapped twice (%s and %s)", m.Source, prev, dst)
		}
		out[src] = dst
	}
	return out, nil
}

// Serves reports whether img is on an ACR login server (<name>.<suffix>, geo-replicas
// <name>.<region>.geo.<suffix>, any port) or on a configured mirror source. No I/O.
func (h *Hosts) Serves(img providers.Image) bool {
	_, mirrored := h.mirrors[strings.ToLower(img.Host)]
	return mirrored || h.matcher.IsLoginServer(img.Host)
}

// IsLoginServer reports whether host (host[:port]) is an ACR login server.
func (h *Hosts) IsLoginServer(host string) bool { return h.matcher.IsLoginServer(host) }

// Target returns the registry that serves an image on host: the mirror target when
// host is a mirror source (mirrored), else host itself.
func (h *Hosts) Target(host string) (registry string, mirrored bool) {
	if dst, ok := h.mirrors[strings.ToLower(host)]; ok {
		return dst, true
	}
	return host, false
}

// MatchImages implements providers.Hosts: for each registry suffix, its login servers
// and geo-replicas ("*.azurecr.io", "*.*.geo.azurecr.io"), then the same on :443 (the
// port ACR listens on), then the mirror sources, then the mirror targets with another
// port. A login server on any other port is served too, but the kubelet has no
// wildcard port: such an image needs a pattern of its own.
func (h *Hosts) MatchImages() []string {
	var out []string
	for _, port := range []string{"", ":443"} {
		for _, s := range h.suffixes {
			out = append(out, "*."+s+port, "*.*.geo."+s+port)
		}
	}
	sources := make([]string, 0, len(h.mirrors))
	var targets []string
	for src, dst := range h.mirrors {
		sources = append(sources, src)
		if _, port, _ := acrhost.SplitHostPort(dst); port != "" && port != "443" && !slices.Contains(targets, dst) {
			targets = append(targets, dst)
		}
	}
	sort.Strings(sources)
	sort.Strings(targets)
	return append(append(out, sources...), targets...)
}

// first returns the first of vs that is not blank, trimmed.
func first(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// acrhost.Matcher recognises ACR login servers: "<name>.<suffix>" and geo-replica hosts
// "<name>.<region>.geo.<suffix>", with an optional port, for a fixed set of suffixes.

// normalizeRegistryHost checks a configured host[:port] and lower-cases it.
func normalizeRegistryHost(what, hp string) (string, error) {
	hp = strings.TrimSpace(hp)
	host, port, ok := acrhost.SplitHostPort(hp)
	if !ok {
		return "", fmt.Errorf("%s %q is not a host[:port]", what, hp)
	}
	for _, l := range strings.Split(strings.ToLower(host), ".") {
		if !acrhost.IsDNSLabel(l) {
			return "", fmt.Errorf("%s %q is not a host[:port]", what, hp)
		}
	}
	if port != "" {
		return strings.ToLower(host) + ":" + port, nil
	}
	return strings.ToLower(host), nil
}
