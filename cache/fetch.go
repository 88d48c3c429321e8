package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imagecred/image-credential-provider/providers"
)

var _ providers.TokenCache = (*Store)(nil)

// Fetch implements providers.TokenCache.
//
// A fresh entry is returned with CacheDuration set to the time left until it stops
// being fresh. On a miss Fetch takes the key's lock (waiting at most Options.LockWait,
// and never more than three quarters of the time ctx has left), reads the entry again
// (another process may have just stored it), and otherwise calls fetch once and stores
// what it returns. Results without an Expiry are returned but not stored.
//
// Processes that waited on the lock while its holder's fetch failed get that failure
// (or their stale entry) instead of calling upstream again, one after the other: N
// concurrent misses make one upstream call whether it succeeds or not. A recorded
// failure is shared only with processes that were waiting when it was recorded; one
// dated in the future or before the wait never blocks an upstream call.
//
// When fetch fails and the entry is stale but not expired, that entry is returned with
// a warning and a CacheDuration of StaleCacheDuration, shortened so that the kubelet
// never keeps it into its last providers.MinSafetyMargin (0 within that last minute:
// used for the pull at hand, not kept).
func (s *Store) Fetch(ctx context.Context, key providers.CacheKey, fetch func(context.Context) (*providers.Result, error)) (*providers.Result, error) {
	key = relevant(key)
	name := KeyHash(key)
	e, _ := s.read(name)
	if now := s.opts.Now(); e != nil && e.state(now) == Fresh {
		return e.result(e.freshUntil().Sub(now)), nil
	}

	waitStart := time.Now() // wall clock: compared with other processes' records
	l, err := s.lock(ctx, name, s.lockDeadline(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: registry %s: waiting for the token cache: %w", key.Backend, registryOf(key), ctx.Err())
		}
		// Another process has held the lock too long, or the lock file cannot be
		// used: do not fail the pull for it.
		if e2, _ := s.read(name); e2 != nil {
			e = e2
		}
		now := s.opts.Now()
		if e != nil && e.state(now) == Fresh {
			return e.result(e.freshUntil().Sub(now)), nil
		}
		if e != nil && e.state(now) == Stale {
			return s.serveStale(key, e, now, err), nil
		}
		s.warnf("%s: registry %s: fetching without the token cache lock: %v", key.Backend, registryOf(key), err)
		return s.fetchAndStore(ctx, name, key, e, fetch, nil)
	}
	defer l.unlock()
	if e2, err := s.read(name); err == nil {
		e = e2
		if now := s.opts.Now(); e.state(now) == Fresh {
			return e.result(e.freshUntil().Sub(now)), nil
		}
	}
	if at, msg, ok := l.failure(); ok && madeWhileWaiting(at, waitStart, time.Now()) {
		// The holder we waited for failed just now: share its outcome.
		cause := errors.New(msg)
		if now := s.opts.Now(); e != nil && e.state(now) != Expired {
			return s.serveStale(key, e, now, cause), nil
		}
		s.debugf("%s: registry %s: a concurrent invocation's fetch failed while this one waited; not calling upstream again",
			key.Backend, registryOf(key))
		return nil, cause
	}
	return s.fetchAndStore(ctx, name, key, e, fetch, l)
}

// madeWhileWaiting reports whether a failure recorded at at was made by the holder this
// process waited for: after the wait began and not after now (both wall clock, as the
// record is). A record dated in the future (the clock was stepped back after the failed
// fetch) or from before the wait is ignored; the process calls upstream itself, which
// replaces the record. The wait is bounded (Options.LockWait), so a record older than
// the longest wait is never shared either.
func madeWhileWaiting(at, waitStart, now time.Time) bool {
	return !at.Before(waitStart) && !at.After(now)
}

// lockDeadline is how long a miss may wait for another process's fetch.
func (s *Store) lockDeadline(ctx context.Context) time.Time {
	now := time.Now()
	d := now.Add(s.opts.LockWait)
	if cd, ok := ctx.Deadline(); ok {
		if c := now.Add(cd.Sub(now) * 3 / 4); c.Before(d) {
			d = c
		}
	}
	return d
}

// fetchAndStore calls fetch, stores a result that expires, and falls back to old when
// fetch fails and old has not expired. l, when not nil, is the key's lock, held: a
// failure is recorded in it for the processes waiting on it.
func (s *Store) fetchAndStore(ctx context.Context, name string, key providers.CacheKey, old *entry, fetch func(context.Context) (*providers.Result, error), l *fileLock) (*providers.Result, error) {
	res, err := fetch(ctx)
	if l != nil {
		if err != nil {
			l.recordFailure(time.Now(), err)
		} else {
			l.clearFailure()
		}
	}
	now := s.opts.Now()
	if err != nil {
		if old != nil && old.state(now) != Expired {
			return s.serveStale(key, old, now, err), nil
		}
		return nil, err
	}
	if res == nil || res.Expiry.IsZero() || !res.Expiry.After(now) {
		return res, nil
	}
	e := newEntry(name, key, res, now)
	if err := s.write(e); err != nil {
		s.warnf("%s: registry %s: credentials not kept in the token cache: %v", key.Backend, registryOf(key), err)
		return res, nil
	}
	if err := s.maybeSweep(now, name); err != nil {
		s.debugf("Token cache sweep of %s failed: %v", s.dir, err)
	}
	return res, nil
}

// serveStale answers with a cached entry that is past its freshness but not expired,
// because fetching new credentials failed. Its cacheDuration is staleCacheDuration.
func (s *Store) serveStale(key providers.CacheKey, e *entry, now time.Time, cause error) *providers.Result {
	left := e.Expiry.Sub(now)
	d := staleCacheDuration(left)
	s.warnf("%s: registry %s: serving cached credentials that expire in %s because getting new ones failed: %v",
		key.Backend, registryOf(key), left.Truncate(time.Second), cause)
	return e.result(d)
}

func registryOf(k providers.CacheKey) string {
	if k.Registry != "" {
		return k.Registry
	}
	return "(any)"
}

// newEntry is the entry for res under key (file name name), issued now.
func newEntry(name string, key providers.CacheKey, res *providers.Result, now time.Time) *entry {
	auth := res.Auth
	if auth == nil { // "no credentials" is an answer too; a nil map would not read back
		auth = map[string]providers.AuthConfig{}
	}
	return &entry{
		Key:          name,
		Backend:      key.Backend,
		Registry:     key.Registry,
		Repo:         key.Repo,
		SANamespace:  key.SANamespace,
		SAName:       key.SAName,
		CacheKeyType: res.CacheKeyType,
		Issued:       now,
		Expiry:       res.Expiry,
		MaxDuration:  res.CacheDuration,
		Auth:         auth,
		Inputs:       res.Inputs,
	}
}
