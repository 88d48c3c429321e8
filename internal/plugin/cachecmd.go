package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/cache"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/providers"
)

// cacheOptions route the cache's warnings to klog (stderr).
var cacheOptions = cache.Options{Warnf: klog.Warningf, Debugf: klog.V(loglevel.Decision).Infof}

// lazyCache opens the token cache on first use (a token fetch, or recording the
// answer), once per invocation, so that an unusable directory costs one warning.
type lazyCache struct {
	cfg   *config.Config
	once  sync.Once
	store *cache.Store
}

// get returns the store, or nil when the cache is disabled or unusable.
func (l *lazyCache) get() *cache.Store {
	l.once.Do(func() { l.store = openCache(l.cfg) })
	return l.store
}

// Fetch implements providers.TokenCache, and says at loglevel.Decision what the cache
// did: a hit, a miss (fetched, then stored or not), or old credentials served because
// fetching failed.
func (l *lazyCache) Fetch(ctx context.Context, key providers.CacheKey, fetch func(context.Context) (*providers.Result, error)) (*providers.Result, error) {
	s := l.get()
	if s == nil {
		klog.V(loglevel.Decision).InfoS("Token cache not used: unusable", "backend", key.Backend, "registry", key.Registry)
		return fetch(ctx)
	}
	var called atomic.Bool
	var fetchErr error
	res, err := s.Fetch(ctx, key, func(ctx context.Context) (*providers.Result, error) {
		called.Store(true)
		r, err := fetch(ctx)
		fetchErr = err
		return r, err
	})
	if klog.V(loglevel.Decision).Enabled() {
		kv := []any{"backend", key.Backend, "registry", key.Registry}
		switch {
		case !called.Load() && err == nil:
			klog.V(loglevel.Decision).InfoS("Token cache hit", append(kv, "freshFor", res.CacheDuration.Truncate(time.Second).String())...)
		case !called.Load():
			klog.V(loglevel.Decision).InfoS("Token cache: another invocation's fetch failed just now; not asking again", kv...)
		case fetchErr != nil && err == nil:
			klog.V(loglevel.Decision).InfoS("Token cache: fetching failed; old credentials served", kv...)
		case err != nil:
			klog.V(loglevel.Decision).InfoS("Token cache miss: fetching failed", kv...)
		case res.Expiry.IsZero():
			klog.V(loglevel.Decision).InfoS("Token cache miss: fetched; not stored (no expiry)", kv...)
		default:
			klog.V(loglevel.Decision).InfoS("Token cache miss: fetched and stored", append(kv, "expires", res.Expiry.UTC().Format(time.RFC3339))...)
		}
	}
	return res, err
}

// openCache opens the token cache for a pull. A directory that cannot be used (unsafe,
// or not creatable) never fails the pull: it costs a one-line warning and the pull runs
// without a cache. It returns nil when the cache is disabled or unusable.
func openCache(cfg *config.Config) *cache.Store {
	if cfg.Cache.Disabled {
		return nil
	}
	dir, err := cfg.CacheDir()
	if err == nil {
		var s *cache.Store
		if s, err = cache.Open(dir, cacheOptions); err == nil {
			return s
		}
	}
	if errors.Is(err, cache.ErrUnsafeDir) {
		klog.Warningf("Running without the token cache: %v; fix the directory or set --cache-dir", err)
	} else {
		klog.Warningf("Running without the token cache: %v", err)
	}
	return nil
}

// cacheCmd runs `cache list` and `cache purge`.
func cacheCmd(opts *options, verb string, stdout io.Writer) error {
	if verb != "list" && verb != "purge" {
		return fmt.Errorf("unknown cache command %q: want list or purge", verb)
	}
	dir, err := opts.cfg.CacheDir()
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "token cache %s is empty (it does not exist yet)\n", dir)
		return nil
	}
	s, err := cache.Open(dir, cacheOptions)
	if err != nil {
		return err
	}
	if verb == "purge" {
		if err := s.Purge(); err != nil {
			return fmt.Errorf("purging the token cache %s: %w", dir, err)
		}
		fmt.Fprintf(stdout, "token cache %s emptied\n", dir)
		return nil
	}
	infos, err := s.List()
	if err != nil {
		return fmt.Errorf("listing the token cache %s: %w", dir, err)
	}
	if len(infos) == 0 {
		fmt.Fprintf(stdout, "token cache %s is empty\n", dir)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tBACKEND\tREGISTRY\tREPO\tSERVICE ACCOUNT\tEXPIRES\tSTATE")
	for _, in := range infos {
		exp := "-"
		if !in.Expiry.IsZero() {
			exp = in.Expiry.Local().Format(time.RFC3339)
			if left := in.Expiry.Sub(now); left > 0 {
				exp += " (in " + left.Truncate(time.Second).String() + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.Hash[:12], dash(in.Backend), dash(in.Registry), dash(in.Repo), dash(in.ServiceAccount), exp, in.State)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d entr%s in %s\n", len(infos), map[bool]string{true: "y", false: "ies"}[len(infos) == 1], dir)
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
