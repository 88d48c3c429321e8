package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/providers"
)

// backendNames lists every backend in the default order of precedence.
var backendNames = config.BackendNames

// enabledBackends is the configured list of backends, checked, or every backend.
func enabledBackends(cfg *config.Config) ([]string, error) {
	names := cfg.Backends
	if len(names) == 0 {
		return backendNames[:], nil
	}
	seen := map[string]bool{}
	for _, name := range names {
		known := false
		for _, b := range backendNames {
			known = known || b == name
		}
		if !known {
			return nil, fmt.Errorf("unknown backend %q: want some of %s", name, strings.Join(backendNames[:], ","))
		}
		if seen[name] {
			return nil, fmt.Errorf("backend %q listed twice", name)
		}
		seen[name] = true
	}
	return names, nil
}

// hostsOf builds the light view of backend name: which hosts it serves under cfg,
// without its SDK. The static backend is light as a whole: its view is the backend.
func hostsOf(name string, cfg *config.Config) (providers.Hosts, error) {
	switch name {
	case dockercfg.Name:
		return dockercfg.New(cfg.Static)
	case ecr.Name:
		return ecr.NewHosts(cfg.ECR)
	case gcr.Name:
		return gcr.NewHosts(cfg.GCR)
	case acr.Name:
		return acr.NewHosts(cfg.ACR)
	}
	return nil, fmt.Errorf("unknown backend %q", name)
}

// plan is what one request needs: the enabled backends, in order, with the light view
// of each, and which of them serve the image.
type plan struct {
	names   []string
	hosts   []providers.Hosts
	serving []bool
}

// newPlan works out which enabled backends serve img.
func newPlan(cfg *config.Config, img providers.Image) (*plan, error) {
	names, err := enabledBackends(cfg)
	if err != nil {
		return nil, err
	}
	p := &plan{names: names}
	for _, name := range names {
		h, err := hostsOf(name, cfg)
		if err != nil {
			return nil, prefixed(name, err)
		}
		p.hosts = append(p.hosts, h)
		p.serving = append(p.serving, h.Serves(img))
	}
	return p, nil
}

// missing lists the serving backends b does not link.
func (b Binary) missing(p *plan) []string {
	var out []string
	for i, name := range p.names {
		if p.serving[i] && !b.links(name) {
			out = append(out, name)
		}
	}
	return out
}

func (b Binary) links(name string) bool {
	if name == dockercfg.Name {
		return true
	}
	_, ok := b.Backends[name]
	return ok
}

// providers builds the backends of p: the serving ones for real, the others as idle
// stand-ins that serve nothing, so that the dispatcher still knows how many backends
// are enabled (which decides whether an answer may be Global).
func (b Binary) providers(cfg *config.Config, p *plan) ([]providers.Provider, error) {
	out := make([]providers.Provider, 0, len(p.names))
	for i, name := range p.names {
		switch {
		case !p.serving[i]:
			out = append(out, idle(name))
		case name == dockercfg.Name:
			out = append(out, p.hosts[i].(providers.Provider))
		default:
			prov, err := b.Backends[name](cfg)
			if err != nil {
				return nil, prefixed(name, err)
			}
			out = append(out, prov)
		}
	}
	return out, nil
}

// prefixed puts the backend's name in front of err unless it is already there.
func prefixed(name string, err error) error {
	if strings.HasPrefix(err.Error(), name+":") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// idle is an enabled backend that does not serve the image at hand.
type idle string

func (i idle) Name() string                { return string(i) }
func (i idle) Serves(providers.Image) bool { return false }
func (i idle) MatchImages() []string       { return nil }
func (i idle) Credentials(context.Context, providers.Request) (*providers.Result, error) {
	return nil, fmt.Errorf("%s: backend not built: it does not serve this image", string(i))
}
