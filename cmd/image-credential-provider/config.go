package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/answer"
	"github.com/imagecred/image-credential-provider/internal/duration"
)

// The config file's apiVersion and kind.
const (
	ConfigAPIVersion = "imagecred.dev/v1alpha1"
	ConfigKind       = "ImageCredentialProviderConfig"
)

// Config is the plugin's whole configuration: the YAML file named by --config, with
// command-line flags applied on top.
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Backends lists the enabled backends in order of precedence (when two give
	// credentials for the same key, the earlier wins). Default: every backend.
	Backends []string `json:"backends,omitempty"`
	// Timeout bounds one whole invocation; default 30s, well under the kubelet's 60s.
	Timeout *duration.Duration `json:"timeout,omitempty"`
	Cache   CacheConfig        `json:"cache,omitempty"`

	Static dockercfg.Config `json:"static,omitempty"`
	ECR    ecr.Config       `json:"ecr,omitempty"`
	GCR    gcr.Config       `json:"gcr,omitempty"`
	ACR    acr.Config       `json:"acr,omitempty"`

	tokenCache *lazyCache // opened on first use, once per invocation
}

// CacheConfig configures the on-disk token cache.
type CacheConfig struct {
	// Dir holds the cache; default cache.DefaultDir(): $XDG_CACHE_HOME/image-credential-provider
	// when XDG_CACHE_HOME is set, else /var/lib/image-credential-provider/cache for root,
	// the user cache dir otherwise.
	Dir string `json:"dir,omitempty"`
	// Disabled turns the on-disk cache off.
	Disabled bool `json:"disabled,omitempty"`
}

const defaultTimeout = 30 * time.Second

func (c *Config) timeout() time.Duration {
	if c.Timeout == nil || c.Timeout.Duration <= 0 {
		return defaultTimeout
	}
	return c.Timeout.Duration
}

// loadConfig reads and strictly decodes a config file.
func loadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("config file %s: %s", path, strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: "))
	}
	if c.APIVersion != ConfigAPIVersion || c.Kind != ConfigKind {
		return nil, fmt.Errorf("config file %s: apiVersion %q and kind %q: want apiVersion %q and kind %q", path, c.APIVersion, c.Kind, ConfigAPIVersion, ConfigKind)
	}
	return &c, nil
}

// addFlags binds the common settings to fs; flags given on the command line override
// the config file because the file is loaded into c before the flags are parsed.
func (c *Config) addFlags(fs *flag.FlagSet) {
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
	fs.StringVar(&c.Cache.Dir, "cache-dir", c.Cache.Dir, "token cache directory (default: $XDG_CACHE_HOME/image-credential-provider when XDG_CACHE_HOME is set, else /var/lib/image-credential-provider/cache as root, else ~/.cache/image-credential-provider)")
	fs.BoolVar(&c.Cache.Disabled, "no-cache", c.Cache.Disabled, "do not keep tokens on disk between invocations")
	c.Static.AddFlags(fs)
	c.ECR.AddFlags(fs)
	c.GCR.AddFlags(fs)
	c.ACR.AddFlags(fs)
}

// configPath finds --config in args before the flags are parsed, so that the file can
// be loaded first and the other flags override it.
func configPath(args []string) (string, error) {
	path, ok := answer.ConfigPath(args)
	if !ok {
		return "", fmt.Errorf("flag needs an argument: --config")
	}
	return path, nil
}

// cache is the invocation's token cache, opened on first use.
func (c *Config) cache() *lazyCache {
	if c.tokenCache == nil {
		c.tokenCache = &lazyCache{cfg: c}
	}
	return c.tokenCache
}
