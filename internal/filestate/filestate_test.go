package filestate

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestEveryChangeIsSeen is the file-change matrix: each way a file an answer depends on
// can change gives a different state.
func TestEveryChangeIsSeen(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, path string)
		change func(t *testing.T, path string)
	}{
		{"edited, same size, same timestamps", func(t *testing.T, p string) { write(t, p, `{"a":"1"}`, 0o600) }, func(t *testing.T, p string) {
			fi, _ := os.Stat(p)
			write(t, p, `{"a":"2"}`, 0o600)
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by rename", func(t *testing.T, p string) { write(t, p, "one", 0o600) }, func(t *testing.T, p string) {
			write(t, p+".new", "two", 0o600)
			if err := os.Rename(p+".new", p); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed", func(t *testing.T, p string) { write(t, p, "one", 0o600) }, func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
		{"appeared", func(t *testing.T, p string) {}, func(t *testing.T, p string) { write(t, p, "", 0o600) }},
		{"truncated to empty", func(t *testing.T, p string) { write(t, p, "one", 0o600) }, func(t *testing.T, p string) { write(t, p, "", 0o600) }},
		{"permissions changed", func(t *testing.T, p string) { write(t, p, "one", 0o600) }, func(t *testing.T, p string) {
			if runtime.GOOS == "windows" {
				t.Skip("Windows has no permission bits beyond read-only")
			}
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink swapped to another target", func(t *testing.T, p string) {
			dir := filepath.Dir(p)
			write(t, filepath.Join(dir, "v1"), "one", 0o600)
			write(t, filepath.Join(dir, "v2"), "two", 0o600)
			if err := os.Symlink(filepath.Join(dir, "v1"), p); err != nil {
				t.Skip("symlinks unavailable:", err)
			}
			if _, err := os.Lstat(p); err != nil {
				t.Skip("symlinks unavailable: made without an error, but not there (wine 8):", err)
			}
		}, func(t *testing.T, p string) {
			tmp := p + ".tmp"
			if err := os.Symlink(filepath.Join(filepath.Dir(p), "v2"), tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.json")
			tt.setup(t, p)
			before, ok := Snapshot([]string{p})
			if !ok {
				t.Fatal("no state before the change")
			}
			if !before.Unchanged() {
				t.Fatal("Unchanged is false with nothing changed")
			}
			tt.change(t, p)
			if before.Unchanged() {
				t.Fatal("the change was not seen")
			}
			after, ok := Snapshot([]string{p})
			if ok && after.Equal(before) {
				t.Fatal("the snapshot after the change equals the one before")
			}
		})
	}
}

func TestUnchangedWhenOnlyTimesChange(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "same", 0o600)
	s, ok := Snapshot([]string{p})
	if !ok {
		t.Fatal("no state")
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if !s.Unchanged() {
		t.Fatal("a touch without an edit was taken for a change")
	}
}

func TestNoState(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	write(t, big, strings.Repeat("x", MaxSize+1), 0o600)
	tests := []struct {
		name, path string
	}{
		{"a directory", dir},
		{"larger than MaxSize", big},
	}
	for _, tt := range tests {
		if st, ok := Of(tt.path); ok {
			t.Errorf("%s: state %q, want none", tt.name, st)
		}
		if _, ok := Snapshot([]string{filepath.Join(dir, "absent"), tt.path}); ok {
			t.Errorf("%s: Snapshot succeeded", tt.name)
		}
	}
	for _, absent := range []string{filepath.Join(dir, "absent"), filepath.Join(big, "below-a-file")} {
		if st, ok := Of(absent); !ok || st != Absent {
			t.Errorf("%s: %q, %v; want %q", absent, st, ok, Absent)
		}
	}
}

func TestSnapshotIgnoresDuplicatesAndEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "x", 0o600)
	s, ok := Snapshot([]string{p, "", p})
	if !ok || len(s) != 1 || s.Paths()[0] != p {
		t.Fatalf("Snapshot = %v, %v", s, ok)
	}
}
