package gcr

import (
	"strings"

	"github.com/imagecred/image-credential-provider/providers"
)

// registryForms are the Google registry host names, label by label, "*" standing for
// any one DNS label as in the kubelet's matcher:
//
//	gcr.io, *.gcr.io              Container Registry (us.gcr.io, eu.gcr.io, …)
//	container.cloud.google.com
//	*.pkg.dev                     Artifact Registry (us-docker.pkg.dev, …)
//	docker.*.rep.pkg.dev          Artifact Registry regional endpoints
//
// IsRegistryHost accepts exactly these and Hosts.MatchImages lists exactly these.
var registryForms = [...]string{
	"gcr.io",
	"*.gcr.io",
	"container.cloud.google.com",
	"*.pkg.dev",
	"docker.*.rep.pkg.dev",
}

// httpsPort is the one port a Google registry host may name: the same HTTPS endpoint
// spelled out.
const httpsPort = "443"

// IsRegistryHost reports whether host (as in an image reference: lower or mixed case,
// optionally with a port) is a Google container registry that accepts Google access
// tokens: one of registryForms, each label a DNS label. Ports: no port, or ":443" (the
// same HTTPS endpoint spelled out), is a Google registry; any other port is not,
// because nothing Google serves listens there and a token sent there would go to
// whoever does. Every other host, Docker Hub included, never gets a Google token.
func IsRegistryHost(host string) bool {
	name, port, hasPort := strings.Cut(host, ":")
	if hasPort && port != httpsPort {
		return false
	}
	labels := strings.Split(strings.ToLower(name), ".")
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	for _, form := range registryForms {
		if formMatches(form, labels) {
			return true
		}
	}
	return false
}

// formMatches reports whether labels are those of form, "*" matching any label.
func formMatches(form string, labels []string) bool {
	if strings.Count(form, ".")+1 != len(labels) {
		return false
	}
	for i, f := range strings.Split(form, ".") {
		if f != "*" && f != labels[i] {
			return false
		}
	}
	return true
}

// validLabel reports whether l is a DNS label: 1-63 letters, digits and hyphens, not
// starting or ending with a hyphen.
func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

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
	out := make([]string, 0, 2*len(registryForms))
	out = append(out, registryForms[:]...)
	for _, f := range registryForms {
		out = append(out, f+":"+httpsPort)
	}
	return out
}
