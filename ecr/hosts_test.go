package ecr

import (
	"slices"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/internal/hoststest"
)

var customRegistries = []Registry{
	{Host: "registry.example.com", Account: "123456789012", Region: "eu-central-1"},
	{Host: "ECR-Proxy.internal:5000", Region: "cn-north-1"},
}

func TestHosts(t *testing.T) {
	h, err := NewHosts(Config{Registries: customRegistries})
	if err != nil {
		t.Fatal(err)
	}
	hoststest.CheckPatterns(t, h)
	for _, host := range []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
		"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
		"123456789012.dkr-ecr.us-west-2.on.aws",
		"123456789012.dkr-ecr-fips.us-west-2.on.aws",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
		"123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
		"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
		"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
		"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
		"123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
		"123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
		"public.ecr.aws",
		"ecr-public.aws.com",
		"registry.example.com",
		"Registry.Example.com", // served; reached in its lower-case spelling
		"ecr-proxy.internal:5000",
	} {
		hoststest.CheckServed(t, h, host)
	}
	for _, host := range []string{
		"docker.io",
		"registry.k8s.io",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com:5000",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
		"x.123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"public.ecr.aws:443",
		"registry.example.com:443",
		"a.registry.example.com",
		"ecr-proxy.internal",
		"ecr-proxy.internal:5001",
		"myacr.azurecr.io",
		"gcr.io",
	} {
		hoststest.CheckNotReached(t, h, host)
	}
	// Every pattern is there because of served hosts: an instance of each is served.
	for _, p := range h.MatchImages() {
		region := "us-west-2"
		switch {
		case strings.HasSuffix(p, ".amazonaws.com.cn"), strings.HasSuffix(p, ".on.amazonwebservices.com.cn"):
			region = "cn-north-1"
		case strings.HasSuffix(p, ".amazonaws.eu"):
			region = "eusc-de-east-1"
		case strings.HasSuffix(p, ".c2s.ic.gov"):
			region = "us-iso-east-1"
		case strings.HasSuffix(p, ".sc2s.sgov.gov"):
			region = "us-isob-east-1"
		case strings.HasSuffix(p, ".cloud.adc-e.uk"):
			region = "eu-isoe-west-1"
		case strings.HasSuffix(p, ".csp.hci.ic.gov"):
			region = "us-isof-south-1"
		}
		host := strings.Replace(strings.Replace(p, "*", "123456789012", 1), "*", region, 1)
		if !hoststest.Serves(h, host) {
			t.Errorf("pattern %q: its instance %q is not served", p, host)
		}
	}
	// Without custom hosts the list is the ECR host families alone.
	plain, err := NewHosts(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := plain.MatchImages(); !slices.Equal(got, ecrhost.MatchImages()) {
		t.Errorf("MatchImages() = %q, want ecrhost.MatchImages", got)
	}
	if got, want := h.MatchImages()[len(ecrhost.MatchImages()):], []string{"ecr-proxy.internal:5000", "registry.example.com"}; !slices.Equal(got, want) {
		t.Errorf("custom patterns %q, want %q", got, want)
	}
}

// TestCustomHostsTheKubeletCannotMatch: a mapped host must be one a matchImages pattern
// can name, or the kubelet would never ask the plugin about it.
func TestCustomHostsTheKubeletCannotMatch(t *testing.T) {
	for _, host := range []string{
		"", "r.example/x", "https://r.example", "user@r.example", "[::1]:5000", "r*.example",
		"r?.example", "r#x.example", "r.example:0", "r.example:05000", "r.example:65536", "r.example:",
		"r.example:x", "a..b", ".r.example", "r.example.", "r example", "r%41.example", "ré.example",
		"r.example:5000:1", strings.Repeat("a", 64) + ".example",
	} {
		if _, err := NewHosts(Config{Registries: []Registry{{Host: host, Region: "us-east-1"}}}); err == nil || !strings.Contains(err.Error(), "want host or host:port") {
			t.Errorf("host %q: %v, want a host or host:port error", host, err)
		}
	}
}

// FuzzHostsReachServed checks the providers.Hosts promise on random hosts: every host
// Hosts serves (with the fuzzed custom host mapped, when it is valid) is reached by a
// pattern in its lower-case spelling, by the kubelet's own matching.
func FuzzHostsReachServed(f *testing.F) {
	for _, s := range [][2]string{
		{"registry.example.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
		{"ecr-proxy.internal:5000", "ECR-proxy.internal:5000"},
		{"r.example", "123456789012.DKR-ECR-FIPS.us-west-2.ON.AWS"},
		{"10.0.0.5:5000", "public.ecr.aws"},
		{"my_registry.internal", "ecr-public.aws.com"},
		{"x", "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, mapped, host string) {
		h, err := NewHosts(Config{Registries: []Registry{{Host: mapped, Region: "us-east-1"}}})
		if err != nil {
			if h, err = NewHosts(Config{}); err != nil {
				t.Fatal(err)
			}
		} else if m := strings.ToLower(strings.TrimSpace(mapped)); !hoststest.Serves(h, m) || !hoststest.Reaches(h.MatchImages(), m) {
			t.Fatalf("mapped host %q: served %v, reached by %q", mapped, hoststest.Serves(h, m), hoststest.Matching(h.MatchImages(), m))
		}
		if hoststest.Serves(h, host) && !hoststest.Reaches(h.MatchImages(), strings.ToLower(host)) {
			t.Fatalf("%q is served but no pattern reaches it (mapped %q): %q", host, mapped, h.MatchImages())
		}
	})
}
