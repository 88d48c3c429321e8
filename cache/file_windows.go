//go:build windows

package cache

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows side of the store: ownership is the owner SID, privacy a protected access
// list (see acl.go) set when a file or the directory is created and checked whenever
// one is read, the per-key lock LockFileEx, and "the same file" the volume serial
// number and file index (no inode numbers or uids).

// identity is who may own the cache: the running user's SID (with SYSTEM and
// Administrators, see trustedOwner), and the security descriptors the cache creates
// its directory and files with, built on first use.
type identity struct {
	user          string
	fileSD, dirSD func() (*windows.SECURITY_DESCRIPTOR, error)
}

func currentIdentity() (identity, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return identity{}, fmt.Errorf("cannot tell the running user: %w", err)
	}
	user := u.User.Sid.String()
	sd := func(dir bool) func() (*windows.SECURITY_DESCRIPTOR, error) {
		return sync.OnceValues(func() (*windows.SECURITY_DESCRIPTOR, error) {
			return windows.SecurityDescriptorFromString(privateSDDL(user, dir))
		})
	}
	return identity{user: user, fileSD: sd(false), dirSD: sd(true)}, nil
}

// systemDefaultDir is DefaultDir past XDG_CACHE_HOME: under %ProgramData% for the
// SYSTEM account (the kubelet runs as a service; SYSTEM's own profile lives under
// C:\Windows\System32), under %LOCALAPPDATA% for anyone else.
func systemDefaultDir() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("no default token cache directory: cannot tell the running user: %w", err)
	}
	return defaultDirFor(u.User.Sid.String() == sidSystem)
}

func defaultDirFor(system bool) (string, error) {
	if system {
		pd := os.Getenv("ProgramData")
		if !filepath.IsAbs(pd) {
			var err error
			if pd, err = windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0); err != nil {
				return "", fmt.Errorf("no default token cache directory: %w", err)
			}
		}
		return filepath.Join(pd, "image-credential-provider", "cache"), nil
	}
	d, err := os.UserCacheDir() // %LOCALAPPDATA%
	if err != nil {
		return "", fmt.Errorf("no default token cache directory: %w", err)
	}
	return filepath.Join(d, "image-credential-provider"), nil
}

func securityAttributes(sd *windows.SECURITY_DESCRIPTOR) *windows.SecurityAttributes {
	return &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
}

// mkdirPrivate creates dir with the cache's protected access list, inherited by what
// is created in it.
func (s *Store) mkdirPrivate(dir string) error {
	sd, err := s.me.dirSD()
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	if err := windows.CreateDirectory(p, securityAttributes(sd)); err != nil {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return nil
}

// checkDirAccess refuses a directory owned by anyone but a trusted account or whose
// access list lets anyone else read or change it.
func (s *Store) checkDirAccess(os.FileInfo) error {
	sd, err := windows.GetNamedSecurityInfo(s.dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return s.unsafeDir("cannot read its owner and access list: " + err.Error())
	}
	if why := s.me.loose(sd); why != "" {
		return s.unsafeDir(why)
	}
	return nil
}

// loose is looseACL over a real security descriptor.
func (me identity) loose(sd *windows.SECURITY_DESCRIPTOR) string {
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return "cannot tell its owner"
	}
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND):
		return looseACL(owner.String(), false, nil, me.user)
	case err != nil:
		return "cannot read its access list: " + err.Error()
	case dacl == nil: // a NULL access list: no restriction at all
		return looseACL(owner.String(), false, nil, me.user)
	}
	return looseACL(owner.String(), true, aceList(dacl), me.user)
}

// ACE types beyond those x/sys/windows names (winnt.h).
const (
	accessAllowedCallbackACEType      = 0x9
	accessDeniedObjectACEType         = 0x6
	accessDeniedCallbackACEType       = 0xA
	accessDeniedCallbackObjectACEType = 0xC
)

// aceList describes the entries of acl. Allow entries whose layout puts something
// before the SID (object entries) are kept as aceUnknown: counted as granting to
// someone untrusted.
func aceList(acl *windows.ACL) []ace {
	out := make([]ace, 0, acl.AceCount)
	for i := range uint32(acl.AceCount) {
		var p *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(acl, i, &p); err != nil {
			out = append(out, ace{kind: aceUnknown, mask: ^uint32(0)})
			continue
		}
		a := ace{mask: uint32(p.Mask), inheritOnly: p.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0}
		switch p.Header.AceType {
		case windows.ACCESS_ALLOWED_ACE_TYPE, accessAllowedCallbackACEType:
			a.kind = aceAllow
			a.sid = (*windows.SID)(unsafe.Pointer(&p.SidStart)).String()
		case windows.ACCESS_DENIED_ACE_TYPE, accessDeniedObjectACEType, accessDeniedCallbackACEType, accessDeniedCallbackObjectACEType:
			a.kind = aceDeny
		default:
			a.kind = aceUnknown
		}
		out = append(out, a)
	}
	return out
}

const shareAll = windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE

// readFile reads the entry file at path, at most maxEntrySize+1 bytes, with its size.
// A directory, a symlink or other reparse point (never followed), or a file owned by
// an untrusted account or whose access list lets anyone else read or change it is
// refused with errInvalid. The file is opened with every sharing mode, so that a
// writer can replace it and a sweep delete it meanwhile.
func (s *Store) readFile(path string) ([]byte, int64, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, shareAll, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer windows.CloseHandle(h)
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return nil, 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	size := int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow)
	if fi.FileAttributes&(windows.FILE_ATTRIBUTE_DIRECTORY|windows.FILE_ATTRIBUTE_REPARSE_POINT) != 0 {
		return nil, size, fmt.Errorf("%w: not a regular file", errInvalid)
	}
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, size, fmt.Errorf("%w: cannot read its access list: %v", errInvalid, err)
	}
	if why := s.me.loose(sd); why != "" {
		return nil, size, fmt.Errorf("%w: %s", errInvalid, why)
	}
	if size > maxEntrySize {
		return nil, size, fmt.Errorf("%w: too large", errInvalid)
	}
	data := make([]byte, size+1)
	n := 0
	for n < len(data) {
		var m uint32
		err := windows.ReadFile(h, data[n:], &m, nil)
		if errors.Is(err, windows.ERROR_HANDLE_EOF) || (err == nil && m == 0) {
			break
		}
		if err != nil {
			return nil, size, err
		}
		n += int(m)
	}
	return data[:n], size, nil
}

// writeTemp writes data to a new file in the store's directory, created with the
// cache's protected access list and named prefix followed by a random suffix, and
// returns its path.
func (s *Store) writeTemp(prefix string, data []byte) (string, error) {
	sd, err := s.me.fileSD()
	if err != nil {
		return "", err
	}
	for try := 0; ; try++ {
		tmp := filepath.Join(s.dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		p, err := windows.UTF16PtrFromString(tmp)
		if err != nil {
			return "", &os.PathError{Op: "create", Path: tmp, Err: err}
		}
		h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, securityAttributes(sd), windows.CREATE_NEW,
			windows.FILE_ATTRIBUTE_NORMAL, 0)
		if errors.Is(err, windows.ERROR_FILE_EXISTS) && try < 100 {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "create", Path: tmp, Err: err}
		}
		var done uint32
		err = windows.WriteFile(h, data, &done, nil)
		if err == nil && int(done) != len(data) {
			err = io.ErrShortWrite
		}
		if cerr := windows.CloseHandle(h); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return "", &os.PathError{Op: "write", Path: tmp, Err: err}
		}
		return tmp, nil
	}
}

// replaceRetryFor bounds how long replaceFile waits for readers to close the entry.
const replaceRetryFor = 2 * time.Second

// replaceFile renames from over to, atomically: a reader opens the old file or the new
// one. It asks for POSIX semantics first (Windows 10 1809 and later, on NTFS), which
// replace a file even while readers have it open (they opened it with
// FILE_SHARE_DELETE and keep reading the old content). Elsewhere it falls back to
// os.Rename, that is MoveFileEx with MOVEFILE_REPLACE_EXISTING, which Windows refuses
// while another process has the target open; readers hold an entry for microseconds,
// so that is retried for a moment.
func replaceFile(from, to string) error {
	if renamePOSIX(from, to) == nil {
		return nil
	}
	deadline := time.Now().Add(replaceRetryFor)
	wait := 100 * time.Microsecond
	for {
		err := os.Rename(from, to)
		if err == nil || !busy(err) || !time.Now().Before(deadline) {
			return err
		}
		if fi, lerr := os.Lstat(to); lerr == nil && !fi.Mode().IsRegular() {
			return err // not a file: the caller removes it
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Millisecond)
	}
}

// renamePOSIX renames from over to with FileRenameInfoEx and
// FILE_RENAME_FLAG_POSIX_SEMANTICS.
func renamePOSIX(from, to string) error {
	p, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(p, windows.DELETE|windows.SYNCHRONIZE, shareAll, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return renameByHandle(h, windows.FileRenameInfoEx,
		windows.FILE_RENAME_REPLACE_IF_EXISTS|windows.FILE_RENAME_POSIX_SEMANTICS, to)
}

// renameByHandle renames the file open as h (with DELETE access) to the path to, with
// SetFileInformationByHandle and a FILE_RENAME_INFO: class FileRenameInfoEx takes
// flags, class FileRenameInfo takes 1 (replace if exists) or 0.
func renameByHandle(h windows.Handle, class uint32, flags uint32, to string) error {
	name, err := windows.UTF16FromString(to)
	if err != nil {
		return err
	}
	name = name[:len(name)-1] // the length is given; no terminator
	// FILE_RENAME_INFO: Flags (or ReplaceIfExists) DWORD at 0, RootDirectory HANDLE
	// (left NULL), FileNameLength DWORD, FileName WCHAR[]; on 64-bit Windows at 0, 8, 16
	// and 20, and its size is 24 (FileName[1] and padding). The size passed is that plus
	// the name.
	const (
		ptr        = unsafe.Sizeof(uintptr(0))
		lenOffset  = 2 * ptr
		nameOffset = lenOffset + 4
		infoSize   = (nameOffset + 2 + ptr - 1) / ptr * ptr
	)
	buf := make([]uint64, (int(infoSize)+2*len(name)+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), 8*len(buf))
	*(*uint32)(unsafe.Pointer(&b[0])) = flags
	*(*uint32)(unsafe.Pointer(&b[lenOffset])) = uint32(2 * len(name))
	copy(unsafe.Slice((*uint16)(unsafe.Pointer(&b[nameOffset])), len(name)), name)
	return windows.SetFileInformationByHandle(h, class, &b[0], uint32(int(infoSize)+2*len(name)))
}

// busy reports whether err is what Windows says about a file another process has open
// (or is deleting).
func busy(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}

// handle is an open lock file.
type handle = windows.Handle

// openLockFile opens the lock file at path, created (with the cache's protected access
// list) when create is set, never through a symlink, shared so that a sweep can delete
// it while others have it open.
func (s *Store) openLockFile(path string, create bool) (handle, error) {
	disp := uint32(windows.OPEN_EXISTING)
	var sa *windows.SecurityAttributes
	if create {
		sd, err := s.me.fileSD()
		if err != nil {
			return windows.InvalidHandle, err
		}
		disp, sa = windows.OPEN_ALWAYS, securityAttributes(sd)
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return windows.InvalidHandle, err
	}
	return windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, shareAll, sa, disp,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
}

// openRetryable reports whether a failed openLockFile may work a moment later: Windows
// refuses to open a file that is being deleted until its last handle is closed.
func openRetryable(err error) bool { return busy(err) }

const lockOp = "LockFileEx"

// The lock is one byte far past any content: Windows locks are mandatory, and the
// failure record at the start of the file is read and written through other handles.
const lockOffset = 1 << 62

func lockRange() *windows.Overlapped {
	return &windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
}

// tryLock takes the exclusive lock on h without waiting; false when another holds it.
func tryLock(h handle) (bool, error) {
	err := windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, lockRange())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	default:
		return false, err
	}
}

// unlockClose releases the lock on h and closes it.
func unlockClose(h handle) {
	windows.UnlockFileEx(h, 0, 1, 0, lockRange())
	windows.CloseHandle(h)
}

func closeHandle(h handle) { windows.CloseHandle(h) }

// sameFile reports whether h is still the file at path: same volume, same file index.
func sameFile(h handle, path string) bool {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return false
	}
	o, err := windows.CreateFile(p, windows.FILE_READ_ATTRIBUTES, shareAll, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return false
	}
	defer windows.CloseHandle(o)
	var a, b windows.ByHandleFileInformation
	if windows.GetFileInformationByHandle(h, &a) != nil || windows.GetFileInformationByHandle(o, &b) != nil {
		return false
	}
	return a.VolumeSerialNumber == b.VolumeSerialNumber && a.FileIndexHigh == b.FileIndexHigh && a.FileIndexLow == b.FileIndexLow
}

func truncateFile(h handle) error {
	if _, err := windows.Seek(h, 0, io.SeekStart); err != nil {
		return err
	}
	return windows.SetEndOfFile(h)
}

func writeAt(h handle, b []byte) {
	var n uint32
	windows.WriteFile(h, b, &n, &windows.Overlapped{}) // offset 0
}

func readAt(h handle, b []byte) (int, error) {
	var n uint32
	err := windows.ReadFile(h, b, &n, &windows.Overlapped{}) // offset 0
	if errors.Is(err, windows.ERROR_HANDLE_EOF) {
		return 0, nil
	}
	return int(n), err
}

func fileSize(h handle) (int64, error) {
	var fi windows.ByHandleFileInformation
	err := windows.GetFileInformationByHandle(h, &fi)
	return int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow), err
}
