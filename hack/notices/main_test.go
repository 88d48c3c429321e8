package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed file is what the generator writes today: a new dependency, a dependency
// upgrade or a changed licence file makes this fail until `make notices` is run.
func TestCommittedFileIsCurrent(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(root, releasePlatforms)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(filepath.Join(root, fileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Fatalf("%s is stale; run `make notices` and review the difference\n%s", fileName, firstDifference(have, want))
	}
	// The product's own heavy dependencies are there, with their texts.
	for _, s := range []string{"\ngithub.com/aws/aws-sdk-go-v2 v", "\ngithub.com/Azure/azure-sdk-for-go/sdk/azidentity v", "\nGo standard library\n", "Apache License", "Redistribution and use in source and binary forms"} {
		if !bytes.Contains(have, []byte(s)) {
			t.Errorf("%s lacks %q", fileName, s)
		}
	}
}

func TestIsLicenceFile(t *testing.T) {
	for name, want := range map[string]bool{
		"LICENSE": true, "LICENSE.txt": true, "LICENSE.md": true, "license": true, "LICENCE": true,
		"LICENSE-MIT": true, "LICENSE.docs": true, "COPYING": true, "NOTICE": true, "NOTICE.txt": true,
		"PATENTS": true, "UNLICENSE": true, "LICENSE.libyaml": true,
		"license.go": false, "licenses.go": false, "README.md": false, "LICENSES": false,
		"notices.txt": false, "mylicense": false, "go.mod": false,
	} {
		if got := isLicenceFile(name); got != want {
			t.Errorf("isLicenceFile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	mk := func(path, content string) string {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if content != "" {
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return filepath.Dir(p)
	}
	goroot := mk("goroot/LICENSE", "go licence")
	// a: licence at the root, one package deep below it, a second licence next to it.
	aRoot := mk("a@v1/LICENSE", "MIT a")
	aDeep := mk("a@v1/x/y/z.go", "package y")
	aVendored := mk("a@v1/third_party/LICENSE", "BSD forked")
	// b: no licence at its root; one package has its own, the other none.
	bRoot := mk("b@v2/go.mod", "module b")
	bGood := mk("b@v2/good/LICENSE.txt", "b good")
	bBad := mk("b@v2/bad/bad.go", "package bad")
	// c: replaced by a fork, whose files count.
	cFork := mk("c-fork@v3/COPYING", "GPL? no: fork licence")
	mainMod := &module{Path: "example.test/main", Main: true, Dir: dir}

	pkgs := func(ps ...pkg) []pkg { return ps }
	std := pkg{ImportPath: "fmt", Standard: true, Dir: filepath.Join(goroot, "src/fmt")}
	a := &module{Path: "a", Version: "v1", Dir: aRoot}
	b := &module{Path: "b", Version: "v2", Dir: bRoot}
	c := &module{Path: "c", Version: "v3", Replace: &module{Path: "c-fork", Version: "v3", Dir: cFork}}

	for _, tc := range []struct {
		name    string
		pkgs    []pkg
		want    string // component: files, one per line
		wantErr []string
	}{
		{"std, a module, the main module skipped",
			pkgs(std, pkg{ImportPath: "example.test/main/cmd/x", Module: mainMod, Dir: dir},
				pkg{ImportPath: "a/x/y", Module: a, Dir: aDeep}, pkg{ImportPath: "a/third_party", Module: a, Dir: aVendored}),
			"Go standard library: LICENSE\na v1: LICENSE third_party/LICENSE", nil},
		{"a package's own licence covers it; files of unlinked packages are not listed",
			pkgs(pkg{ImportPath: "a/x/y", Module: a, Dir: aDeep}, pkg{ImportPath: "b/good", Module: b, Dir: bGood}),
			"a v1: LICENSE\nb v2: good/LICENSE.txt", nil},
		{"a linked package with no licence anywhere up to its module root fails, named",
			pkgs(pkg{ImportPath: "b/good", Module: b, Dir: bGood}, pkg{ImportPath: "b/bad", Module: b, Dir: bBad}),
			"", []string{"b/bad (module b@v2)"}},
		{"a replaced module: its replacement's files, under the original path",
			pkgs(pkg{ImportPath: "c", Module: c, Dir: cFork}),
			"c v3: COPYING", nil},
	} {
		comps, err := collect(tc.pkgs, goroot)
		if tc.wantErr != nil {
			if err == nil {
				t.Errorf("%s: no error", tc.name)
				continue
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q lacks %q", tc.name, err, w)
				}
			}
			if strings.Contains(err.Error(), "b/good") {
				t.Errorf("%s: error %q names a covered package", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var lines []string
		for _, c := range comps {
			l := strings.TrimSpace(c.Path+" "+c.Version) + ":"
			for _, f := range c.Files {
				l += " " + f.Name
			}
			lines = append(lines, l)
		}
		if got := strings.Join(lines, "\n"); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// Identical texts (after line-end normalization) are printed once, under every component
// that carries them, and each component line points at its texts' numbers.
func TestRenderSharesTexts(t *testing.T) {
	out := string(render([]component{
		{Path: stdName, Files: []file{{Name: "LICENSE", Text: []byte("BSD text\n")}}},
		{Path: "a", Version: "v1", Files: []file{{Name: "LICENSE", Text: []byte("Apache text\n")}, {Name: "NOTICE", Text: []byte("a notice")}}},
		{Path: "b", Version: "v2", Files: []file{{Name: "LICENSE.txt", Text: []byte("Apache text\r\n\r\n")}}},
		{Path: "x", Version: "v0.1.0", Files: []file{{Name: "sub/LICENSE", Text: []byte("BSD text")}}},
	}, []string{"linux/amd64"}))
	for _, want := range []string{
		"Platforms: linux/amd64\n",
		"\nGo standard library\n    LICENSE [1]\n",
		"\na v1\n    LICENSE [2], NOTICE [3]\n",
		"\nb v2\n    LICENSE.txt [2]\n",
		"\nx v0.1.0\n    sub/LICENSE [1]\n",
		"[1]\n    Go standard library: LICENSE\n    x v0.1.0: sub/LICENSE\n" + rule + "\nBSD text\n",
		"[2]\n    a v1: LICENSE\n    b v2: LICENSE.txt\n" + rule + "\nApache text\n",
		"[3]\n    a v1: NOTICE\n" + rule + "\na notice\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Apache text"); n != 1 {
		t.Errorf("shared text printed %d times", n)
	}
}
