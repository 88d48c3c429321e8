package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// A member is one regular file of an archive.
type member struct {
	name string // slash-separated, relative, no leading "./"
	mode int64  // 0o755 or 0o644
	data []byte
}

// writeTar writes the members as a tar stream whose bytes depend on nothing but its
// arguments: entries in byte order of their names, each parent directory as an entry of
// its own (mode 0755) before its contents, owner root (0:0), every time mtime, no
// access or change times, no extended attributes.
func writeTar(w io.Writer, members []member, mtime time.Time) error {
	mtime = mtime.UTC().Truncate(time.Second)
	entries := map[string]*member{}
	for i := range members {
		m := &members[i]
		if m.name == "" || strings.HasPrefix(m.name, "/") || path.Clean(m.name) != m.name || strings.HasPrefix(m.name, "../") {
			return fmt.Errorf("archive member %q: want a clean relative path", m.name)
		}
		if _, dup := entries[m.name]; dup {
			return fmt.Errorf("archive member %q twice", m.name)
		}
		entries[m.name] = m
		for d := path.Dir(m.name); d != "."; d = path.Dir(d) {
			entries[d+"/"] = nil
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		if _, clash := entries[strings.TrimSuffix(n, "/")]; strings.HasSuffix(n, "/") && clash {
			return fmt.Errorf("archive member %q is also a directory", strings.TrimSuffix(n, "/"))
		}
		names = append(names, n)
	}
	sort.Strings(names)

	tw := tar.NewWriter(w)
	for _, n := range names {
		h := &tar.Header{Name: n, Uid: 0, Gid: 0, Uname: "root", Gname: "root", ModTime: mtime}
		m := entries[n]
		if m == nil {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		} else {
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, m.mode, int64(len(m.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if m != nil {
			if _, err := tw.Write(m.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// gzipBytes compresses data at the best compression with an empty gzip header (no name,
// no modification time), so the output depends only on data and the Go release.
func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tarGz is writeTar then gzipBytes.
func tarGz(members []member, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeTar(&buf, members, mtime); err != nil {
		return nil, err
	}
	return gzipBytes(buf.Bytes())
}
