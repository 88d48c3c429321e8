// Package hoststest checks a backend's providers.Hosts against its promise, with the
// kubelet's own matching rules (internal/match): the tests of every backend use it, so
// that they all check the same thing.
package hoststest

import (
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/providers"
)

// Matching returns the patterns that send an image on host to the plugin, by the
// kubelet's matching of matchImages (match.Match against host + "/app").
func Matching(patterns []string, host string) []string {
	var out []string
	for _, p := range patterns {
		if match.Match(p, host+"/app") {
			out = append(out, p)
		}
	}
	return out
}

// Reaches reports whether some pattern sends an image on host to the plugin.
func Reaches(patterns []string, host string) bool { return len(Matching(patterns, host)) > 0 }

// Serves reports whether h serves an image on host.
func Serves(h providers.Hosts, host string) bool {
	return h.Serves(providers.Image{Host: host, Path: "app"})
}

// CheckPatterns checks what every MatchImages list must be: not empty, stable across
// calls, without duplicates, each pattern lower case and a key the kubelet keeps as it
// is (no scheme, no path, nothing url.Parse rejects or cuts off).
func CheckPatterns(t testing.TB, h providers.Hosts) {
	t.Helper()
	patterns := h.MatchImages()
	if len(patterns) == 0 {
		t.Fatal("MatchImages is empty")
	}
	again := h.MatchImages()
	seen := map[string]bool{}
	for i, p := range patterns {
		if i >= len(again) || again[i] != p {
			t.Errorf("MatchImages is not stable: %q then %q", patterns, again)
		}
		if seen[p] {
			t.Errorf("pattern %q listed twice", p)
		}
		seen[p] = true
		if p != strings.ToLower(p) {
			t.Errorf("pattern %q is not lower case", p)
		}
		if n, err := match.NormalizeKey(p); err != nil || n != p {
			t.Errorf("pattern %q: the kubelet keeps it as %q (%v)", p, n, err)
		}
	}
}

// CheckServed checks that h serves host and that some pattern reaches it.
func CheckServed(t testing.TB, h providers.Hosts, host string) {
	t.Helper()
	if !Serves(h, host) {
		t.Errorf("%s is not served", host)
	}
	if !Reaches(h.MatchImages(), strings.ToLower(host)) {
		t.Errorf("%s is served but no pattern of %q reaches it", host, h.MatchImages())
	}
}

// CheckNotReached checks that h does not serve host and that no pattern reaches it.
func CheckNotReached(t testing.TB, h providers.Hosts, host string) {
	t.Helper()
	if Serves(h, host) {
		t.Errorf("%s is served", host)
	}
	if m := Matching(h.MatchImages(), host); len(m) > 0 {
		t.Errorf("%s is not served but %q reach it", host, m)
	}
}
