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
)

// fileLock is a held exclusive lock on a key's lock file.
type fileLock struct{ h handle }

func (l *fileLock) unlock() { unlockClose(l.h) }

// errLockTimeout is returned when another process held the key's lock for longer than
// the wait allowed.
var errLockTimeout = errors.New("timed out waiting for another process fetching the same credentials")

// retryOpenFor bounds how long lock retries an open that may work a moment later (on
// Windows, a lock file being deleted while another process still has it open).
const retryOpenFor = time.Second

// lock takes the exclusive lock of key, polling until deadline or until ctx is done.
// Lock files are removed by sweeps; a lock taken on a file that was unlinked in the
// meantime is dropped and taken again on the new file, so two processes never both
// believe they hold the lock.
func (s *Store) lock(ctx context.Context, key string, deadline time.Time) (*fileLock, error) {
	path := filepath.Join(s.dir, key+lockSuffix)
	wait := time.Millisecond
	backoff := func() error {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if wait < 20*time.Millisecond {
			wait *= 2
		}
		return nil
	}
	var openFailing time.Time
	for {
		h, err := s.openLockFile(path, true)
		if err != nil {
			if openFailing.IsZero() {
				openFailing = time.Now()
			}
			if openRetryable(err) && time.Since(openFailing) < retryOpenFor && time.Now().Before(deadline) {
				if err := backoff(); err != nil {
					return nil, err
				}
				continue
			}
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		locked := false
		for {
			locked, err = tryLock(h)
			if locked || err != nil {
				break
			}
			if !time.Now().Before(deadline) {
				closeHandle(h)
				return nil, errLockTimeout
			}
			if err := backoff(); err != nil {
				closeHandle(h)
				return nil, err
			}
		}
		if err != nil {
			closeHandle(h)
			return nil, &os.PathError{Op: lockOp, Path: path, Err: err}
		}
		if sameFile(h, path) {
			return &fileLock{h: h}, nil
		}
		unlockClose(h) // the file was swept while we waited: lock the new one
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
	if truncateFile(l.h) == nil {
		writeAt(l.h, []byte(rec))
	}
}

// clearFailure empties the held lock file after a fetch that worked.
func (l *fileLock) clearFailure() {
	if n, err := fileSize(l.h); err == nil && n > 0 {
		truncateFile(l.h)
	}
}

// failure reads the failure recorded in the held lock file, if any.
func (l *fileLock) failure() (at time.Time, msg string, ok bool) {
	buf := make([]byte, len(failureTag)+20+1+maxFailureMsg+1+1)
	n, err := readAt(l.h, buf)
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
func (s *Store) tryLockPath(path string) (l *fileLock, ok bool) {
	h, err := s.openLockFile(path, false)
	if err != nil {
		return nil, false
	}
	if locked, _ := tryLock(h); !locked {
		closeHandle(h)
		return nil, false
	}
	if !sameFile(h, path) {
		unlockClose(h)
		return nil, false
	}
	return &fileLock{h: h}, true
}
