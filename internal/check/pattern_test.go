package check

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/match"
)

func TestCoversAndOverlaps(t *testing.T) {
	tests := []struct {
		q, p            string
		covers, overlap bool
	}{
		{"*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com", true, true},
		{"*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", true, true},
		{"123456789012.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com", false, true},
		{"*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr-fips.*.amazonaws.com", false, false},
		{"*.gcr.io", "gcr.io", false, false},
		{"gcr.io", "gcr.io:443", false, false},
		{"gcr.io:443", "gcr.io:443", true, true},
		{"*-docker.pkg.dev", "*.pkg.dev", false, true},
		{"*.pkg.dev", "europe-west1-docker.pkg.dev", true, true},
		{"registry.example", "registry.example/team", true, true},
		{"registry.example/team", "registry.example", false, true},
		{"registry.example/a", "registry.example/b", false, false},
		{"*", "registry", true, true},
		{"*", "registry.example", false, false},
		{"reg:port", "reg", false, false},
	}
	for _, tt := range tests {
		if got := covers(tt.q, tt.p); got != tt.covers {
			t.Errorf("covers(%q, %q) = %v", tt.q, tt.p, got)
		}
		if got := overlaps(tt.q, tt.p); got != tt.overlap {
			t.Errorf("overlaps(%q, %q) = %v", tt.q, tt.p, got)
		}
		if got := overlaps(tt.p, tt.q); got != tt.overlap {
			t.Errorf("overlaps(%q, %q) = %v (reversed)", tt.p, tt.q, got)
		}
	}
}

// covers and overlaps agree with the kubelet's matcher on generated patterns and
// images: what q covers, q matches wherever p does; what does not overlap, no image
// matches both.
func TestCoversAndOverlapsAgreeWithMatching(t *testing.T) {
	labels := []string{"a", "b", "ab", "*", "a*", "*b", "?", "x-*"}
	ports := []string{"", "", ":443"}
	paths := []string{"", "", "/t", "/team"}
	r := rand.New(rand.NewPCG(3, 4))
	gen := func(globs bool) string {
		n := 1 + r.IntN(3)
		s := ""
		for i := 0; i < n; i++ {
			l := labels[r.IntN(len(labels))]
			if !globs {
				l = strings.NewReplacer("*", "zz", "?", "q").Replace(l)
			}
			if i > 0 {
				s += "."
			}
			s += l
		}
		return s + ports[r.IntN(len(ports))] + paths[r.IntN(len(paths))]
	}
	for i := 0; i < 20000; i++ {
		q, p, img := gen(true), gen(true), gen(false)+"/app"
		if covers(q, p) && match.Match(p, img) && !match.Match(q, img) {
			t.Fatalf("covers(%q, %q) but %s matches only the second", q, p, img)
		}
		if !overlaps(q, p) && match.Match(p, img) && match.Match(q, img) {
			t.Fatalf("!overlaps(%q, %q) but %s matches both", q, p, img)
		}
	}
}
