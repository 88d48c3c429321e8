package ecr

import (
	"sort"
	"strings"

	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/providers"
)

// Hosts is the set of registry hosts the ECR backend serves: every ECR and ECR Public
// host (package ecrhost), and the custom hosts of Config.Registries. It implements
// providers.Hosts; the token backend (package ecrtoken) answers for exactly these hosts.
type Hosts struct {
	// mappings are Config.Registries by lower-case host[:port].
	mappings map[string]ecrhost.Registry
}

var _ providers.Hosts = (*Hosts)(nil)

// NewHosts validates cfg (see Config.Validate) and returns the hosts it serves. No I/O.
func NewHosts(cfg Config) (*Hosts, error) {
	m, err := cfg.mappings()
	if err != nil {
		return nil, err
	}
	return &Hosts{mappings: m}, nil
}

// Serves reports whether img is on an ECR or ECR Public registry host, or on a host
// mapped in Config.Registries (letters compared case-insensitively, the port as it is).
func (h *Hosts) Serves(img providers.Image) bool {
	_, ok := h.Registry(img.Host)
	return ok
}

// Registry says which ECR registry host (as an image names it) stands for: its
// mapping in Config.Registries, else what the ECR host name says.
func (h *Hosts) Registry(host string) (ecrhost.Registry, bool) {
	if r, ok := h.mappings[strings.ToLower(host)]; ok {
		return r, true
	}
	return ecrhost.Parse(host)
}

// MatchImages implements providers.Hosts: ecrhost.MatchImages (every ECR host family of
// every partition) followed by each custom host of Config.Registries as it is mapped
// (lower case, with its port), sorted.
func (h *Hosts) MatchImages() []string {
	out := ecrhost.MatchImages()
	custom := make([]string, 0, len(h.mappings))
	for host := range h.mappings {
		custom = append(custom, host)
	}
	sort.Strings(custom)
	return append(out, custom...)
}
