package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

var commitTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type hdr struct {
	name       string
	mode       int64
	typ        byte
	uid, gid   int
	uname      string
	mtime      time.Time
	size       int64
	paxRecords int
}

func readTar(t *testing.T, r io.Reader) ([]hdr, map[string][]byte) {
	t.Helper()
	tr := tar.NewReader(r)
	var hs []hdr
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = data
		hs = append(hs, hdr{h.Name, h.Mode, h.Typeflag, h.Uid, h.Gid, h.Uname, h.ModTime.UTC(), h.Size, len(h.PAXRecords)})
	}
}

func TestWriteTar(t *testing.T) {
	members := []member{
		{name: "top/z", mode: 0o644, data: []byte("z")},
		{name: "top/bin/b", mode: 0o755, data: []byte("bb")},
		{name: "top/a", mode: 0o644, data: []byte("a")},
	}
	var one, two bytes.Buffer
	if err := writeTar(&one, members, commitTime.Add(123*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	reversed := []member{members[2], members[1], members[0]}
	if err := writeTar(&two, reversed, commitTime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("member order or sub-second time changed the bytes")
	}
	hs, files := readTar(t, &one)
	d := func(name string) hdr { return hdr{name, 0o755, tar.TypeDir, 0, 0, "root", commitTime, 0, 0} }
	f := func(name string, mode, size int64) hdr {
		return hdr{name, mode, tar.TypeReg, 0, 0, "root", commitTime, size, 0}
	}
	want := []hdr{d("top/"), f("top/a", 0o644, 1), d("top/bin/"), f("top/bin/b", 0o755, 2), f("top/z", 0o644, 1)}
	if !reflect.DeepEqual(hs, want) {
		t.Errorf("entries:\n got %+v\nwant %+v", hs, want)
	}
	if string(files["top/bin/b"]) != "bb" {
		t.Errorf("content %q", files["top/bin/b"])
	}

	for _, bad := range [][]member{
		{{name: "/abs", mode: 0o644}},
		{{name: "../up", mode: 0o644}},
		{{name: "a/../b", mode: 0o644}},
		{{name: "./a", mode: 0o644}},
		{{name: "", mode: 0o644}},
		{{name: "a", mode: 0o644}, {name: "a", mode: 0o644}},
		{{name: "a", mode: 0o644}, {name: "a/b", mode: 0o644}},
		{{name: "a/b", mode: 0o644}, {name: "a", mode: 0o644}},
	} {
		if err := writeTar(io.Discard, bad, commitTime); err == nil {
			t.Errorf("writeTar(%+v) accepted", bad)
		}
	}
}

// The gzip header carries no name and no time (RFC 1952: MTIME 0 = none).
func TestGzipHeader(t *testing.T) {
	z, err := gzipBytes([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if z[3] != 0 || binary.LittleEndian.Uint32(z[4:8]) != 0 {
		t.Errorf("gzip header flags %#x mtime %d, want 0 and 0", z[3], binary.LittleEndian.Uint32(z[4:8]))
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := io.ReadAll(zr); string(out) != "hello" {
		t.Errorf("round trip: %q", out)
	}
}

// fakeELF is the smallest ELF file debug/elf reads: a header and program headers of the
// given types, for the given machine.
func fakeELF(machine elf.Machine, progs ...elf.ProgType) []byte {
	var b bytes.Buffer
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: uint16(len(progs))}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.Write(&b, binary.LittleEndian, h)
	for _, p := range progs {
		binary.Write(&b, binary.LittleEndian, elf.Prog64{Type: uint32(p)})
	}
	return b.Bytes()
}

func TestCheckBinary(t *testing.T) {
	for _, c := range []struct {
		name         string
		data         []byte
		goos, goarch string
		wantErr      string
	}{
		{"static amd64", fakeELF(elf.EM_X86_64, elf.PT_LOAD), "linux", "amd64", ""},
		{"static arm64", fakeELF(elf.EM_AARCH64, elf.PT_LOAD), "linux", "arm64", ""},
		{"dynamic", fakeELF(elf.EM_X86_64, elf.PT_INTERP, elf.PT_LOAD, elf.PT_DYNAMIC), "linux", "amd64", "dynamically linked"},
		{"wrong architecture", fakeELF(elf.EM_X86_64, elf.PT_LOAD), "linux", "arm64", "not arm64"},
		{"not ELF", []byte("#!/bin/sh\n"), "linux", "amd64", "not an ELF"},
	} {
		err := checkBinary(c.data, c.goos, c.goarch)
		if (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
		}
	}
}

// A source tree and dist/bin as `make release` leaves them before this program runs.
func setup(t *testing.T, platforms string) options {
	t.Helper()
	dir := t.TempDir()
	src, dist := filepath.Join(dir, "src"), filepath.Join(dir, "dist")
	writeFile(t, filepath.Join(src, "LICENSE"), "Apache License\n", 0o644)
	writeFile(t, filepath.Join(src, "README.md"), "# readme\n", 0o644)
	writeFile(t, filepath.Join(src, "THIRD_PARTY_NOTICES"), "THIRD-PARTY\n\nPlatforms: "+platforms+"\n\nnotices\n", 0o644)
	for arch, m := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		for _, b := range []string{"image-credential-provider", "image-credential-provider-ecr"} {
			writeFile(t, filepath.Join(dist, "bin", "linux_"+arch, b), string(fakeELF(m, elf.PT_LOAD))+b+arch, 0o755)
		}
	}
	return options{version: "v1.2.3-rc.1", commit: strings.Repeat("ab", 20), date: commitTime.Format(time.RFC3339),
		platforms: []string{"linux/amd64", "linux/arm64"}, dist: dist, src: src,
		image: "registry.example/icp", source: "https://example.test/icp"}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestRunReproducible(t *testing.T) {
	a, b := setup(t, "linux/amd64 linux/arm64"), setup(t, "linux/amd64 linux/arm64")
	c := setup(t, "linux/amd64 linux/arm64")
	c.commit = strings.Repeat("cd", 20)
	for _, o := range []options{a, b, c} {
		if err := run(o, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	sums := func(o options) string {
		data, err := os.ReadFile(filepath.Join(o.dist, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if sums(a) != sums(b) {
		t.Errorf("two runs on the same inputs differ:\n%s\n%s", sums(a), sums(b))
	}
	if sums(a) == sums(c) {
		t.Error("another commit gave the same SHA256SUMS: the commit is not in the artifacts")
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(sums(a)), "\n") {
		names = append(names, strings.Fields(l)[1])
	}
	want := []string{
		"bin/linux_amd64/image-credential-provider", "bin/linux_amd64/image-credential-provider-ecr",
		"bin/linux_arm64/image-credential-provider", "bin/linux_arm64/image-credential-provider-ecr",
		"image-credential-provider_v1.2.3-rc.1_linux_amd64.tar.gz",
		"image-credential-provider_v1.2.3-rc.1_linux_arm64.tar.gz",
		"image-credential-provider_v1.2.3-rc.1_oci-image.tar",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("SHA256SUMS lists %q, want %q", names, want)
	}
}

func TestRunArchive(t *testing.T) {
	o := setup(t, "linux/amd64 linux/arm64")
	if err := run(o, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(o.dist, "image-credential-provider_v1.2.3-rc.1_linux_arm64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	hs, files := readTar(t, zr)
	var got []string
	for _, h := range hs {
		if h.uid != 0 || h.gid != 0 || !h.mtime.Equal(commitTime) {
			t.Errorf("%s: owner %d:%d mtime %v", h.name, h.uid, h.gid, h.mtime)
		}
		got = append(got, h.name+" "+strings.TrimPrefix(fmtMode(h.mode), "0"))
	}
	top := "image-credential-provider_v1.2.3-rc.1_linux_arm64/"
	want := []string{top + " 755", top + "LICENSE 644", top + "README.md 644", top + "THIRD_PARTY_NOTICES 644",
		top + "image-credential-provider 755", top + "image-credential-provider-ecr 755"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("archive:\n got %q\nwant %q", got, want)
	}
	if !strings.HasSuffix(string(files[top+"image-credential-provider-ecr"]), "image-credential-provider-ecrarm64") {
		t.Error("the arm64 archive does not hold the arm64 binary")
	}
}

func fmtMode(m int64) string { return fmt.Sprintf("%04o", m) }

func TestRunImage(t *testing.T) {
	o := setup(t, "linux/amd64 linux/arm64")
	if err := run(o, io.Discard); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(filepath.Join(o.dist, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want 1", len(tm.Manifests))
	}
	if a := tm.Manifests[0].Annotations; a["io.containerd.image.name"] != "registry.example/icp:v1.2.3-rc.1" || a["org.opencontainers.image.ref.name"] != "v1.2.3-rc.1" {
		t.Errorf("index.json annotations %v", a)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations["org.opencontainers.image.revision"] != o.commit {
		t.Errorf("index annotations %v", im.Annotations)
	}
	var plats []string
	for _, d := range im.Manifests {
		plats = append(plats, d.Platform.String())
		if d.ArtifactType != "" {
			t.Errorf("%s: artifactType %q on an image", d.Platform, d.ArtifactType)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != d.Platform.String() || !cf.Created.Time.Equal(commitTime) {
			t.Errorf("%s: config os/arch %s/%s created %v", d.Platform, cf.OS, cf.Architecture, cf.Created)
		}
		if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/usr/local/bin/image-credential-provider"}) {
			t.Errorf("%s: entrypoint %q", d.Platform, cf.Config.Entrypoint)
		}
		wantLabels := map[string]string{
			"org.opencontainers.image.version":  "v1.2.3-rc.1",
			"org.opencontainers.image.revision": o.commit,
			"org.opencontainers.image.created":  "2025-06-01T12:00:00Z",
			"org.opencontainers.image.source":   "https://example.test/icp",
			"org.opencontainers.image.licenses": "Apache-2.0",
			"org.opencontainers.image.title":    "image-credential-provider",
		}
		for k, v := range wantLabels {
			if cf.Config.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", d.Platform, k, cf.Config.Labels[k], v)
			}
		}
		if cf.Config.Labels["org.opencontainers.image.description"] == "" {
			t.Errorf("%s: no description label", d.Platform)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: %d layers, %v", d.Platform, len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		hs, files := readTar(t, rc)
		rc.Close()
		var got []string
		for _, h := range hs {
			if h.uid != 0 || h.gid != 0 || !h.mtime.Equal(commitTime) {
				t.Errorf("%s: %s owner %d:%d mtime %v", d.Platform, h.name, h.uid, h.gid, h.mtime)
			}
			got = append(got, h.name+" "+fmtMode(h.mode))
		}
		want := []string{"usr/ 0755", "usr/local/ 0755", "usr/local/bin/ 0755",
			"usr/local/bin/image-credential-provider 0755", "usr/local/bin/image-credential-provider-ecr 0755",
			"usr/share/ 0755", "usr/share/doc/ 0755", "usr/share/doc/image-credential-provider/ 0755",
			"usr/share/doc/image-credential-provider/LICENSE 0644", "usr/share/doc/image-credential-provider/THIRD_PARTY_NOTICES 0644"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s layer:\n got %q\nwant %q", d.Platform, got, want)
		}
		if arch := d.Platform.Architecture; !strings.HasSuffix(string(files["usr/local/bin/image-credential-provider"]), arch) {
			t.Errorf("%s: the layer holds another platform's binary", d.Platform)
		}
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(plats, want) {
		t.Errorf("platforms %q, want %q", plats, want)
	}

	// The tarball is the layout directory, file for file.
	f, err := os.Open(filepath.Join(o.dist, "image-credential-provider_v1.2.3-rc.1_oci-image.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, files := readTar(t, f)
	for name, data := range files {
		if strings.HasSuffix(name, "/") {
			continue
		}
		disk, err := os.ReadFile(filepath.Join(o.dist, "oci", filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(disk, data) {
			t.Errorf("tarball member %s differs from the layout (%v)", name, err)
		}
	}
	if _, ok := files["index.json"]; !ok {
		t.Error("tarball has no index.json at its root")
	}
	if _, ok := files["oci-layout"]; !ok {
		t.Error("tarball has no oci-layout at its root")
	}
}

func TestRunRefuses(t *testing.T) {
	for _, c := range []struct {
		name    string
		change  func(*options)
		wantErr string
	}{
		{"version without v", func(o *options) { o.version = "1.2.3" }, "want vMAJOR"},
		{"version with build metadata", func(o *options) { o.version = "v1.2.3+meta" }, "want vMAJOR"},
		{"short commit", func(o *options) { o.commit = "abc123" }, "full git commit"},
		{"local time", func(o *options) { o.date = "2025-06-01T14:00:00+02:00" }, "YYYY-MM-DDTHH:MM:SSZ"},
		{"platform the notices do not cover", func(o *options) {
			writeFile(t, filepath.Join(o.src, "THIRD_PARTY_NOTICES"), "Platforms: linux/amd64\n", 0o644)
		}, "does not cover linux/arm64"},
		{"dynamic binary", func(o *options) {
			writeFile(t, filepath.Join(o.dist, "bin", "linux_arm64", "image-credential-provider-ecr"), string(fakeELF(elf.EM_AARCH64, elf.PT_INTERP)), 0o755)
		}, "dynamically linked"},
		{"no main binary for the entrypoint", func(o *options) {
			os.Remove(filepath.Join(o.dist, "bin", "linux_amd64", "image-credential-provider"))
		}, "no image-credential-provider binary"},
		{"platform not built", func(o *options) { o.platforms = append(o.platforms, "windows/amd64") }, "binaries for windows/amd64"},
	} {
		o := setup(t, "linux/amd64 linux/arm64 windows/amd64")
		c.change(&o)
		err := run(o, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
		}
	}
}

// A Windows platform gets an archive of its .exe programs; the image stays Linux only,
// since a Windows image cannot be built without a Windows base layer.
func TestRunWindowsArchiveOnly(t *testing.T) {
	o := setup(t, "linux/amd64 linux/arm64 windows/amd64")
	o.platforms = append(o.platforms, "windows/amd64")
	for _, b := range []string{"image-credential-provider.exe", "image-credential-provider-ecr.exe"} {
		writeFile(t, filepath.Join(o.dist, "bin", "windows_amd64", b), "MZ"+b, 0o755)
	}
	if err := run(o, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(o.dist, "image-credential-provider_v1.2.3-rc.1_windows_amd64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	_, files := readTar(t, zr)
	top := "image-credential-provider_v1.2.3-rc.1_windows_amd64/"
	for _, n := range []string{"image-credential-provider.exe", "image-credential-provider-ecr.exe", "LICENSE", "THIRD_PARTY_NOTICES", "README.md"} {
		if _, ok := files[top+n]; !ok {
			t.Errorf("windows archive lacks %s", n)
		}
	}
	p, err := layout.FromPath(filepath.Join(o.dist, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	top2, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top2.IndexManifest()
	idx, err := top2.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	var plats []string
	for _, d := range im.Manifests {
		plats = append(plats, d.Platform.String())
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(plats, want) {
		t.Errorf("image platforms %q, want %q", plats, want)
	}
}
