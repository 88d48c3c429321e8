//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"
)

// On Linux a cache directory and its entries are private by their mode bits and owner.

// unsafeDirCases are the ways a cache directory can be unsafe here.
func unsafeDirCases() []unsafeDirCase {
	return []unsafeDirCase{
		{"world-writable", func(t *testing.T, dir string) { mkdirMode(t, dir, 0o777) }, "writable by group or others"},
		{"group-writable", func(t *testing.T, dir string) { mkdirMode(t, dir, 0o770) }, "writable by group or others"},
		{"symlink", func(t *testing.T, dir string) {
			real := dir + ".real"
			mkdirMode(t, real, 0o700)
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
		}, "is a symlink"},
		{"owned by another user", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown a directory to another user")
			}
			mkdirMode(t, dir, 0o700)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 65534"},
	}
}

func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

// loosen lets everyone change the cache entry at path.
func loosen(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
}

// checkPrivate fails t unless path (a cache directory or entry) is owned by the
// running user and closed to group and others.
func checkPrivate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	want := os.FileMode(0o600)
	if fi.IsDir() {
		want = 0o700
	}
	if fi.Mode().Perm() != want || fi.Mode()&os.ModeSymlink != 0 {
		t.Fatalf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
	if uid, ok := ownerUID(fi); ok && uid != os.Geteuid() {
		t.Fatalf("%s: owned by uid %d", path, uid)
	}
}

func ownerUID(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
