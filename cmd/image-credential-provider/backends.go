package main

import (
	"fmt"
	"strings"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/acrtoken"
	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/ecr/ecrtoken"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/gcr/gcrtoken"
	"github.com/imagecred/image-credential-provider/providers"
)

// backend is one entry of the table of everything this binary can serve.
type backend struct {
	name  string
	build func(cfg *Config) (providers.Provider, error)
}

// allBackends, in their default order of precedence.
var allBackends = []backend{
	{name: "static", build: func(cfg *Config) (providers.Provider, error) { return dockercfg.New(cfg.Static) }},
	{name: ecr.Name, build: func(cfg *Config) (providers.Provider, error) { return ecrtoken.New(cfg.ECR) }},
	{name: gcr.Name, build: func(cfg *Config) (providers.Provider, error) { return gcrtoken.New(cfg.GCR) }},
	{name: acr.Name, build: func(cfg *Config) (providers.Provider, error) { return acrtoken.New(cfg.ACR) }},
}

func backendNames() []string {
	var names []string
	for _, b := range allBackends {
		names = append(names, b.name)
	}
	return names
}

// buildProviders builds the enabled backends in order of precedence.
func buildProviders(cfg *Config) ([]providers.Provider, error) {
	names := cfg.Backends
	if len(names) == 0 {
		names = backendNames()
	}
	seen := map[string]bool{}
	var ps []providers.Provider
	for _, name := range names {
		var b *backend
		for i := range allBackends {
			if allBackends[i].name == name {
				b = &allBackends[i]
			}
		}
		if b == nil {
			return nil, fmt.Errorf("unknown backend %q: want some of %s", name, strings.Join(backendNames(), ","))
		}
		if seen[name] {
			return nil, fmt.Errorf("backend %q listed twice", name)
		}
		seen[name] = true
		p, err := b.build(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func newDispatcher(cfg *Config) (*providers.Dispatcher, error) {
	ps, err := buildProviders(cfg)
	if err != nil {
		return nil, err
	}
	d := &providers.Dispatcher{Providers: ps, Warnf: klog.Warningf, Debugf: klog.V(2).Infof}
	if !cfg.Cache.Disabled {
		d.Cache = cfg.cache()
	}
	return d, nil
}
