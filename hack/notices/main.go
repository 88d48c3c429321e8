// Command notices writes THIRD_PARTY_NOTICES: every module linked into the binaries we
// ship (each main package under cmd/, on every release platform), with the licence and
// notice files that module carries, reproduced in full.
//
// The list of linked packages comes from `go list -deps` for each platform with
// CGO_ENABLED=0, as the release builds them; the files from the module cache. Every
// linked package must have a licence file in its own directory or in one above it within
// its module; when one does not, nothing is written and the package is named, so a new
// dependency cannot ship without its licence being looked at.
//
//	go run ./hack/notices          # rewrite THIRD_PARTY_NOTICES
//	go run ./hack/notices -check   # exit 1 if THIRD_PARTY_NOTICES is not what it would write
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// releasePlatforms are the GOOS/GOARCH pairs the notices cover: every platform a release is
// built for, and those announced. The release build refuses a platform not listed here.
var releasePlatforms = []string{"linux/amd64", "linux/arm64", "windows/amd64"}

// fileName is the generated file, at the module root.
const fileName = "THIRD_PARTY_NOTICES"

func main() {
	check := flag.Bool("check", false, "do not write; exit 1 if "+fileName+" is stale")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "notices:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	want, err := generate(root, releasePlatforms)
	if err != nil {
		return err
	}
	path := filepath.Join(root, fileName)
	if check {
		have, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%v (run `make notices`)", err)
		}
		if !bytes.Equal(have, want) {
			return fmt.Errorf("%s is stale: the dependencies or their licence files changed; run `make notices` and review the difference\n%s", fileName, firstDifference(have, want))
		}
		return nil
	}
	return os.WriteFile(path, want, 0o644)
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// generate returns the notices file for the main packages under root/cmd, built for
// platforms.
func generate(root string, platforms []string) ([]byte, error) {
	lists := make([][]pkg, len(platforms))
	errs := make([]error, len(platforms))
	var wg sync.WaitGroup
	for i, p := range platforms {
		wg.Go(func() { lists[i], errs[i] = listDeps(root, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var pkgs []pkg
	for _, l := range lists {
		pkgs = append(pkgs, l...)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %v", err)
	}
	comps, err := collect(pkgs, strings.TrimSpace(string(goroot)))
	if err != nil {
		return nil, err
	}
	return render(comps, platforms), nil
}

// pkg is the part of `go list -json` output the notices need.
type pkg struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *module
}

// module is a module as `go list -json` describes it.
type module struct {
	Path    string
	Version string
	Dir     string
	Main    bool
	Replace *module
}

func listDeps(root, platform string) ([]pkg, error) {
	goos, goarch, ok := strings.Cut(platform, "/")
	if !ok {
		return nil, fmt.Errorf("platform %q: want GOOS/GOARCH", platform)
	}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Dir,Standard,Module", "./cmd/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list for %s: %v: %s", platform, err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list for %s: %v", platform, err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// component is one module (or the Go standard library) and its licence files.
type component struct {
	Path    string // module path, or "Go standard library"
	Version string // module version; empty for the standard library
	Files   []file // sorted by name
}

// file is one licence or notice file of a component.
type file struct {
	Name string // slash-separated, relative to the module root
	Text []byte
}

// stdName names the standard library in the list.
const stdName = "Go standard library"

// collect finds the licence files of every module the packages belong to, and of the
// standard library (in goroot) when any package is from it. Components are sorted by
// path, the standard library first.
func collect(pkgs []pkg, goroot string) ([]component, error) {
	type mod struct {
		path, version, dir string
		pkgDirs            map[string]string // package dir -> import path
	}
	mods := map[string]*mod{}
	std := false
	for _, p := range pkgs {
		if p.Standard {
			std = true
			continue
		}
		m := p.Module
		if m == nil {
			return nil, fmt.Errorf("package %s belongs to no module", p.ImportPath)
		}
		if m.Main {
			continue
		}
		path := m.Path
		if m.Replace != nil {
			m = m.Replace
		}
		key := path + "@" + m.Version
		if mods[key] == nil {
			mods[key] = &mod{path: path, version: m.Version, dir: m.Dir, pkgDirs: map[string]string{}}
		}
		mods[key].pkgDirs[p.Dir] = p.ImportPath
	}

	var comps []component
	var missing []string
	for _, m := range mods {
		files := map[string]file{}
		for dir, importPath := range m.pkgDirs {
			found, err := licenceFilesUp(m.dir, dir)
			if err != nil {
				return nil, fmt.Errorf("%s@%s: %v", m.path, m.version, err)
			}
			if len(found) == 0 {
				missing = append(missing, fmt.Sprintf("%s (module %s@%s)", importPath, m.path, m.version))
			}
			for _, f := range found {
				files[f.Name] = f
			}
		}
		comps = append(comps, component{Path: m.path, Version: m.version, Files: sortedFiles(files)})
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("no licence file in the directory of these linked packages or above it in their module; find the licence before shipping them:\n  %s", strings.Join(missing, "\n  "))
	}
	sort.Slice(comps, func(i, j int) bool {
		if comps[i].Path != comps[j].Path {
			return comps[i].Path < comps[j].Path
		}
		return comps[i].Version < comps[j].Version
	})
	if std {
		files, err := licenceFiles(goroot, "")
		if err != nil {
			return nil, fmt.Errorf("the Go standard library: %v", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("the Go standard library: no licence file in GOROOT %s", goroot)
		}
		comps = append([]component{{Path: stdName, Files: files}}, comps...)
	}
	return comps, nil
}

// licenceFilesUp returns the licence files in dir and each directory above it up to and
// including modDir.
func licenceFilesUp(modDir, dir string) ([]file, error) {
	rel, err := filepath.Rel(modDir, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("package directory %s is outside the module directory %s", dir, modDir)
	}
	var all []file
	for {
		name := filepath.ToSlash(rel)
		if name == "." {
			name = ""
		}
		files, err := licenceFiles(dir, name)
		if err != nil {
			return nil, err
		}
		all = append(all, files...)
		if rel == "." {
			return all, nil
		}
		dir, rel = filepath.Dir(dir), filepath.Dir(rel)
	}
}

// licenceName matches the names modules give their licence and notice files: LICENSE,
// LICENCE, COPYING, NOTICE, PATENTS, UNLICENSE, any case, with or without a suffix such
// as .txt, .md or -MIT.
var licenceName = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice|patents|unlicense)([-._][a-z0-9.-]*)?$`)

// isLicenceFile reports whether a file name is a licence or notice file.
func isLicenceFile(name string) bool {
	return licenceName.MatchString(name) && !strings.HasSuffix(strings.ToLower(name), ".go")
}

// licenceFiles reads the licence files directly in dir; rel is dir relative to the
// module root ("" for the root), for the names.
func licenceFiles(dir, rel string) ([]file, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []file
	for _, e := range entries {
		if !e.Type().IsRegular() || !isLicenceFile(e.Name()) {
			continue
		}
		text, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		name := e.Name()
		if rel != "" {
			name = rel + "/" + name
		}
		files = append(files, file{Name: name, Text: text})
	}
	return files, nil
}

func sortedFiles(m map[string]file) []file {
	files := make([]file, 0, len(m))
	for _, f := range m {
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files
}

const rule = "================================================================================\n"

// render writes the notices: a header, the table of components with the number of each
// of their files' texts, then each distinct text once, under the components that ship it.
func render(comps []component, platforms []string) []byte {
	type text struct {
		body  []byte
		users []string
	}
	var texts []*text
	index := map[string]int{} // normalized body -> 1-based text number
	var b bytes.Buffer
	b.WriteString(`THIRD-PARTY SOFTWARE NOTICES

image-credential-provider is licensed under the Apache License 2.0 (see LICENSE). Its
binaries also contain the software listed below, which comes under the licences
reproduced after the list, exactly as each component ships them. A text shared by
several components is printed once, with the components that carry it.

Generated by ` + "`make notices`" + ` (go run ./hack/notices) from ` + "`go list -deps`" + ` of every
program under cmd/ and the files in each module; do not edit by hand.

`)
	fmt.Fprintf(&b, "Platforms: %s\n\n", strings.Join(platforms, " "))

	b.WriteString("Components, each with its files and the number of their text below:\n\n")
	for _, c := range comps {
		var names []string
		for _, f := range c.Files {
			body := normalize(f.Text)
			n, ok := index[string(body)]
			if !ok {
				texts = append(texts, &text{body: body})
				n = len(texts)
				index[string(body)] = n
			}
			texts[n-1].users = append(texts[n-1].users, strings.TrimSpace(c.Path+" "+c.Version)+": "+f.Name)
			names = append(names, fmt.Sprintf("%s [%d]", f.Name, n))
		}
		b.WriteString(strings.TrimSpace(c.Path+" "+c.Version) + "\n    " + strings.Join(names, ", ") + "\n")
	}
	for i, t := range texts {
		b.WriteString("\n" + rule)
		fmt.Fprintf(&b, "[%d]\n", i+1)
		for _, u := range t.users {
			b.WriteString("    " + u + "\n")
		}
		b.WriteString(rule + "\n")
		b.Write(t.body)
	}
	return b.Bytes()
}

// normalize makes line ends LF, drops trailing spaces and blank lines at the ends, and
// ends the text with one newline; the words are untouched.
func normalize(text []byte) []byte {
	lines := strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	s := strings.Trim(strings.Join(lines, "\n"), "\n")
	return []byte(s + "\n")
}

// firstDifference describes the first line where two versions of the file differ.
func firstDifference(have, want []byte) string {
	h, w := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(h) || i < len(w); i++ {
		var hl, wl string
		if i < len(h) {
			hl = h[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if hl != wl {
			return fmt.Sprintf("first difference at line %d:\n  committed: %s\n  expected:  %s", i+1, hl, wl)
		}
	}
	return ""
}
