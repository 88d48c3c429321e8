package cache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// A lock file is empty, or holds one line saying that the last fetch made under the
// lock failed, when, and why:
//
//	fetch failed <unix nanoseconds> <error text>\n
//
// A process that waited on the lock while that fetch ran returns the same failure
// instead of calling upstream again. Error texts never hold secrets (they name the
// backend, the registry and the cause) and the file is 0600 in a 0700 directory.
const (
	failureTag    = "fetch failed "
	maxFailureMsg = 2048
)

// recordFailure notes in the held lock file that the fetch made under it failed at at.
func (l *fileLock) recordFailure(at time.Time, err error) {
	msg := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, err.Error())
	if len(msg) > maxFailureMsg {
		msg = strings.ToValidUTF8(msg[:maxFailureMsg], "")
	}
	rec := failureTag + strconv.FormatInt(at.UnixNano(), 10) + " " + msg + "\n"
	if unix.Ftruncate(l.fd, 0) == nil {
		unix.Pwrite(l.fd, []byte(rec), 0)
	}
}

// clearFailure empties the held lock file after a fetch that worked.
func (l *fileLock) clearFailure() {
	var st unix.Stat_t
	if unix.Fstat(l.fd, &st) == nil && st.Size > 0 {
		unix.Ftruncate(l.fd, 0)
	}
}

// failure reads the failure recorded in the held lock file, if any.
func (l *fileLock) failure() (at time.Time, msg string, ok bool) {
	buf := make([]byte, len(failureTag)+20+1+maxFailureMsg+1+1)
	n, err := unix.Pread(l.fd, buf, 0)
	if err != nil || n <= 0 {
		return time.Time{}, "", false
	}
	rest, ok := bytes.CutPrefix(buf[:n], []byte(failureTag))
	if !ok {
		return time.Time{}, "", false
	}
	rest, ok = bytes.CutSuffix(rest, []byte{'\n'})
	if !ok {
		return time.Time{}, "", false // torn or foreign
	}
	ts, text, ok := bytes.Cut(rest, []byte{' '})
	ns, err := strconv.ParseInt(string(ts), 10, 64)
	if !ok || err != nil || len(text) == 0 || bytes.IndexByte(text, '\n') >= 0 {
		return time.Time{}, "", false
	}
	return time.Unix(0, ns), string(text), true
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
