// Command release packages the binaries `make release` built into dist/: one tar.gz per
// platform, a multi-platform OCI image (as a layout directory and as a tarball that
// `ctr images import` and other OCI tools accept) and SHA256SUMS.
//
// Every byte written depends only on the inputs (the binaries, LICENSE, THIRD_PARTY_NOTICES,
// README.md, the version, the commit and its time) and the Go release running it: no wall
// clock, no user or group of the builder, no directory order, no gzip timestamps. Two
// runs on the same commit give the same SHA256SUMS.
//
// It reads dist/bin/<os>_<arch>/ (every program under cmd/, as make built it) and refuses
// a dynamically linked or wrong-architecture binary, a platform the third-party notices do
// not cover, and a version that is not a semantic version usable as an image tag.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// project is the name of the main binary, the archives and the image.
const project = "image-credential-provider"

// docs go into every archive; the licence files also into the image.
var (
	licenceFiles = []string{"LICENSE", "THIRD_PARTY_NOTICES"}
	archiveDocs  = []string{"LICENSE", "README.md", "THIRD_PARTY_NOTICES"}
)

type options struct {
	version, commit, date string
	platforms             []string
	dist, src             string
	image, source         string
}

func main() {
	var o options
	var platforms string
	flag.StringVar(&o.version, "version", "", "release version, vMAJOR.MINOR.PATCH[-PRERELEASE]")
	flag.StringVar(&o.commit, "commit", "", "full git commit of the release")
	flag.StringVar(&o.date, "date", "", "the commit's time, RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)")
	flag.StringVar(&platforms, "platforms", "linux/amd64 linux/arm64", "space-separated GOOS/GOARCH list")
	flag.StringVar(&o.dist, "dist", "dist", "output directory; binaries are read from <dist>/bin/<os>_<arch>")
	flag.StringVar(&o.src, "src", ".", "the source tree (LICENSE, README.md, THIRD_PARTY_NOTICES)")
	flag.StringVar(&o.image, "image", "ghcr.io/imagecred/"+project, "image repository the tarball imports as")
	flag.StringVar(&o.source, "source", "https://github.com/imagecred/"+project, "source repository URL for the image labels")
	flag.Parse()
	o.platforms = strings.Fields(platforms)
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

// semver is a release version without build metadata ('+' is not allowed in an image tag).
var semver = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

func run(o options, stdout io.Writer) error {
	if !semver.MatchString(o.version) {
		return fmt.Errorf("version %q: want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v1.2.3 or v1.3.0-rc.1", o.version)
	}
	if !commitRE.MatchString(o.commit) {
		return fmt.Errorf("commit %q: want a full git commit hash", o.commit)
	}
	created, err := time.Parse(time.RFC3339, o.date)
	if err != nil || !strings.HasSuffix(o.date, "Z") {
		return fmt.Errorf("date %q: want the commit time as YYYY-MM-DDTHH:MM:SSZ", o.date)
	}
	if len(o.platforms) == 0 {
		return errors.New("no platforms")
	}
	docs := map[string][]byte{}
	for _, n := range archiveDocs {
		if docs[n], err = os.ReadFile(filepath.Join(o.src, n)); err != nil {
			return err
		}
	}
	if err := noticesCover(docs["THIRD_PARTY_NOTICES"], o.platforms); err != nil {
		return err
	}

	spec := imageSpec{name: o.image, version: o.version, commit: o.commit, created: created,
		source: o.source, entrypoint: project}
	for _, n := range licenceFiles {
		spec.licences = append(spec.licences, member{name: n, data: docs[n]})
	}
	var artifacts []string
	for _, p := range o.platforms {
		goos, goarch, _ := strings.Cut(p, "/")
		bins, err := readBinaries(filepath.Join(o.dist, "bin", goos+"_"+goarch), goos, goarch)
		if err != nil {
			return err
		}
		base := fmt.Sprintf("%s_%s_%s_%s", project, o.version, goos, goarch)
		var members []member
		for _, b := range bins {
			members = append(members, member{name: base + "/" + b.name, mode: 0o755, data: b.data})
		}
		for _, n := range archiveDocs {
			members = append(members, member{name: base + "/" + n, mode: 0o644, data: docs[n]})
		}
		tgz, err := tarGz(members, created)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.dist, base+".tar.gz"), tgz, 0o644); err != nil {
			return err
		}
		artifacts = append(artifacts, base+".tar.gz")
		for _, b := range bins {
			artifacts = append(artifacts, "bin/"+goos+"_"+goarch+"/"+b.name)
		}
		// A Windows image needs a Windows base layer; the image is Linux only.
		if goos == "linux" {
			if !hasBinary(bins, spec.entrypoint) {
				return fmt.Errorf("%s: no %s binary for the image's entrypoint", p, spec.entrypoint)
			}
			spec.perPlatform = append(spec.perPlatform, platformFiles{goos: goos, goarch: goarch, binaries: bins})
		}
	}

	if len(spec.perPlatform) > 0 {
		idx, err := buildIndex(spec)
		if err != nil {
			return fmt.Errorf("image: %v", err)
		}
		ociDir := filepath.Join(o.dist, "oci")
		if err := writeLayout(ociDir, spec, idx); err != nil {
			return fmt.Errorf("image layout: %v", err)
		}
		members, err := layoutMembers(ociDir)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := writeTar(&buf, members, created); err != nil {
			return err
		}
		name := fmt.Sprintf("%s_%s_oci-image.tar", project, o.version)
		if err := os.WriteFile(filepath.Join(o.dist, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
		artifacts = append(artifacts, name)
		digest, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "image %s, index %s (%s)\n", spec.ref(), digest, strings.Join(imagePlatforms(spec), ", "))
	}

	sums, err := checksums(o.dist, artifacts)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.dist, "SHA256SUMS"), sums, 0o644); err != nil {
		return err
	}
	_, err = stdout.Write(sums)
	return err
}

func imagePlatforms(s imageSpec) []string {
	var ps []string
	for _, p := range s.perPlatform {
		ps = append(ps, p.goos+"/"+p.goarch)
	}
	return ps
}

func hasBinary(bins []member, name string) bool {
	for _, b := range bins {
		if b.name == name {
			return true
		}
	}
	return false
}

// readBinaries reads the executables in dir, sorted by name, after checking that each
// is a static binary for goos/goarch.
func readBinaries(dir, goos, goarch string) ([]member, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("binaries for %s/%s: %v (make release builds them)", goos, goarch, err)
	}
	var bins []member
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", filepath.Join(dir, e.Name()))
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := checkBinary(data, goos, goarch); err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		bins = append(bins, member{name: e.Name(), mode: 0o755, data: data})
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("no binaries in %s", dir)
	}
	sort.Slice(bins, func(i, j int) bool { return bins[i].name < bins[j].name })
	return bins, nil
}

var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// checkBinary refuses what must not ship: a Linux binary that is dynamically linked
// (it would not run in the image or on a minimal node) or built for another architecture.
func checkBinary(data []byte, goos, goarch string) error {
	if goos != "linux" {
		return nil
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %v", err)
	}
	if want, ok := elfMachine[goarch]; !ok || f.Machine != want {
		return fmt.Errorf("built for %v, not %s", f.Machine, goarch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return errors.New("dynamically linked; build with CGO_ENABLED=0")
		}
	}
	return nil
}

// noticesCover checks that THIRD_PARTY_NOTICES lists every platform being released: its
// "Platforms:" line names those whose linked modules it covers.
func noticesCover(notices []byte, platforms []string) error {
	sc := bufio.NewScanner(bytes.NewReader(notices))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Platforms:"); ok {
			covered := map[string]bool{}
			for _, p := range strings.Fields(rest) {
				covered[p] = true
			}
			for _, p := range platforms {
				if !covered[p] {
					return fmt.Errorf("THIRD_PARTY_NOTICES does not cover %s: add it to the platforms of hack/notices and run `make notices`", p)
				}
			}
			return nil
		}
	}
	return errors.New("THIRD_PARTY_NOTICES has no Platforms: line; run `make notices`")
}

// checksums is the SHA256SUMS file for the named files under dir, sorted by name, in the
// format `sha256sum -c` reads.
func checksums(dir string, names []string) ([]byte, error) {
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	return b.Bytes(), nil
}
