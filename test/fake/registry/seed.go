package registry

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Image describes a seeded image: what a correct pull must fetch.
type Image struct {
	Repo   string `json:"repo"`
	Tag    string `json:"tag"`
	Digest string `json:"digest"` // manifest digest
	Config string `json:"config"` // config blob digest
	// Layers are the layer blob digests in manifest order.
	Layers []string `json:"layers"`
	// Bytes is the total size of manifest, config and layers.
	Bytes int64 `json:"bytes"`
}

// Default shape of seeded images: tiny, so pulls are quick.
const (
	DefaultLayers     = 2
	DefaultLayerBytes = 1024
)

// Seed stores a new random image (DefaultLayers layers of DefaultLayerBytes each)
// under repo:tag, bypassing auth, and returns its digests.
func (s *Server) Seed(repo, tag string) (Image, error) {
	img, err := random.Image(DefaultLayerBytes, DefaultLayers)
	if err != nil {
		return Image{}, fmt.Errorf("seed %s:%s: %w", repo, tag, err)
	}
	return s.SeedImage(repo, tag, img)
}

// SeedImage stores img under repo:tag, bypassing auth.
func (s *Server) SeedImage(repo, tag string, img v1.Image) (Image, error) {
	// The host part is irrelevant: the transport serves the in-memory registry directly.
	ref, err := name.NewTag("seed.invalid/"+repo+":"+tag, name.StrictValidation)
	if err != nil {
		return Image{}, fmt.Errorf("seed %s:%s: %w", repo, tag, err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(handlerTransport{s.inner})); err != nil {
		return Image{}, fmt.Errorf("seed %s:%s: %w", repo, tag, err)
	}
	return Describe(repo, tag, img)
}

// Describe returns the digests and size of img.
func Describe(repo, tag string, img v1.Image) (Image, error) {
	out := Image{Repo: repo, Tag: tag}
	d, err := img.Digest()
	if err != nil {
		return out, err
	}
	out.Digest = d.String()
	m, err := img.Manifest()
	if err != nil {
		return out, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return out, err
	}
	out.Config = m.Config.Digest.String()
	out.Bytes = int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		out.Layers = append(out.Layers, l.Digest.String())
		out.Bytes += l.Size
	}
	return out, nil
}
