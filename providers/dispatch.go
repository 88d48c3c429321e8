package providers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultNoMatchCacheDuration is how long the kubelet may keep the empty answer given
// for an image that no backend serves.
const DefaultNoMatchCacheDuration = 5 * time.Minute

// Dispatcher asks every backend that serves an image and merges their answers.
type Dispatcher struct {
	// Providers in order of precedence: when two contribute the same auth key, the
	// earlier one's credentials are kept.
	Providers []Provider
	// Cache keeps Cacheable backends' credentials between invocations; nil for none.
	Cache TokenCache
	// NoMatchCacheDuration is the cacheDuration of the empty answer; zero means
	// DefaultNoMatchCacheDuration.
	NoMatchCacheDuration time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Warnf and Debugf log (klog's Warningf and V(2).Infof in the binary); nil
	// discards. They are functions rather than klog calls so that this package stays
	// free of logging machinery for the lean front end's hot path.
	Warnf, Debugf func(format string, args ...any)
}

func (d *Dispatcher) warnf(format string, args ...any) {
	if d.Warnf != nil {
		d.Warnf(format, args...)
	}
}

func (d *Dispatcher) debugf(format string, args ...any) {
	if d.Debugf != nil {
		d.Debugf(format, args...)
	}
}

// Contribution is one backend's part of an answer.
type Contribution struct {
	Backend string
	Result  *Result // nil when Err is set
	Err     error
	// Identity is who answered (or was to answer), for a backend that says
	// (Identifier); zero otherwise.
	Identity Identity
	// CacheDuration is how long the kubelet may keep this contribution.
	CacheDuration time.Duration
}

// Answer is the merged response for one request.
type Answer struct {
	Auth          map[string]AuthConfig
	CacheKeyType  CacheKeyType
	CacheDuration time.Duration
	// Contributions lists every backend that serves the image, in Providers order.
	Contributions []Contribution
	// Problems are the contributors' Result.Problems, in Providers order. An answer
	// with problems has cacheDuration 0.
	Problems []string
}

// Resolve asks every provider that serves req.Image, concurrently, and merges what they
// return:
//   - the auth maps are merged (earlier providers win a key both contribute);
//   - cacheKeyType is the narrowest of the contributors', and never Global when more
//     than one backend is enabled: the kubelet would reuse a Global answer for every
//     image of this plugin, so one backend's credentials would hide the others';
//   - cacheDuration is the shortest, and never past any token's safety margin;
//   - a backend that answered with Result.Problems (parts of its configuration it
//     could not use) gets cacheDuration 0, and each problem is a warning on stderr.
//
// When some backends fail and others succeed, the successes are returned with
// cacheDuration 0 (the kubelet keeps nothing and asks again on the next pull, which
// the on-disk cache makes cheap) and a warning on stderr: a failing backend is never
// hidden for long behind another's success. When every serving backend fails, Resolve
// returns an error naming each. When none serves the image, the answer is empty.
func (d *Dispatcher) Resolve(ctx context.Context, req Request) (*Answer, error) {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	var serving []Provider
	for _, p := range d.Providers {
		if p.Serves(req.Image) {
			serving = append(serving, p)
		}
	}
	if len(serving) == 0 {
		dur := d.NoMatchCacheDuration
		if dur == 0 {
			dur = DefaultNoMatchCacheDuration
		}
		d.debugf("No backend serves registry %s", req.Image.Host)
		return &Answer{Auth: map[string]AuthConfig{}, CacheKeyType: RegistryPluginCacheKeyType, CacheDuration: dur}, nil
	}

	contribs := make([]Contribution, len(serving))
	var wg sync.WaitGroup
	for i, p := range serving {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := d.credentials(ctx, p, req)
			contribs[i] = Contribution{Backend: p.Name(), Result: res, Err: err}
			if idp, ok := p.(Identifier); ok {
				contribs[i].Identity = idp.Identity(req)
			}
			if err == nil {
				contribs[i].CacheDuration = cacheDuration(now(), res)
				if len(res.Problems) > 0 {
					contribs[i].CacheDuration = 0
				}
			}
		}()
	}
	wg.Wait()

	ans := &Answer{Auth: map[string]AuthConfig{}, Contributions: contribs}
	var errs []string
	first := true
	for _, c := range contribs {
		if c.Identity.Who != "" {
			d.debugf("%s: registry %s: identity: %s", c.Backend, req.Image.Host, c.Identity.Who)
		}
		if c.Err != nil {
			d.debugf("%s: registry %s: failed", c.Backend, req.Image.Host)
			errs = append(errs, c.Err.Error())
			continue
		}
		d.debugf("%s: registry %s: %d key(s), cacheKeyType %s, fresh for %s", c.Backend, req.Image.Host, len(c.Result.Auth), c.Result.CacheKeyType, c.CacheDuration)
		keys := make([]string, 0, len(c.Result.Auth))
		for k := range c.Result.Auth {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, taken := ans.Auth[k]; taken {
				d.debugf("%s: auth key %s already given by an earlier backend; keeping the earlier credentials", c.Backend, k)
				continue
			}
			ans.Auth[k] = c.Result.Auth[k]
		}
		kt := c.Result.CacheKeyType
		if kt == "" {
			kt = RegistryPluginCacheKeyType
		}
		if first || kt.Narrower(ans.CacheKeyType) {
			ans.CacheKeyType = kt
		}
		if first || c.CacheDuration < ans.CacheDuration {
			ans.CacheDuration = c.CacheDuration
		}
		ans.Problems = append(ans.Problems, c.Result.Problems...)
		first = false
	}
	if first { // every serving backend failed
		return nil, errors.New(strings.Join(errs, "; "))
	}
	if ans.CacheKeyType == GlobalPluginCacheKeyType && len(d.Providers) > 1 {
		ans.CacheKeyType = RegistryPluginCacheKeyType
	}
	for _, p := range ans.Problems {
		d.warnf("%s; the kubelet will ask again on the next pull", p)
	}
	if len(errs) > 0 {
		d.warnf("Answering with the backends that succeeded; the kubelet will ask again on the next pull: %s", strings.Join(errs, "; "))
		ans.CacheDuration = 0
	}
	return ans, nil
}

// credentials asks one provider, through the token cache when it has one.
func (d *Dispatcher) credentials(ctx context.Context, p Provider, req Request) (*Result, error) {
	fetch := func(ctx context.Context) (*Result, error) {
		res, err := p.Credentials(ctx, req)
		if err != nil {
			return nil, err
		}
		if res == nil {
			return nil, fmt.Errorf("%s: registry %s: backend returned no result", p.Name(), req.Image.Host)
		}
		return res, nil
	}
	c, ok := p.(Cacheable)
	if !ok || d.Cache == nil || (req.ServiceAccount != nil && !req.ServiceAccount.Identified()) {
		return fetch(ctx)
	}
	identity, scope := c.CacheIdentity(req)
	key := CacheKey{Backend: p.Name(), Identity: identity, Scope: scope}
	switch scope {
	case ImagePluginCacheKeyType:
		key.Registry, key.Repo = req.Image.Host, req.Image.Repository()
	case RegistryPluginCacheKeyType:
		key.Registry = req.Image.Host
	}
	if sa := req.ServiceAccount; sa != nil {
		key.SANamespace, key.SAName, key.SAUID = sa.Namespace, sa.Name, sa.UID
	}
	return d.Cache.Fetch(ctx, key, fetch)
}

// cacheDuration is how long the kubelet may keep res: its own CacheDuration when set,
// and never past its token's freshness.
func cacheDuration(now time.Time, res *Result) time.Duration {
	d := res.CacheDuration
	if !res.Expiry.IsZero() {
		fresh := FreshUntil(now, res.Expiry).Sub(now)
		if d <= 0 || fresh < d {
			d = fresh
		}
	}
	if d < 0 {
		d = 0
	}
	return d.Truncate(time.Second)
}
