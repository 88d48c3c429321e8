package cache

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/providers"
)

// Invalid is the State List gives a file that is not a good entry (corrupt, truncated,
// renamed, loose permissions); it is never served and the next store replaces it.
const Invalid State = "invalid"

// Info describes one entry for people; it never holds a secret.
type Info struct {
	Hash     string // the entry's file name, the SHA-256 of its key
	Backend  string
	Registry string // empty for Global entries
	Repo     string // only for Image entries
	// ServiceAccount is namespace/name in service-account-token mode, else empty.
	ServiceAccount string
	CacheKeyType   providers.CacheKeyType
	Issued, Expiry time.Time
	State          State
}

// List describes every entry, soonest expiry first (invalid files last).
func (s *Store) List() ([]Info, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	var out []Info
	for _, de := range ents {
		if !isKeyHash(de.Name()) {
			continue
		}
		e, err := s.read(de.Name())
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			out = append(out, Info{Hash: de.Name(), State: Invalid})
			continue
		}
		out = append(out, Info{
			Hash:           e.Key,
			Backend:        e.Backend,
			Registry:       e.Registry,
			Repo:           e.Repo,
			ServiceAccount: e.saString(),
			CacheKeyType:   e.CacheKeyType,
			Issued:         e.Issued,
			Expiry:         e.Expiry,
			State:          e.state(now),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.State == Invalid) != (b.State == Invalid) {
			return b.State == Invalid
		}
		if !a.Expiry.Equal(b.Expiry) {
			return a.Expiry.Before(b.Expiry)
		}
		return a.Hash < b.Hash
	})
	return out, nil
}

// Purge deletes every entry, leftover temporary file and unused lock file. A lock held
// by a running process is left alone.
func (s *Store) Purge() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var first error
	rm := func(p string) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	for _, de := range ents {
		name := de.Name()
		path := filepath.Join(s.dir, name)
		switch {
		case isKeyHash(name), strings.HasPrefix(name, tmpPrefix), name == sweepMarker:
			rm(path)
		case strings.HasSuffix(name, lockSuffix) && isKeyHash(strings.TrimSuffix(name, lockSuffix)):
			if l, ok := s.tryLockPath(path); ok {
				rm(path)
				l.unlock()
			}
		}
	}
	return first
}
