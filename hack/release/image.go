package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where the image keeps its files. The binaries sit together in one directory because
// `install` copies the programs next to its own executable onto the node.
const (
	imageBinDir = "usr/local/bin"
	imageDocDir = "usr/share/doc/image-credential-provider"
)

// imageSpec is everything the image is made of.
type imageSpec struct {
	name        string    // repository, e.g. ghcr.io/imagecred/image-credential-provider
	version     string    // tag and org.opencontainers.image.version
	commit      string    // org.opencontainers.image.revision
	created     time.Time // the commit's time
	source      string    // org.opencontainers.image.source and .url
	entrypoint  string    // file name of the main binary in imageBinDir
	licences    []member  // file names only; they go to imageDocDir
	perPlatform []platformFiles
}

// platformFiles are the binaries of one platform; member names are file names only.
type platformFiles struct {
	goos, goarch string
	binaries     []member
}

// ref is the full image reference the tarball imports as.
func (s imageSpec) ref() string { return s.name + ":" + s.version }

// annotations are the org.opencontainers.image.* keys, on the index, each manifest and
// (as labels) each image config.
func (s imageSpec) annotations() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "image-credential-provider",
		"org.opencontainers.image.description": "Kubelet image credential provider plugin for static docker config.json credentials, Amazon ECR, Google Container/Artifact Registry and Azure Container Registry: the static binaries, to install on nodes.",
		"org.opencontainers.image.version":     s.version,
		"org.opencontainers.image.revision":    s.commit,
		"org.opencontainers.image.created":     s.created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":      s.source,
		"org.opencontainers.image.url":         s.source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
}

// buildIndex returns the multi-platform image: one image per platform, each a single
// layer holding the binaries (0755) and the licence files (0644), owned by root, all
// dated at the commit; no base image.
func buildIndex(s imageSpec) (v1.ImageIndex, error) {
	created := v1.Time{Time: s.created.UTC().Truncate(time.Second)}
	ann := s.annotations()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range s.perPlatform {
		var files []member
		for _, b := range p.binaries {
			files = append(files, member{name: imageBinDir + "/" + b.name, mode: 0o755, data: b.data})
		}
		for _, l := range s.licences {
			files = append(files, member{name: imageDocDir + "/" + l.name, mode: 0o644, data: l.data})
		}
		tgz, err := tarGz(files, s.created)
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(tgz)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History: v1.History{
				Created:   created,
				CreatedBy: "make release VERSION=" + s.version,
				Comment:   "static binaries and licence files",
			},
		})
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf = cf.DeepCopy()
		cf.Architecture, cf.OS, cf.Created = p.goarch, p.goos, created
		cf.Config = v1.Config{
			Entrypoint: []string{"/" + imageBinDir + "/" + s.entrypoint},
			Env:        []string{"PATH=/" + imageBinDir},
			WorkingDir: "/",
			Labels:     ann,
		}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, err
		}
		img = mutate.Annotations(img, ann).(v1.Image)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        plainImage{img},
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.goos, Architecture: p.goarch}},
		})
	}
	return mutate.Annotations(idx, ann).(v1.ImageIndex), nil
}

// writeLayout writes the index as an OCI image layout in dir (which must not exist),
// its index.json naming the image both ways importers look for: containerd's
// io.containerd.image.name (the full reference) and the OCI ref.name (the tag).
func writeLayout(dir string, s imageSpec, idx v1.ImageIndex) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name":          s.ref(),
		"org.opencontainers.image.ref.name": s.version,
		"org.opencontainers.image.created":  s.created.UTC().Format(time.RFC3339),
	}))
}

// layoutMembers reads an OCI layout directory back as archive members, for the tarball.
func layoutMembers(dir string) ([]member, error) {
	var members []member
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		members = append(members, member{name: filepath.ToSlash(rel), mode: 0o644, data: data})
		return nil
	})
	return members, err
}

// plainImage is an image whose descriptor in the index has no artifactType: the field is
// for artifacts, and image builders leave it out for images, but go-containerregistry
// would fill it in with the config's media type.
type plainImage struct{ v1.Image }

func (p plainImage) Descriptor() (*v1.Descriptor, error) {
	mt, err := p.MediaType()
	if err != nil {
		return nil, err
	}
	digest, err := p.Digest()
	if err != nil {
		return nil, err
	}
	size, err := p.Size()
	if err != nil {
		return nil, err
	}
	return &v1.Descriptor{MediaType: mt, Digest: digest, Size: size}, nil
}
