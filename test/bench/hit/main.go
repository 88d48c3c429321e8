// Command hit is the least a warm invocation can be with the token cache package: read
// the kubelet's request on stdin, take the registry host from the image, read the
// cache entry, and write the response. Nothing else is linked (no SDK, no kubelet API
// types), so it is the lower bound a plugin's cache hit can reach, measured next to
// the floor (test/bench/floor) and the real plugin by test/bench/warm.sh.
//
//	hit -dir DIR -prime    store a fake token for the request's registry
//	hit -dir DIR           answer from the cache; exit 1 on a miss
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/cache"
	"github.com/imagecred/image-credential-provider/providers"
)

type request struct {
	APIVersion string `json:"apiVersion"`
	Image      string `json:"image"`
}

type response struct {
	Kind          string                          `json:"kind"`
	APIVersion    string                          `json:"apiVersion"`
	CacheKeyType  string                          `json:"cacheKeyType"`
	CacheDuration string                          `json:"cacheDuration"`
	Auth          map[string]providers.AuthConfig `json:"auth"`
}

func main() {
	dir := flag.String("dir", "", "token cache directory")
	prime := flag.Bool("prime", false, "store a fake token instead of answering")
	flag.Parse()
	if err := run(*dir, *prime); err != nil {
		fmt.Fprintln(os.Stderr, "hit:", err)
		os.Exit(1)
	}
}

func run(dir string, prime bool) error {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var req request
	if err := json.Unmarshal(in, &req); err != nil {
		return err
	}
	host, _, _ := strings.Cut(req.Image, "/")
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		return err
	}
	key := providers.CacheKey{Backend: "bench", Identity: "bench", Scope: providers.RegistryPluginCacheKeyType, Registry: host}
	res, err := s.Fetch(context.Background(), key, func(context.Context) (*providers.Result, error) {
		if !prime {
			return nil, errors.New("cache miss")
		}
		return &providers.Result{
			Auth:         map[string]providers.AuthConfig{host: {Username: "bench", Password: strings.Repeat("t", 2048)}},
			CacheKeyType: providers.RegistryPluginCacheKeyType,
			Expiry:       time.Now().Add(time.Hour),
		}, nil
	})
	if err != nil || prime {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(response{
		Kind: "CredentialProviderResponse", APIVersion: req.APIVersion,
		CacheKeyType: string(res.CacheKeyType), CacheDuration: res.CacheDuration.Truncate(time.Second).String(),
		Auth: res.Auth,
	})
}
