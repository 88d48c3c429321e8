// Package cache keeps the credentials that token backends issue on disk, so that the
// fresh process the kubelet starts for every pull does not mean a cloud call per pull.
//
// A Store is one directory, owned by the running user and not writable by anyone
// else; its entries are readable and writable by their owner only. On Windows the same
// holds through access lists: the directory and every file are created with a
// protected list granting the running user, SYSTEM and Administrators, and one that
// lets anyone else read or change them is distrusted (see Open). Each entry is one file named by the SHA-256 of its providers.CacheKey; it holds the
// credentials, their cacheKeyType, when they were fetched and when they expire, and the
// non-secret names shown by `cache list` (backend, registry, repository, service
// account). The service account token never enters a key or an entry.
//
// Lifetimes follow providers.FreshUntil: an entry is served as fresh until 10% of its
// lifetime (at least a minute) before it expires. Past that it is refreshed; when the
// refresh fails and the entry has not expired yet, it is served once more with a short
// cacheDuration (StaleCacheDuration, ending at least a minute before its expiry, so 0 in
// its last minute) and a warning. An expired entry is never served.
//
// Processes share the directory safely: writes are atomic (a temporary file in the
// same directory renamed over the entry, so a reader sees the old entry or the new one,
// whole), every entry carries a checksum over its content and the key it claims, and a
// miss takes a per-key lock (flock(2); LockFileEx on Windows) so that N processes
// missing the same key make one upstream call between them (when that call fails, the processes that waited for it
// get its failure rather than trying again one after the other).
//
// Entries are not durable, on purpose: nothing is fsynced. A cache entry is worth one
// upstream call, while an fsync of the file and of the directory costs more than the
// rest of a miss's cache work together (and a cold invocation stores two files, the
// token and the answer it gave). After a crash or power loss
// an entry may be missing, old, empty or half written; the checksum tells a damaged
// file from a good one, so it is ignored and replaced by the next fetch, and an old
// entry is still a valid one (its own expiry holds).
//
// The key follows the cacheKeyType: Global entries are keyed by backend and identity,
// Registry entries also by registry, Image entries also by repository, and every
// entry by the service account's namespace, name and UID when there is one.
//
// The directory stays small: each store may sweep it (at most every SweepInterval, or
// at once past a bound), deleting expired and corrupt entries and evicting the oldest
// past MaxEntries or MaxBytes. A hit reads one file and never sweeps.
package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/imagecred/image-credential-provider/providers"
)

// Defaults of Options.
const (
	DefaultMaxEntries    = 1000
	DefaultMaxBytes      = 16 << 20 // tokens are a few KiB: 1000 of them fit well within
	DefaultLockWait      = 20 * time.Second
	DefaultSweepInterval = 5 * time.Minute
)

// StaleCacheDuration is the cacheDuration of an entry served past its freshness
// because the upstream call failed: short, so the kubelet asks again soon. It is
// shortened so that the kubelet never keeps the entry into the last
// providers.MinSafetyMargin before its expiry, the margin fresh entries keep too (a pull
// takes time, and the registry's clock may run ahead of the node's): with a token
// expiring in 1m30s it is 30s, and within the last minute it is 0, so the kubelet uses
// the token for the pull at hand, keeps nothing and asks again on the next pull.
const StaleCacheDuration = time.Minute

// staleCacheDuration is the cacheDuration of a stale entry with left until it expires.
// providers.Dispatcher applies the same margin to every answer; doing it here too keeps
// what Fetch returns equal to what the kubelet gets.
func staleCacheDuration(left time.Duration) time.Duration {
	return max(0, min(StaleCacheDuration, left-providers.MinSafetyMargin))
}

// ErrUnsafeDir is wrapped by the error Open returns for a directory it refuses to use
// (a symlink, writable by group or others, owned by another user, not a directory).
// The caller is expected to warn and run without a cache.
var ErrUnsafeDir = errors.New("unsafe token cache directory")

// Options tune a Store; the zero value is the default.
type Options struct {
	// MaxEntries bounds the number of entries; past it the oldest are evicted.
	// Zero means DefaultMaxEntries.
	MaxEntries int
	// MaxBytes bounds the total size of the entry files; past it the oldest are
	// evicted. Zero means DefaultMaxBytes. (One entry is at most 1 MiB.)
	MaxBytes int64
	// LockWait bounds how long a miss waits for another process fetching the same
	// key (never past the context's deadline). Zero means DefaultLockWait.
	LockWait time.Duration
	// SweepInterval is how often, at most, a store looks at every entry to delete the
	// expired ones. Zero means DefaultSweepInterval.
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Warnf and Debugf log (klog's Warningf and V(2).Infof in the binary); nil
	// discards. Functions, not klog, keep this package light for the lean front end.
	Warnf, Debugf func(format string, args ...any)
}

func (s *Store) warnf(format string, args ...any) {
	if s.opts.Warnf != nil {
		s.opts.Warnf(format, args...)
	}
}

func (s *Store) debugf(format string, args ...any) {
	if s.opts.Debugf != nil {
		s.opts.Debugf(format, args...)
	}
}

// Store is an on-disk token cache; it implements providers.TokenCache.
type Store struct {
	dir  string
	me   identity // who may own the directory and its entries
	opts Options
}

// DefaultDir is the cache directory used when none is configured:
// $XDG_CACHE_HOME/image-credential-provider when XDG_CACHE_HOME is set (an absolute
// path); else, on Linux, /var/lib/image-credential-provider/cache for root and
// image-credential-provider under the user cache directory (~/.cache) for anyone else;
// on Windows, %ProgramData%\image-credential-provider\cache for the SYSTEM account (the
// kubelet's service) and %LOCALAPPDATA%\image-credential-provider for anyone else.
// XDG_CACHE_HOME comes first so that a drop-in install, which takes the command line
// of the plugin it replaces and so has no --cache-dir, can still be pointed elsewhere
// through the kubelet's env setting for the plugin.
func DefaultDir() (string, error) {
	if x := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "image-credential-provider"), nil
	}
	return systemDefaultDir()
}

// Open returns the Store in dir, creating dir (mode 0700, parents 0755) when it does
// not exist. It refuses, with an error wrapping ErrUnsafeDir, a dir that is a symlink,
// not a directory, writable by group or others, or owned by another user.
//
// On Windows the same holds with Windows' own means: dir is created with a protected
// access list granting the running user, SYSTEM and Administrators only (parents
// inherit theirs), and refused when it is owned by anyone else or its access list lets
// anyone else read or write it.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("token cache: empty directory name")
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.LockWait <= 0 {
		opts.LockWait = DefaultLockWait
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	me, err := currentIdentity()
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	s := &Store{dir: filepath.Clean(dir), me: me, opts: opts}
	fi, err := os.Lstat(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(s.dir), 0o755); err != nil {
			return nil, fmt.Errorf("token cache: creating %s: %w", filepath.Dir(s.dir), err)
		}
		if err := s.mkdirPrivate(s.dir); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("token cache: creating %s: %w", s.dir, err)
		}
		fi, err = os.Lstat(s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	if err := s.checkDir(fi); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the directory of the store.
func (s *Store) Dir() string { return s.dir }

func (s *Store) checkDir(fi os.FileInfo) error {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return s.unsafeDir("it is a symlink")
	case !fi.IsDir():
		return s.unsafeDir("it is not a directory")
	}
	return s.checkDirAccess(fi)
}

func (s *Store) unsafeDir(why string) error {
	return fmt.Errorf("%w %s: %s", ErrUnsafeDir, s.dir, why)
}
