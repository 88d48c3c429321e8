package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// fileLock is a held flock(2) on a key's lock file.
type fileLock struct{ fd int }

func (l *fileLock) unlock() {
	unix.Flock(l.fd, unix.LOCK_UN)
	unix.Close(l.fd)
}

// errLockTimeout is returned when another process held the key's lock for longer than
// the wait allowed.
var errLockTimeout = errors.New("timed out waiting for another process fetching the same credentials")

// lock takes the exclusive lock of key, polling until deadline or until ctx is done.
// Lock files are removed by sweeps; a lock taken on a file that was unlinked in the
// meantime is dropped and taken again on the new file, so two processes never both
// believe they hold the lock.
func (s *Store) lock(ctx context.Context, key string, deadline time.Time) (*fileLock, error) {
	path := filepath.Join(s.dir, key+lockSuffix)
	wait := time.Millisecond
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		for {
			err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
			if err == nil || (err != unix.EWOULDBLOCK && err != unix.EINTR) {
				break
			}
			if !time.Now().Before(deadline) {
				unix.Close(fd)
				return nil, errLockTimeout
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				unix.Close(fd)
				return nil, ctx.Err()
			case <-t.C:
			}
			if wait < 20*time.Millisecond {
				wait *= 2
			}
		}
		if err != nil {
			unix.Close(fd)
			return nil, &os.PathError{Op: "flock", Path: path, Err: err}
		}
		if sameFile(fd, path) {
			return &fileLock{fd: fd}, nil
		}
		unix.Close(fd) // the file was swept while we waited: lock the new one
	}
}

// tryLockPath takes the lock of path without waiting; ok is false when someone holds it.
func tryLockPath(path string) (l *fileLock, ok bool) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil || !sameFile(fd, path) {
		unix.Close(fd)
		return nil, false
	}
	return &fileLock{fd: fd}, true
}

// sameFile reports whether fd is still the file at path.
func sameFile(fd int, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}
