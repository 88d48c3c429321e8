package gcr

import (
	"slices"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/hoststest"
	"github.com/imagecred/image-credential-provider/providers"
)

func TestIsRegistryHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"gcr.io", true},
		{"us.gcr.io", true},
		{"eu.gcr.io", true},
		{"asia.gcr.io", true},
		{"marketplace.gcr.io", true},
		{"GCR.io", true},
		{"gcr.io:443", true},
		{"container.cloud.google.com", true},
		{"us-docker.pkg.dev", true},
		{"europe-west1-docker.pkg.dev", true},
		{"docker.us-central1.rep.pkg.dev", true},
		{"docker.europe-west4.rep.pkg.dev", true},
		{"us-docker.pkg.dev:443", true},

		{"gcr.io:5000", false},
		{"us.gcr.io:80", false},
		{"a.b.gcr.io", false},
		{"pkg.dev", false},
		{"a.b.pkg.dev", false},
		{"rep.pkg.dev", true}, // *.pkg.dev: Google's whole domain
		{"npm.us-central1.rep.pkg.dev", false},
		{"docker.us.rep.example.dev", false},
		{"x.docker.us.rep.pkg.dev", false},
		{"gcr.io.evil.example", false},
		{"evilgcr.io", false},
		{"evil-gcr.io", false},
		{"cloud.google.com", false},
		{"x.container.cloud.google.com", false},
		{"docker.io", false},
		{"registry.k8s.io", false},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", false},
		{"myreg.azurecr.io", false},
		{"localhost:5000", false},
		{"", false},
		{".gcr.io", false},
		{"-x.gcr.io", false},
		{"x_.gcr.io", false},
		{"us.gcr.io.", false},
		{"[::1]:443", false},
	}
	for _, tt := range tests {
		if got := IsRegistryHost(tt.host); got != tt.want {
			t.Errorf("IsRegistryHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func FuzzIsRegistryHost(f *testing.F) {
	for _, s := range []string{"gcr.io", "us.gcr.io:443", "docker.us-east1.rep.pkg.dev", "container.cloud.google.com", "docker.io", "a.b.gcr.io", "x.pkg.dev:5000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !IsRegistryHost(host) {
			return
		}
		name, port, hasPort := strings.Cut(strings.ToLower(host), ":")
		if hasPort && port != "443" {
			t.Fatalf("%q accepted with port %q", host, port)
		}
		if name != "gcr.io" && !strings.HasSuffix(name, ".gcr.io") && !strings.HasSuffix(name, ".pkg.dev") && name != "container.cloud.google.com" {
			t.Fatalf("%q accepted outside Google's domains", host)
		}
		if strings.ContainsAny(name, "/@[]*?_ ") {
			t.Fatalf("%q accepted with a character no host label has", host)
		}
	})
}

func TestHosts(t *testing.T) {
	h, err := NewHosts(Config{})
	if err != nil {
		t.Fatal(err)
	}
	hoststest.CheckPatterns(t, h)
	if providers.AnyHost(h) {
		t.Error("the default configuration serves any host")
	}
	for _, host := range []string{
		"gcr.io", "us.gcr.io", "GCR.io", "gcr.io:443", "eu.gcr.io:443",
		"container.cloud.google.com", "container.cloud.google.com:443",
		"us-docker.pkg.dev", "europe-west1-docker.pkg.dev", "rep.pkg.dev", "us-docker.pkg.dev:443",
		"docker.us-central1.rep.pkg.dev", "docker.europe-west4.rep.pkg.dev:443",
	} {
		hoststest.CheckServed(t, h, host)
	}
	for _, host := range []string{
		"docker.io", "gcr.io:5000", "a.b.gcr.io", "pkg.dev", "a.b.pkg.dev", "x.docker.us.rep.pkg.dev",
		"gcr.io.evil.example", "evilgcr.io", "cloud.google.com", "x.container.cloud.google.com",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com", "myreg.azurecr.io", "localhost:5000",
	} {
		hoststest.CheckNotReached(t, h, host)
	}
	// Every pattern is there because of served hosts: an instance of each is served.
	for _, p := range h.MatchImages() {
		if host := strings.ReplaceAll(p, "*", "us-west1"); !hoststest.Serves(h, host) {
			t.Errorf("pattern %q: its instance %q is not served", p, host)
		}
	}
	if got, want := h.MatchImages(), []string{
		"gcr.io", "*.gcr.io", "container.cloud.google.com", "*.pkg.dev", "docker.*.rep.pkg.dev",
		"gcr.io:443", "*.gcr.io:443", "container.cloud.google.com:443", "*.pkg.dev:443", "docker.*.rep.pkg.dev:443",
	}; !slices.Equal(got, want) {
		t.Errorf("MatchImages() = %q, want %q", got, want)
	}
}

// TestHostsAnyHost: the docker config sources may answer for any registry; no pattern
// list reaches every host, and Hosts says so.
func TestHostsAnyHost(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want bool
	}{
		{Config{Sources: []string{SourceDockerCfg}, DockerConfigAnyHost: true}, true},
		{Config{Sources: []string{SourceMetadata, SourceDockerCfgURL}, DockerConfigAnyHost: true}, true},
		{Config{Sources: []string{SourceDockerCfg}}, false},
		{Config{DockerConfigAnyHost: true}, false}, // the default sources read no docker config
		{Config{Sources: []string{SourceKeyFile}, DockerConfigAnyHost: true}, false},
	} {
		h, err := NewHosts(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if providers.AnyHost(h) != tt.want || hoststest.Serves(h, "registry.example.com:5000") != tt.want {
			t.Errorf("%+v: AnyHost %v, serves any host %v; want %v", tt.cfg, providers.AnyHost(h), hoststest.Serves(h, "registry.example.com:5000"), tt.want)
		}
		hoststest.CheckServed(t, h, "gcr.io")
	}
}

// FuzzHostsReachServed checks the providers.Hosts promise on random hosts: every host
// the Google backend serves (not configured for any host) is reached by a pattern in its
// lower-case spelling, by the kubelet's own matching.
func FuzzHostsReachServed(f *testing.F) {
	for _, s := range []string{"gcr.io", "US.GCR.io:443", "docker.us-east1.rep.pkg.dev", "container.cloud.google.com:443", "docker.io", "a.b.gcr.io", "x.pkg.dev:5000"} {
		f.Add(s)
	}
	h, err := NewHosts(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if hoststest.Serves(h, host) && !hoststest.Reaches(h.MatchImages(), strings.ToLower(host)) {
			t.Fatalf("%q is served but no pattern reaches it: %q", host, h.MatchImages())
		}
	})
}
