// Command cachetestprog is one "invocation" for the cache package's multi-process
// tests: it opens the token cache in -dir, waits at -url/gate until the test releases
// every process at once, and runs one Fetch of a fixed key whose upstream call is an
// HTTP GET of -url/token. It prints the password it got on stdout and exits 0, or
// prints the error on stdout and exits 3.
//
// The /token answer is "<password> <lifetime in seconds>" as plain text; any status
// other than 200 is an upstream failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/cache"
	"github.com/imagecred/image-credential-provider/providers"
)

func main() {
	dir := flag.String("dir", "", "cache directory")
	url := flag.String("url", "", "base URL of the test's loopback server")
	flag.Parse()
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	s, err := cache.Open(*dir, cache.Options{})
	if err != nil {
		fail(err)
	}
	if _, err := get(ctx, client, *url+"/gate"); err != nil {
		fail(err)
	}
	key := providers.CacheKey{Backend: "fake", Identity: "test", Scope: providers.RegistryPluginCacheKeyType, Registry: "reg.example"}
	res, err := s.Fetch(ctx, key, func(ctx context.Context) (*providers.Result, error) {
		body, err := get(ctx, client, *url+"/token")
		if err != nil {
			return nil, fmt.Errorf("fake: registry reg.example: %w", err)
		}
		pass, secs, ok := strings.Cut(strings.TrimSpace(body), " ")
		n, err := strconv.Atoi(secs)
		if !ok || err != nil {
			return nil, errors.New("fake: registry reg.example: bad token answer")
		}
		return &providers.Result{
			Auth:         map[string]providers.AuthConfig{"reg.example": {Username: "u", Password: pass}},
			CacheKeyType: providers.RegistryPluginCacheKeyType,
			Expiry:       time.Now().Add(time.Duration(n) * time.Second),
		}, nil
	})
	if err != nil {
		fail(err)
	}
	fmt.Println(res.Auth["reg.example"].Password)
}

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("upstream status %d", resp.StatusCode)
	}
	return string(b), nil
}

func fail(err error) {
	fmt.Println("error:", err)
	os.Exit(3)
}
