// Package imageref parses image references the way the kubelet does before it calls a
// plugin. It is kept apart from providers because distribution/reference compiles its
// grammar at start-up (about 1 ms), which the lean cache-hit path must not pay.
package imageref

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"

	"github.com/imagecred/image-credential-provider/providers"
)

// Parse parses an image the way the kubelet does before it calls a plugin
// (distribution/reference's normalized form): the kubelet's own requests name the
// repository without tag or digest ("docker.io/library/nginx"), and people debugging by
// hand may give any full reference ("nginx:1.27", "localhost:5000/app@sha256:…"). Tag and
// digest are dropped; Docker Hub short names become docker.io/library/….
func Parse(s string) (providers.Image, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return providers.Image{}, fmt.Errorf("empty image reference")
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return providers.Image{}, fmt.Errorf("invalid image reference %q: %v", s, err)
	}
	return providers.Image{Host: reference.Domain(named), Path: reference.Path(named)}, nil
}
