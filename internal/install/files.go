package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// tempPrefix starts the name of the temporary file a file is written to before it is
// renamed into place: "." + the final name + ".install-".
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".install-" }

// writeFile puts the content of src (a reader) at path atomically: it is written to a
// temporary file in the same directory, flushed to disk with its mode set, then
// renamed over path, and the directory is flushed. Whoever opens path, at any moment,
// even if this process is killed, finds the old file or the new one, complete; never a
// partial one. A killed run may leave its temporary file, which the next run removes.
func writeFile(path string, src io.Reader, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	removeStale(path)
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(f, src); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// rename moves tmp over path. On Windows a binary cannot be replaced while it runs,
// which the kubelet may be doing for a moment: it tries again for a few seconds.
func rename(tmp, path string) error {
	err := os.Rename(tmp, path)
	for i := 0; err != nil && runtime.GOOS == "windows" && i < 20; i++ {
		time.Sleep(250 * time.Millisecond)
		err = os.Rename(tmp, path)
	}
	return err
}

// syncDir flushes a directory's entries (the rename) to disk where the platform can.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not possible everywhere (Windows); the rename is atomic regardless
		d.Close()
	}
}

// removeStale removes temporary files an earlier, interrupted run left for path.
func removeStale(path string) {
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return
	}
	prefix := tempPrefix(path)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
}

// state is what is at a path now.
type state int

const (
	absent state = iota
	same
	differs
)

// compareFile says whether the file at path holds exactly the content of src with mode
// perm (only the permission bits are compared, where the platform has them).
func compareFile(path, src string, perm os.FileMode) (state, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return absent, nil
	}
	if err != nil {
		return absent, err
	}
	if !fi.Mode().IsRegular() {
		return absent, fmt.Errorf("%s is not a regular file", path)
	}
	si, err := os.Stat(src)
	if err != nil {
		return absent, err
	}
	if fi.Size() != si.Size() || (runtime.GOOS != "windows" && fi.Mode().Perm() != perm) {
		return differs, nil
	}
	a, err := os.Open(path)
	if err != nil {
		return absent, err
	}
	defer a.Close()
	b, err := os.Open(src)
	if err != nil {
		return absent, err
	}
	defer b.Close()
	ab, bb := make([]byte, 1<<16), make([]byte, 1<<16)
	for {
		n, errA := io.ReadFull(a, ab)
		m, errB := io.ReadFull(b, bb)
		if n != m || !bytes.Equal(ab[:n], bb[:m]) {
			return differs, nil
		}
		if errA != nil || errB != nil {
			if (errA == io.EOF || errA == io.ErrUnexpectedEOF) && (errB == io.EOF || errB == io.ErrUnexpectedEOF) {
				return same, nil
			}
			if errA != nil && errA != io.EOF && errA != io.ErrUnexpectedEOF {
				return absent, errA
			}
			if errB != nil && errB != io.EOF && errB != io.ErrUnexpectedEOF {
				return absent, errB
			}
			return differs, nil
		}
	}
}

// readIfExists reads path; nil, false when there is no file.
func readIfExists(path string) ([]byte, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// permOf is the permission of the file at path, or def when there is none.
func permOf(path string, def os.FileMode) os.FileMode {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return fi.Mode().Perm()
	}
	return def
}
