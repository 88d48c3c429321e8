package cache

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// leftoverAge is how old a lock file without an entry, or a temporary file, must be
// before a sweep removes it.
const leftoverAge = time.Minute

// maybeSweep runs after every store (kept is the entry just stored). It lists the
// directory's names and sweeps every entry when there are more than MaxEntries, they
// may weigh more than MaxBytes (sizes are looked at only when the entries could add up
// to that: each is at most maxEntrySize), or the last sweep, recorded in the mtime of a
// marker file, is older than SweepInterval. Hits never sweep.
func (s *Store) maybeSweep(now time.Time, kept string) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	n := 0
	for _, de := range ents {
		if isKeyHash(de.Name()) {
			n++
		}
	}
	over := n > s.opts.MaxEntries
	if !over && int64(n)*maxEntrySize > s.opts.MaxBytes {
		var size int64
		for _, de := range ents {
			if isKeyHash(de.Name()) {
				if fi, err := de.Info(); err == nil {
					size += fi.Size()
				}
			}
		}
		over = size > s.opts.MaxBytes
	}
	marker := filepath.Join(s.dir, sweepMarker)
	if !over {
		if fi, err := os.Lstat(marker); err == nil {
			if age := now.Sub(fi.ModTime()); age >= 0 && age < s.opts.SweepInterval {
				return nil
			}
		}
	}
	s.sweep(now, ents, kept)
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	return os.Chtimes(marker, now, now)
}

// sweep deletes expired and invalid entries, evicts the oldest entries beyond
// MaxEntries or MaxBytes (never kept, the entry just stored), and removes lock files
// of absent entries and temporary files left by killed processes.
func (s *Store) sweep(now time.Time, ents []os.DirEntry, kept string) {
	type live struct {
		name   string
		issued time.Time
		size   int64
	}
	var lives []live
	var total int64
	for _, de := range ents {
		name := de.Name()
		path := filepath.Join(s.dir, name)
		switch {
		case isKeyHash(name):
			e, size, err := s.readSized(name)
			switch {
			case err == nil && e.state(now) != Expired:
				lives = append(lives, live{name, e.Issued, size})
				total += size
			case err == nil || errors.Is(err, errInvalid):
				os.Remove(path)
			}
		case strings.HasSuffix(name, lockSuffix) && isKeyHash(strings.TrimSuffix(name, lockSuffix)):
			if !olderThan(de, leftoverAge) {
				continue
			}
			if _, err := os.Lstat(filepath.Join(s.dir, strings.TrimSuffix(name, lockSuffix))); !errors.Is(err, os.ErrNotExist) {
				continue
			}
			if l, ok := s.tryLockPath(path); ok {
				os.Remove(path)
				l.unlock()
			}
		case strings.HasPrefix(name, tmpPrefix):
			if olderThan(de, leftoverAge) {
				os.Remove(path)
			}
		}
	}
	sort.Slice(lives, func(i, j int) bool {
		if !lives[i].issued.Equal(lives[j].issued) {
			return lives[i].issued.Before(lives[j].issued)
		}
		return lives[i].name < lives[j].name
	})
	n := len(lives)
	for _, l := range lives {
		if n <= s.opts.MaxEntries && total <= s.opts.MaxBytes {
			break
		}
		if l.name == kept {
			continue
		}
		os.Remove(filepath.Join(s.dir, l.name))
		n--
		total -= l.size
	}
}

// olderThan compares a file's mtime with the wall clock (files carry real times).
func olderThan(de os.DirEntry, age time.Duration) bool {
	fi, err := de.Info()
	return err == nil && time.Since(fi.ModTime()) > age
}
