package acr

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/acr/acrhost"
	"github.com/imagecred/image-credential-provider/acr/azureconfig"
	"github.com/imagecred/image-credential-provider/internal/hoststest"
)

func FuzzIsACR(f *testing.F) {
	for _, s := range []string{"myacr.azurecr.io", "a.b.geo.azurecr.cn:5000", "x.azurecr.io.example", ":", "a:1:2"} {
		f.Add(s)
	}
	m := acrhost.NewMatcher(acrhost.WellKnownSuffixes)
	f.Fuzz(func(t *testing.T, host string) {
		if !m.IsLoginServer(host) {
			return
		}
		name, port, ok := acrhost.SplitHostPort(host)
		if !ok {
			t.Fatalf("%q accepted but does not split", host)
		}
		name = strings.ToLower(name)
		matched := false
		for _, s := range acrhost.WellKnownSuffixes {
			if strings.HasSuffix(name, "."+s) {
				matched = true
				n := strings.Count(strings.TrimSuffix(name, "."+s), ".")
				if n != 0 && n != 2 {
					t.Fatalf("%q accepted with %d extra labels", host, n)
				}
			}
		}
		if !matched {
			t.Fatalf("%q accepted without an ACR suffix", host)
		}
		if port != "" && (port[0] == '0' || len(port) > 5) {
			t.Fatalf("%q accepted with port %q", host, port)
		}
	})
}

func FuzzParseRegistryMirror(f *testing.F) {
	f.Add("mcr.microsoft.com:myacr.azurecr.io, a:b")
	f.Add(",,:")
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseRegistryMirror(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Source == "" || m.Target == "" || strings.ContainsAny(m.Source+m.Target, ":, \t\n") {
				t.Fatalf("bad mirror %+v from %q", m, s)
			}
		}
	})
}

var stackCloud = azureconfig.Cloud{Name: "AzureStackCloud", AuthorityHost: "https://login.stack.example/", Audience: azureconfig.DefaultAudience, RegistrySuffix: "azurecr.stack.example"}

var mirrorConfig = Config{
	RegistryMirror:   "mcr.microsoft.com:myacr.azurecr.io",
	Mirrors:          []Mirror{{Source: "Registry.Local:5000", Target: "myacr.azurecr.io:8443"}},
	RegistrySuffixes: []string{".ACR.internal.example"},
}

func TestHosts(t *testing.T) {
	env := filepath.Join(t.TempDir(), "stack.json")
	if err := os.WriteFile(env, []byte(`{"name":"AzureStackCloud","activeDirectoryEndpoint":"https://login.stack.example/","containerRegistryDNSSuffix":"azurecr.stack.example"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mirrorConfig
	cfg.EnvironmentFile = env
	h, err := NewHosts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hoststest.CheckPatterns(t, h)
	for _, host := range []string{
		"myacr.azurecr.io", "MyACR.AzureCR.io", "myacr.eastus.geo.azurecr.io", "myacr.azurecr.cn",
		"myacr.chinanorth3.geo.azurecr.cn", "myacr.azurecr.us", "myacr.azurecr.de",
		"myacr.azurecr.io:443", "myacr.eastus.geo.azurecr.io:443",
		"myacr.azurecr.stack.example", "myacr.westus.geo.azurecr.stack.example", // the cloud's
		"myacr.acr.internal.example",                                    // configured suffix
		"mcr.microsoft.com", "MCR.microsoft.com", "registry.local:5000", // mirror sources
		"myacr.azurecr.io:8443", // a mirror target's port
	} {
		hoststest.CheckServed(t, h, host)
	}
	for _, host := range []string{
		"foo.azurecr.io.example", "a.b.azurecr.io", "azurecr.io", "myacr.eastus.notgeo.azurecr.io",
		"docker.io", "registry.local", "mcr.microsoft.com:443", "myacr.azurecr.stack.example.evil",
		"gcr.io", "123456789012.dkr.ecr.us-east-1.amazonaws.com",
	} {
		hoststest.CheckNotReached(t, h, host)
	}
	// A login server on a port no one named is served, and no pattern can reach it:
	// the kubelet has no wildcard port.
	if !hoststest.Serves(h, "myacr.azurecr.io:5000") || hoststest.Reaches(h.MatchImages(), "myacr.azurecr.io:5000") {
		t.Error("myacr.azurecr.io:5000: want served and not reached")
	}
	// Every pattern is there because of served hosts: an instance of each is served.
	for _, p := range h.MatchImages() {
		if host := strings.ReplaceAll(p, "*", "x1"); !hoststest.Serves(h, host) {
			t.Errorf("pattern %q: its instance %q is not served", p, host)
		}
	}
	if got, want := h.MatchImages()[len(h.MatchImages())-3:], []string{"mcr.microsoft.com", "registry.local:5000", "myacr.azurecr.io:8443"}; !slices.Equal(got, want) {
		t.Errorf("configured hosts %q, want %q", got, want)
	}

	public, err := NewHostsForCloud(Config{}, azureconfig.AzurePublic)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := public.MatchImages(), []string{
		"*.azurecr.io", "*.*.geo.azurecr.io", "*.azurecr.cn", "*.*.geo.azurecr.cn",
		"*.azurecr.us", "*.*.geo.azurecr.us", "*.azurecr.de", "*.*.geo.azurecr.de",
		"*.azurecr.io:443", "*.*.geo.azurecr.io:443", "*.azurecr.cn:443", "*.*.geo.azurecr.cn:443",
		"*.azurecr.us:443", "*.*.geo.azurecr.us:443", "*.azurecr.de:443", "*.*.geo.azurecr.de:443",
	}; !slices.Equal(got, want) {
		t.Errorf("MatchImages() = %q, want %q", got, want)
	}
}

// FuzzHostsReachServed checks the providers.Hosts promise on random hosts: every host
// the ACR backend serves (with the fuzzed mirror source added, when it is valid) is
// reached by a pattern in its lower-case spelling, by the kubelet's own matching,
// unless it names a port no one configured (no pattern can).
func FuzzHostsReachServed(f *testing.F) {
	for _, s := range [][2]string{
		{"quay.io", "myacr.azurecr.io"},
		{"registry.local:5001", "MyACR.eastus.geo.AzureCR.cn:443"},
		{"x", "myacr.azurecr.stack.example"},
		{"10.0.0.1:5000", "myacr.azurecr.io:8443"},
		{"mcr.microsoft.com", "a.acr.internal.example"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, source, host string) {
		cfg := mirrorConfig
		cfg.Mirrors = append([]Mirror{{Source: source, Target: "other.azurecr.io"}}, cfg.Mirrors...)
		h, err := NewHostsForCloud(cfg, stackCloud)
		named := []string{"mcr.microsoft.com", "registry.local:5000", "myacr.azurecr.io", "myacr.azurecr.io:8443"}
		if err != nil {
			if h, err = NewHostsForCloud(mirrorConfig, stackCloud); err != nil {
				t.Fatal(err)
			}
		} else {
			src, _ := normalizeRegistryHost("", source)
			if !hoststest.Serves(h, src) || !hoststest.Reaches(h.MatchImages(), src) {
				t.Fatalf("mirror source %q: served %v, reached by %q", source, hoststest.Serves(h, src), hoststest.Matching(h.MatchImages(), src))
			}
			named = append(named, src)
		}
		if !hoststest.Serves(h, host) {
			return
		}
		lh := strings.ToLower(host)
		if _, port, _ := acrhost.SplitHostPort(lh); port != "" && port != "443" && !slices.Contains(named, lh) {
			return // a port no one configured
		}
		if !hoststest.Reaches(h.MatchImages(), lh) {
			t.Fatalf("%q is served but no pattern reaches it: %q", host, h.MatchImages())
		}
	})
}
