package docs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// internalWord is the project's own word for one of the clouds' own credential
// provider plugins (ecr-credential-provider, auth-provider-gcp,
// acr-credential-provider). It means nothing outside the project, so no file says it
// in any form: the pattern matches it inside identifiers too (an upper-case env var,
// a camelCase name). The group keeps this line from matching itself.
var internalWord = regexp.MustCompile(`(?i)anch(?:or)`)

// otherSense says whether a line that holds the word uses it in a sense the world
// shares: a YAML anchor (the line also speaks of aliases or YAML, or defines one, as
// in "key: &name"), or a Markdown link target (the line also holds a "](#" link or
// speaks of headings).
var otherSense = regexp.MustCompile(`(?i)\balias|\byaml\b|:\s&\w|\]\(#|\bheading`)

// scanned says whether the word check reads a repository file: not vendored code,
// not test data (fuzz corpora, recorded inputs), not a Kubernetes checkout under
// test/harness.
func scanned(path string) bool {
	if strings.HasPrefix(path, "test/harness/k8s") {
		return false
	}
	return !slices.ContainsFunc(strings.Split(path, "/"), func(dir string) bool {
		return dir == "vendor" || dir == "testdata"
	})
}

// internalWordProblems is a problem for each line of each file (path → contents)
// that says the internal word other than in its YAML or Markdown sense.
func internalWordProblems(files map[string]string) problems {
	var p problems
	paths := make([]string, 0, len(files))
	for path := range files {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	for _, path := range paths {
		for i, line := range strings.Split(files[path], "\n") {
			if m := internalWord.FindString(line); m != "" && !otherSense.MatchString(line) {
				p.add("%s:%d: %q: say which plugin is meant (ecr-credential-provider, auth-provider-gcp, acr-credential-provider, the cloud's own plugin)", path, i+1, strings.TrimSpace(line))
			}
		}
	}
	return p
}

// trackedFiles reads the repository's git-tracked text files the word check scans.
func trackedFiles(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files (the check needs the repository's git checkout): %v", err)
	}
	files := map[string]string{}
	for _, path := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if !scanned(path) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(path)))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet committed
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		files[path] = string(data)
	}
	return files
}

// No tracked file says the project's internal word for a cloud's own plugin: not in
// code comments, test names, help, errors, scripts or docs.
func TestNoInternalWord(t *testing.T) {
	files := trackedFiles(t)
	for _, must := range []string{"README.md", "internal/docs/docs_test.go", "test/bench/side-by-side.sh", "ecr/dropin.go"} {
		if _, ok := files[must]; !ok {
			t.Fatalf("the scan did not read %s (%d files): it would prove nothing", must, len(files))
		}
	}
	for _, problem := range internalWordProblems(files) {
		t.Error(problem)
	}
}

// The word check fires on the word planted in a comment, a script's variable or a
// test name, and lets through the YAML and Markdown senses; the files it skips are
// only vendored code, test data and a Kubernetes checkout.
func TestInternalWordCatches(t *testing.T) {
	// Split, so that this file passes its own check.
	word := "anch" + "or"
	for _, tt := range []struct {
		name, line string
		fires      bool
	}{
		{"a planted comment", "// Timeout is what the " + word + " waits for.", true},
		{"in a sentence, capitalised", "# " + strings.ToUpper(word[:1]) + word[1:] + "s cache nothing.", true},
		{"in a script's variable", `env "$` + strings.ToUpper(word) + `_BIN" <req`, true},
		{"in a Go identifier", "\t" + word + "Bin := flag.String(...)", true},
		{"in a test name", `t.Run("the ` + word + `'s arguments", func(t *testing.T) {`, true},
		{"an address-of is not YAML", "\tx := &" + word + "Config{}", true},
		{"YAML anchors and aliases", "// gives up on flow mappings, " + word + "s, aliases, tags", false},
		{"a YAML anchor defined", `{"` + word + `", "cache: &c\n  dir: /x\n", "", false, false},`, false},
		{"a Markdown link", `{"a broken ` + word + `", "](#windows-nodes)", "](#windows)"},`, false},
		{"heading link targets", "// slugs are the " + word + "s GitHub gives a document's headings", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text := "package x\n\n" + tt.line + "\n"
			got := internalWordProblems(map[string]string{"x/planted.go": text})
			if fired := len(got) > 0; fired != tt.fires {
				t.Fatalf("%q: problems %q, want fired=%v", tt.line, got, tt.fires)
			}
			if tt.fires && !strings.HasPrefix(got[0], "x/planted.go:3: ") {
				t.Errorf("the problem does not name the file and line: %q", got[0])
			}
		})
	}

	for _, tt := range []struct {
		path string
		want bool
	}{
		{"README.md", true},
		{"test/bench/acr/bench.sh", true},
		{"internal/docs/words_test.go", true},
		{"test/harness/go.mod", true},
		{"test/harness/k8s/pkg/x.go", false},
		{"ecr/testdata/fuzz/FuzzX/abc", false},
		{"vendor/example.com/m/m.go", false},
		{"test/harness/vendor/k8s.io/x.go", false},
	} {
		if got := scanned(tt.path); got != tt.want {
			t.Errorf("scanned(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
