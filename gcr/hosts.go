package gcr

import (
	"github.com/imagecred/image-credential-provider/gcr/gcrhost"
	"github.com/imagecred/image-credential-provider/providers"
)

// IsRegistryHost reports whether host is a Google container registry that accepts
// Google access tokens (see gcrhost.IsRegistryHost).
func IsRegistryHost(host string) bool { return gcrhost.IsRegistryHost(host) }

// Hosts is the set of image hosts the Google backend serves: the Google registries
// (IsRegistryHost), and every host when the configuration lets the docker config
// sources answer for any registry (Config.DockerConfigAnyHost with a dockercfg source,
// as auth-provider-gcp's dockercfg flows do). It implements providers.Hosts; the token
// backend (package gcrtoken) answers for exactly these hosts.
type Hosts struct {
	anyHost bool
}

var _ providers.Hosts = (*Hosts)(nil)

// NewHosts validates cfg (see Config.Validated) and returns the hosts it serves. No I/O.
func NewHosts(cfg Config) (*Hosts, error) {
	c, err := cfg.Validated()
	if err != nil {
		return nil, err
	}
	return &Hosts{anyHost: c.DockerConfigAnyHost && hasDockerConfigSource(c.Sources)}, nil
}

func hasDockerConfigSource(sources []string) bool {
	for _, s := range sources {
		if s == SourceDockerCfg || s == SourceDockerCfgURL {
			return true
		}
	}
	return false
}

// Serves reports whether img is on a Google registry host, or on any host when the
// docker config sources may answer for any registry.
func (h *Hosts) Serves(img providers.Image) bool {
	return h.anyHost || IsRegistryHost(img.Host)
}

// ServesAnyHost reports whether every host is served (see providers.AnyHost): the
// docker config in the instance metadata, read at run time, decides which registries
// get credentials, so only the kubelet configuration can narrow them.
func (h *Hosts) ServesAnyHost() bool { return h.anyHost }

// MatchImages implements providers.Hosts: the Google registry forms, then the same
// with ":443".
func (h *Hosts) MatchImages() []string {
	out := make([]string, 0, 2*len(gcrhost.Forms))
	out = append(out, gcrhost.Forms[:]...)
	for _, f := range gcrhost.Forms {
		out = append(out, f+":"+gcrhost.HTTPSPort)
	}
	return out
}
