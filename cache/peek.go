package cache

import (
	"errors"

	"github.com/imagecred/image-credential-provider/providers"
)

// Peek returns the entry for key when it is fresh, with CacheDuration set to the time
// left until it stops being fresh. It never locks, fetches or writes: it is the whole
// cost of a hit for callers that have something else to do on a miss.
func (s *Store) Peek(key providers.CacheKey) (*providers.Result, bool) {
	e, err := s.read(KeyHash(key))
	if err != nil {
		return nil, false
	}
	now := s.opts.Now()
	if e.state(now) != Fresh {
		return nil, false
	}
	return e.result(e.freshUntil().Sub(now)), true
}

// Put stores res under key as issued now, without a lock (last writer wins, and every
// writer writes a complete file). res.CacheDuration bounds how long it stays fresh;
// res.Expiry is when it must no longer be used at all, and is required.
func (s *Store) Put(key providers.CacheKey, res *providers.Result) error {
	now := s.opts.Now()
	if res == nil || !res.Expiry.After(now) {
		return errors.New("token cache: nothing to store that has not expired")
	}
	auth := res.Auth
	if auth == nil {
		auth = map[string]providers.AuthConfig{}
	}
	e := &entry{
		Key:          KeyHash(key),
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
	}
	if err := s.write(e); err != nil {
		return err
	}
	return s.maybeSweep(now, e.Key)
}
