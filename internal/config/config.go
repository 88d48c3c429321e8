// Package config is the plugin's configuration: the YAML file named by --config
// (apiVersion imagecred.dev/v1alpha1, kind ImageCredentialProviderConfig), decoded
// strictly, with command-line flags applied on top. It names every backend's section
// but links no backend's SDK: every binary of the product reads the same file.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/cache"
	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/answer"
	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/internal/quote"
	"github.com/imagecred/image-credential-provider/internal/strictyaml"
)

// The config file's apiVersion and kind.
const (
	APIVersion = "imagecred.dev/v1alpha1"
	Kind       = "ImageCredentialProviderConfig"
)

// DefaultTimeout bounds one whole invocation, well under the kubelet's 60 s.
const DefaultTimeout = 30 * time.Second

// Config is the plugin's whole configuration.
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Backends lists the enabled backends in order of precedence (when two give
	// credentials for the same key, the earlier wins). Default: every backend.
	Backends []string `json:"backends,omitempty"`
	// Timeout bounds one whole invocation; default 30s, well under the kubelet's 60s.
	Timeout *duration.Duration `json:"timeout,omitempty"`
	Cache   Cache              `json:"cache,omitempty"`

	Static dockercfg.Config `json:"static,omitempty"`
	ECR    ecr.Config       `json:"ecr,omitempty"`
	GCR    gcr.Config       `json:"gcr,omitempty"`
	ACR    acr.Config       `json:"acr,omitempty"`

	// Path is the file the configuration was read from; empty when there is none.
	Path string `json:"-"`
}

// Cache configures the on-disk token cache.
type Cache struct {
	// Dir holds the cache; default cache.DefaultDir(): $XDG_CACHE_HOME/image-credential-provider
	// when XDG_CACHE_HOME is set, else /var/lib/image-credential-provider/cache for root,
	// the user cache dir otherwise (on Windows: under %ProgramData% for SYSTEM, else
	// %LOCALAPPDATA%).
	Dir string `json:"dir,omitempty"`
	// Disabled turns the on-disk cache off.
	Disabled bool `json:"disabled,omitempty"`
}

// TimeoutOrDefault is the bound on one invocation.
func (c *Config) TimeoutOrDefault() time.Duration {
	if c.Timeout == nil || c.Timeout.Duration <= 0 {
		return DefaultTimeout
	}
	return c.Timeout.Duration
}

// CacheDir is the configured token cache directory, or the default one.
func (c *Config) CacheDir() (string, error) {
	if c.Cache.Dir != "" {
		return c.Cache.Dir, nil
	}
	return cache.DefaultDir()
}

// Load reads and strictly decodes the config file at path. Every error about the
// file's content is one line, "path:line:column: field: what is wrong, what is
// allowed".
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	var c Config
	pos, err := strictyaml.Decode(data, &c, strictyaml.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	if err := c.check(pos); err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	c.Path = path
	return &c, nil
}

// BackendNames lists every backend in the default order of precedence.
var BackendNames = [...]string{dockercfg.Name, ecr.Name, gcr.Name, acr.Name}

// check refuses what the file's fields cannot hold, at their positions.
func (c *Config) check(pos strictyaml.Positions) error {
	if c.APIVersion != APIVersion {
		return pos.Errorf("apiVersion", "%s: want %s", describe(c.APIVersion), APIVersion)
	}
	if c.Kind != Kind {
		return pos.Errorf("kind", "%s: want %s", describe(c.Kind), Kind)
	}
	seen := map[string]bool{}
	for i, name := range c.Backends {
		at := fmt.Sprintf("backends[%d]", i)
		if !slices.Contains(BackendNames[:], name) {
			return pos.Errorf(at, "unknown backend %s: want some of %s", quote.String(name), strings.Join(BackendNames[:], ", "))
		}
		if seen[name] {
			return pos.Errorf(at, "backend %s listed twice", name)
		}
		seen[name] = true
	}
	return nil
}

// describe is a value as an error shows it: quoted, or "missing".
func describe(s string) string {
	if s == "" {
		return "missing"
	}
	return quote.String(s)
}

// FromArgs loads the file named by --config in args, if any (before the other flags
// are parsed, so that they override it); the zero Config when there is none.
func FromArgs(args []string) (*Config, error) {
	path, ok := answer.ConfigPath(args)
	if !ok {
		return nil, errors.New("flag needs an argument: --config")
	}
	if path == "" {
		return &Config{}, nil
	}
	return Load(path)
}

// AddFlags binds the common settings to fs; flags given on the command line override
// the config file because the file is loaded into c before the flags are parsed.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.Func("backends", "comma-separated backends to enable, in order of precedence (default: static,ecr,gcr,acr)", func(s string) error {
		c.Backends = nil
		for _, b := range strings.Split(s, ",") {
			if b = strings.TrimSpace(b); b != "" {
				c.Backends = append(c.Backends, b)
			}
		}
		return nil
	})
	fs.Func("timeout", "bound on one whole invocation (default 30s)", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		c.Timeout = duration.Ptr(d)
		return nil
	})
	fs.StringVar(&c.Cache.Dir, "cache-dir", c.Cache.Dir, "token cache directory (default: $XDG_CACHE_HOME/image-credential-provider when XDG_CACHE_HOME is set, else "+defaultCacheDirs()+")")
	fs.BoolVar(&c.Cache.Disabled, "no-cache", c.Cache.Disabled, "do not keep tokens on disk between invocations")
	c.Static.AddFlags(fs)
	c.ECR.AddFlags(fs)
	c.GCR.AddFlags(fs)
	c.ACR.AddFlags(fs)
}

// defaultCacheDirs says where cache.DefaultDir puts the cache on this platform when
// XDG_CACHE_HOME is not set.
func defaultCacheDirs() string {
	if runtime.GOOS == "windows" {
		return `%ProgramData%\image-credential-provider\cache for SYSTEM (the kubelet's service), else %LOCALAPPDATA%\image-credential-provider`
	}
	return "/var/lib/image-credential-provider/cache as root, else ~/.cache/image-credential-provider"
}

// InputFiles lists every local file that answers under c may depend on, present or
// not: the config file itself and each enabled backend's files. getenv reads the
// environment; home and cwd are the user's home and the working directory.
func (c *Config) InputFiles(enabled []string, getenv func(string) string, home, cwd string) []string {
	var files []string
	if c.Path != "" {
		files = append(files, c.Path)
	}
	for _, b := range enabled {
		switch b {
		case dockercfg.Name:
			files = append(files, c.Static.InputFiles(home, cwd)...)
		case ecr.Name:
			files = append(files, c.ECR.InputFiles(getenv, home)...)
		case gcr.Name:
			files = append(files, c.GCR.InputFiles(getenv)...)
		case acr.Name:
			files = append(files, c.ACR.InputFiles(getenv)...)
		}
	}
	return files
}
