//go:build unix

package cache

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The Unix side of the store: ownership is the uid, privacy the mode bits, the per-key
// lock flock(2), and "the same file" the device and inode numbers.

// identity is who may own the cache: the effective user.
type identity struct{ uid int }

func currentIdentity() (identity, error) { return identity{uid: os.Geteuid()}, nil }

// systemDefaultDir is DefaultDir past XDG_CACHE_HOME: /var/lib for root, the user
// cache directory for anyone else.
func systemDefaultDir() (string, error) {
	if os.Geteuid() == 0 {
		return "/var/lib/image-credential-provider/cache", nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no default token cache directory: %w", err)
	}
	return filepath.Join(d, "image-credential-provider"), nil
}

// mkdirPrivate creates dir with mode 0700.
func (s *Store) mkdirPrivate(dir string) error { return os.Mkdir(dir, 0o700) }

// checkDirAccess refuses a directory that others may write or that another user owns.
func (s *Store) checkDirAccess(fi os.FileInfo) error {
	if fi.Mode().Perm()&0o022 != 0 {
		return s.unsafeDir(fmt.Sprintf("it is writable by group or others (mode %#o)", fi.Mode().Perm()))
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return s.unsafeDir("cannot tell its owner")
	}
	if int(st.Uid) != s.me.uid {
		return s.unsafeDir(fmt.Sprintf("it is owned by uid %d, not by the running user (uid %d)", st.Uid, s.me.uid))
	}
	return nil
}

// readFile reads the entry file at path, at most maxEntrySize+1 bytes, with its size.
// A file that is not a regular file (a symlink is not followed), not owned by the
// running user, or readable or writable by others is refused with errInvalid.
func (s *Store) readFile(path string) ([]byte, int64, error) {
	// Raw system calls, no os.File: a non-blocking *os.File would start the runtime's
	// poller (epoll) in a process that needs nothing else of it.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, 0, err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, st.Size, fmt.Errorf("%w: not a regular file", errInvalid)
	case int(st.Uid) != s.me.uid:
		return nil, st.Size, fmt.Errorf("%w: owned by uid %d", errInvalid, st.Uid)
	case st.Mode&0o077 != 0:
		return nil, st.Size, fmt.Errorf("%w: mode %#o", errInvalid, st.Mode&0o777)
	case st.Size > maxEntrySize:
		return nil, st.Size, fmt.Errorf("%w: too large", errInvalid)
	}
	data := make([]byte, st.Size+1)
	n := 0
	for n < len(data) {
		m, err := unix.Read(fd, data[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, st.Size, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return data[:n], st.Size, nil
}

// writeTemp writes data to a new file in the store's directory, mode 0600, named
// prefix followed by a random suffix, and returns its path. Raw system calls, as for
// reading: an *os.File would try to register the file with the runtime's poller,
// and a cold run writes two such files.
func (s *Store) writeTemp(prefix string, data []byte) (string, error) {
	for try := 0; ; try++ {
		tmp := filepath.Join(s.dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == unix.EEXIST && try < 100 {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "open", Path: tmp, Err: err}
		}
		err = writeClose(fd, data)
		if err != nil {
			os.Remove(tmp)
			return "", &os.PathError{Op: "write", Path: tmp, Err: err}
		}
		return tmp, nil
	}
}

// writeClose makes fd 0600 whatever the umask, writes data to it and closes it.
func writeClose(fd int, data []byte) error {
	err := unix.Fchmod(fd, 0o600)
	for err == nil && len(data) > 0 {
		var n int
		n, err = unix.Write(fd, data)
		if err == unix.EINTR {
			err = nil
			continue
		}
		data = data[n:]
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}

// replaceFile renames from over to.
func replaceFile(from, to string) error { return os.Rename(from, to) }

// handle is an open lock file.
type handle = int

// openLockFile opens the lock file at path (mode 0600, created when create is set),
// never through a symlink.
func (s *Store) openLockFile(path string, create bool) (handle, error) {
	flags := unix.O_RDWR | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if create {
		flags |= unix.O_CREAT
	}
	return unix.Open(path, flags, 0o600)
}

// openRetryable reports whether a failed openLockFile may work a moment later.
func openRetryable(error) bool { return false }

const lockOp = "flock"

// tryLock takes the exclusive lock on h without waiting; false when another holds it.
func tryLock(h handle) (bool, error) {
	switch err := unix.Flock(h, unix.LOCK_EX|unix.LOCK_NB); err {
	case nil:
		return true, nil
	case unix.EWOULDBLOCK, unix.EINTR:
		return false, nil
	default:
		return false, err
	}
}

// unlockClose releases the lock on h and closes it.
func unlockClose(h handle) {
	unix.Flock(h, unix.LOCK_UN)
	unix.Close(h)
}

func closeHandle(h handle) { unix.Close(h) }

// sameFile reports whether h is still the file at path.
func sameFile(h handle, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(h, &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

func truncateFile(h handle) error { return unix.Ftruncate(h, 0) }

func writeAt(h handle, b []byte) { unix.Pwrite(h, b, 0) }

func readAt(h handle, b []byte) (int, error) { return unix.Pread(h, b, 0) }

func fileSize(h handle) (int64, error) {
	var st unix.Stat_t
	err := unix.Fstat(h, &st)
	return st.Size, err
}
