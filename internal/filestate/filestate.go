// Package filestate tells whether local files are as they were: the configuration,
// docker config, key and token files an answer was derived from. A recorded answer is
// replayed only while the state of every one of them is unchanged.
//
// A state is a digest of what decides the file's effect: whether it exists, its type,
// its permission bits and owner (where the platform has them) and its whole content.
// The content is hashed rather than trusting timestamps: file systems stamp times at a
// clock tick of several milliseconds, so an edit that keeps the size, made within one
// tick of the recording, would go unseen; tools that restore files can restore their
// times too. These files are small, and reading a few of them costs microseconds.
// A file that cannot be read (other than being absent), or is larger than MaxSize, has
// no state: an answer that depends on it is never recorded.
package filestate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"syscall"
)

// MaxSize is the largest file given a state.
const MaxSize = 1 << 20

// Absent is the state of a file that does not exist.
const Absent = "absent"

// Of returns the state of the file at path (following symbolic links), or ok false
// when it has none (unreadable, not a regular file, larger than MaxSize).
func Of(path string) (state string, ok bool) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		// ENOTDIR: a parent is a file, so this one cannot exist either.
		return Absent, true
	}
	if err != nil {
		return "", false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > MaxSize {
		return "", false
	}
	h := sha256.New()
	h.Write([]byte("icp-filestate v1\x00"))
	var n [8]byte
	binary.BigEndian.PutUint32(n[:4], uint32(fi.Mode()))
	h.Write(n[:4])
	h.Write([]byte(owner(fi)))
	h.Write([]byte{0})
	if m, err := io.Copy(h, io.LimitReader(f, MaxSize+1)); err != nil || m > MaxSize {
		return "", false
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// Set is the state of several files, by path.
type Set map[string]string

// Snapshot returns the states of paths, or ok false when one of them has none.
// Duplicate and empty paths are ignored.
func Snapshot(paths []string) (Set, bool) {
	s := make(Set, len(paths))
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, done := s[p]; done {
			continue
		}
		st, ok := Of(p)
		if !ok {
			return nil, false
		}
		s[p] = st
	}
	return s, true
}

// Unchanged reports whether every file of s is still in the state s holds.
func (s Set) Unchanged() bool {
	for p, want := range s {
		if st, ok := Of(p); !ok || st != want {
			return false
		}
	}
	return true
}

// Equal reports whether s and o hold the same files in the same states.
func (s Set) Equal(o Set) bool {
	if len(s) != len(o) {
		return false
	}
	for p, st := range s {
		if o[p] != st {
			return false
		}
	}
	return true
}

// Paths lists the files of s in order.
func (s Set) Paths() []string {
	ps := make([]string, 0, len(s))
	for p := range s {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}
