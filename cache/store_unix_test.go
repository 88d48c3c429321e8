//go:build unix

package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenDirRules(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) // dir does not exist yet
		wantErr string                         // "" = accepted
		unsafe  bool
	}{
		{"missing dir and parents are created", func(t *testing.T, dir string) {}, "", false},
		{"existing 0700", func(t *testing.T, dir string) { mkdir(t, dir, 0o700) }, "", false},
		{"existing 0755 is not writable by others", func(t *testing.T, dir string) { mkdir(t, dir, 0o755) }, "", false},
		{"group-writable", func(t *testing.T, dir string) { mkdir(t, dir, 0o770) }, "writable by group or others (mode 0770)", true},
		{"world-writable", func(t *testing.T, dir string) { mkdir(t, dir, 0o777) }, "writable by group or others (mode 0777)", true},
		{"sticky world-writable", func(t *testing.T, dir string) { mkdir(t, dir, 0o1777) }, "writable by group or others", true},
		{"symlink to a good dir", func(t *testing.T, dir string) {
			real := dir + ".real"
			mkdir(t, real, 0o700)
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
		}, "is a symlink", true},
		{"regular file", func(t *testing.T, dir string) {
			mkdir(t, filepath.Dir(dir), 0o755)
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a directory", true},
		{"owned by another user", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown a directory to another user")
			}
			mkdir(t, dir, 0o700)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 65534", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "parent", "cache")
			tt.setup(t, dir)
			s, err := Open(dir, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				fi, err := os.Lstat(s.Dir())
				if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 {
					t.Fatalf("dir %v %v", fi.Mode(), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Open: %v, want an error naming %s with %q", err, dir, tt.wantErr)
			}
			if errors.Is(err, ErrUnsafeDir) != tt.unsafe {
				t.Fatalf("errors.Is(%v, ErrUnsafeDir) = %v", err, !tt.unsafe)
			}
		})
	}
	t.Run("new dir is 0700 whatever the umask", func(t *testing.T) {
		old := syscall.Umask(0)
		defer syscall.Umask(old)
		s, err := Open(filepath.Join(t.TempDir(), "a", "b"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(s.Dir()); fi.Mode().Perm() != 0o700 {
			t.Fatalf("mode %v", fi.Mode())
		}
	})
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/somewhere/xdg")
	if d, err := DefaultDir(); err != nil || d != "/somewhere/xdg/image-credential-provider" {
		t.Errorf("with XDG_CACHE_HOME: %q %v", d, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/someone")
	want := "/home/someone/.cache/image-credential-provider"
	if os.Geteuid() == 0 {
		want = "/var/lib/image-credential-provider/cache"
	}
	if d, err := DefaultDir(); err != nil || d != want {
		t.Errorf("DefaultDir() = %q %v, want %q", d, err, want)
	}
}

// platformTamperCases are the ways to damage an entry that only Unix has: mode bits,
// ownership, symlinks and fifos.
func platformTamperCases() []struct {
	name   string
	tamper func(t *testing.T, s *Store, path string)
} {
	return []struct {
		name   string
		tamper func(t *testing.T, s *Store, path string)
	}{
		{"readable by others (0644)", func(t *testing.T, s *Store, path string) { chmod(t, path, 0o644) }},
		{"writable by group (0620)", func(t *testing.T, s *Store, path string) { chmod(t, path, 0o620) }},
		{"owned by another user", func(t *testing.T, s *Store, path string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown a file to another user")
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to a good entry", func(t *testing.T, s *Store, path string) {
			elsewhere := filepath.Join(t.TempDir(), "entry")
			if err := os.Rename(path, elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"a fifo (must not block)", func(t *testing.T, s *Store, path string) {
			os.Remove(path)
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
}

// checkPrivateFile fails t unless path is a regular file, mode 0600, owned by the
// running user.
func checkPrivateFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("entry not replaced by a good file: %v %v", fi, err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
		t.Fatalf("entry owned by %d", st.Uid)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
