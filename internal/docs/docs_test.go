package docs

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/check"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/install"
	"github.com/imagecred/image-credential-provider/internal/nodecmd"
	"github.com/imagecred/image-credential-provider/internal/plugin"
)

// repoRoot is the repository, seen from this package's directory.
var repoRoot = filepath.Join("..", "..")

func readFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// heading is one Markdown heading outside fenced code blocks.
type heading struct {
	level int
	text  string
	line  int // index into the document's lines
}

// document is a Markdown file split into lines, with its headings.
type document struct {
	lines    []string
	headings []heading
}

// parse splits text into lines and finds its headings, skipping fenced code blocks
// (whose "# comment" lines are not headings).
func parse(text string) document {
	d := document{lines: strings.Split(text, "\n")}
	fenced := false
	for i, l := range d.lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(l, "#") {
			continue
		}
		level := len(l) - len(strings.TrimLeft(l, "#"))
		if level < len(l) && l[level] == ' ' {
			d.headings = append(d.headings, heading{level: level, text: strings.TrimSpace(l[level:]), line: i})
		}
	}
	return d
}

// section is the text under the first heading of the given level whose text starts
// with prefix, down to the next heading of that level or a higher one; "" when there
// is none.
func (d document) section(level int, prefix string) string {
	for i, h := range d.headings {
		if h.level != level || !strings.HasPrefix(h.text, prefix) {
			continue
		}
		end := len(d.lines)
		for _, next := range d.headings[i+1:] {
			if next.level <= level {
				end = next.line
				break
			}
		}
		return strings.Join(d.lines[h.line:end], "\n")
	}
	return ""
}

// problems collects what is wrong with a README, one sentence each.
type problems []string

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

// sub is the section of text under the heading of level starting with prefix; a
// missing one is a problem and "".
func (p *problems) sub(text string, level int, prefix string) string {
	s := parse(text).section(level, prefix)
	if s == "" {
		p.add("README.md has no %s %s... section there", strings.Repeat("#", level), prefix)
	}
	return s
}

// configKeys are the keys of the plugin's configuration file, as the strict decoder
// reads them: every field by its json name, nested sections joined with ".", the
// fields of list entries after "[]" ("ecr.registries[].host"). A type that decodes
// itself (a duration) is one key.
func configKeys() []string {
	unmarshaler := reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler := reflect.TypeFor[encoding.TextUnmarshaler]()
	var keys []string
	var walk func(reflect.Type, string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			key := prefix + name
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			self := reflect.PointerTo(ft).Implements(unmarshaler) || reflect.PointerTo(ft).Implements(textUnmarshaler)
			switch {
			case ft.Kind() == reflect.Struct && !self:
				walk(ft, key+".")
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				keys = append(keys, key)
				walk(ft.Elem(), key+"[].")
			default:
				keys = append(keys, key)
			}
		}
	}
	walk(reflect.TypeFor[config.Config](), "")
	return keys
}

// defaultsFlags are the flag names of a flag.FlagSet's PrintDefaults output: its
// lines "  -name ...".
func defaultsFlags(text string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  -([^\s=]+)`).FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// usageFlags are the flag names of a hand-written usage: the lines of its first
// "Flags" block ("  -a, --authFlow FLOW  ...", "      --version  ..."), up to the
// first empty line.
func usageFlags(text string) []string {
	_, block, ok := strings.Cut(text, "\nFlags")
	if !ok {
		return nil
	}
	_, block, _ = strings.Cut(block, "\n")
	block, _, _ = strings.Cut(block, "\n\n")
	var out []string
	re := regexp.MustCompile(`^(?:,\s*)?-{1,2}([A-Za-z][\w-]*)`)
	for _, line := range strings.Split(block, "\n") {
		rest := strings.TrimSpace(line)
		for {
			m := re.FindStringSubmatchIndex(rest)
			if m == nil {
				break
			}
			out = append(out, rest[m[2]:m[3]])
			rest = rest[m[1]:]
		}
	}
	return out
}

// flagsIn are the flags a README section writes, in inline code that starts with the
// flag: `--name`, `--name VALUE`, `--name=VALUE`, `-o`; by name, without dashes.
func flagsIn(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("`-{1,2}([A-Za-z][\\w-]*)[` =\\[]").FindAllStringSubmatch(text, -1) {
		out[m[1]] = true
	}
	return out
}

// tableKeys are the first cells of a section's table rows written as inline code that
// is not a flag: the configuration keys a reference table describes.
func tableKeys(text string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`-][^`]*)`").FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// The kubelet's own flags, which the reference names beside the plugin's.
var kubeletFlags = map[string]bool{"image-credential-provider-config": true, "image-credential-provider-bin-dir": true, "root-dir": true}

// help runs a binary's main with --help, as an operator would, and returns what it
// printed.
func help(t *testing.T, argv0 string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	b := plugin.Binary{Name: binaries.All, Commands: true, NodeCommands: nodecmd.Run, Backends: map[string]plugin.Constructor{ecr.Name: nil, gcr.Name: nil, acr.Name: nil}}
	if code := plugin.Main(b, append([]string{argv0}, args...), strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("%s %s: exit %d: %s", argv0, strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

// dropIn is what a drop-in name takes: the flags its --help lists, and whether its
// parser takes a flag.
type dropIn struct {
	name    string
	flags   []string
	accepts func(flag string) bool
}

// facts is what the code says the reference must hold.
type facts struct {
	keys                     []string // of the configuration file
	plugin, install, check   []string // each command's flags
	dropIns                  []dropIn
	goVersion, kubeletTested []string
}

// codeFacts reads the facts from the code, the way the binaries build their flags, and
// from the files that pin the versions.
func codeFacts(t *testing.T) facts {
	t.Helper()
	var f facts
	f.keys = configKeys()
	if len(f.keys) < 40 {
		t.Fatalf("the reflection walk found only %d keys: %q", len(f.keys), f.keys)
	}
	f.plugin = defaultsFlags(help(t, binaries.All, "--help"))
	if !slices.Contains(f.plugin, "backends") || !slices.Contains(f.plugin, "v") {
		t.Fatalf("the plugin's help lists the flags %q", f.plugin)
	}

	var out bytes.Buffer
	if err := install.Command([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("install --help: %v", err)
	}
	own, pluginPart, ok := strings.Cut(out.String(), "\nPlugin flags")
	if !ok {
		t.Fatalf("install --help names no plugin flags:\n%s", out.String())
	}
	f.install = defaultsFlags(own)
	// install passes the plugin's flags on, all but those of the file itself, logging
	// and get; its help lists them after its own.
	var passed []string
	_, list, _ := strings.Cut(pluginPart, "\n")
	for _, w := range strings.Fields(list) {
		if name, ok := strings.CutPrefix(w, "--"); ok {
			passed = append(passed, name)
		}
	}
	want := slices.DeleteFunc(slices.Clone(f.plugin), func(s string) bool {
		return slices.Contains([]string{"config", "o", "show-secrets", "sa-token-file", "sa-annotation", "v", "vmodule"}, s)
	})
	sort.Strings(passed)
	sort.Strings(want)
	if !slices.Equal(passed, want) {
		t.Errorf("install --help lists the plugin flags %q, want %q", passed, want)
	}

	out.Reset()
	if err := check.Command([]string{"--help"}, &out, nil, nil); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("check --help: %v", err)
	}
	f.check = defaultsFlags(out.String())

	f.dropIns = []dropIn{
		{name: "ecr-credential-provider", accepts: func(fl string) bool {
			_, err := ecr.DropInConfig([]string{"--" + fl})
			return err == nil || !strings.Contains(err.Error(), "unknown flag")
		}},
		{name: "auth-provider-gcp", accepts: func(fl string) bool {
			_, err := gcr.DropInConfig([]string{"get-credentials", "--" + fl, "1"})
			return err == nil || !strings.Contains(err.Error(), "not defined")
		}},
		{name: "acr-credential-provider", accepts: func(fl string) bool {
			_, err := acr.ParseDropIn([]string{"/etc/kubernetes/azure.json", "--" + fl, "1"})
			return err == nil || !strings.Contains(err.Error(), "unknown flag")
		}},
	}
	for i, d := range f.dropIns {
		if d.accepts("definitely-not-a-flag") {
			t.Fatalf("the %s parser takes any flag: the check would prove nothing", d.name)
		}
		f.dropIns[i].flags = usageFlags(help(t, d.name, "--help"))
		if !slices.Contains(f.dropIns[i].flags, "help") {
			t.Fatalf("%s --help lists the flags %q", d.name, f.dropIns[i].flags)
		}
	}

	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "go.mod"))
	harness := regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes (v\S+)`).FindStringSubmatch(readFile(t, "test/harness/go.mod"))
	e2e := regexp.MustCompile(`(?m)^KUBE_VERSION=(v\S+)`).FindStringSubmatch(readFile(t, "test/e2e/run.sh"))
	if goLine == nil || harness == nil || e2e == nil {
		t.Fatalf("versions not found: go.mod %q, test/harness/go.mod %q, test/e2e/run.sh %q", goLine, harness, e2e)
	}
	f.goVersion = []string{goLine[1]}
	f.kubeletTested = []string{harness[1], e2e[1]}
	return f
}

// referenceProblems checks the configuration reference against the code: every key of
// the configuration file and every flag of every command is there, in its command's
// section, and nothing there that does not exist.
func referenceProblems(readme string, f facts) problems {
	var p problems
	ref := p.sub(readme, 2, "Configuration reference")

	s := p.sub(ref, 3, "The plugin: configuration file and flags")
	for _, k := range f.keys {
		if !strings.Contains(s, "`"+k+"`") {
			p.add("configuration key `%s` is missing from the reference", k)
		}
	}
	for _, k := range tableKeys(s) {
		if !slices.Contains(f.keys, k) {
			p.add("the reference describes `%s`, which is not a key of the configuration file", k)
		}
	}
	p.flags("the plugin", s, f.plugin, nil)
	p.flags("install", p.sub(ref, 3, "`install`"), f.install, f.plugin)
	p.flags("check", p.sub(ref, 3, "`check`"), f.check, nil)

	dropIns := p.sub(ref, 3, "Drop-in names")
	for _, d := range f.dropIns {
		s := p.sub(dropIns, 4, "`"+d.name+"`")
		named := flagsIn(s)
		for _, fl := range d.flags {
			if !named[fl] {
				p.add("%s's flag %s (in its --help) is missing from the reference", d.name, dashes(fl))
			}
		}
		for fl := range named {
			if !d.accepts(fl) {
				p.add("the reference gives %s the flag %s, which it does not take", d.name, dashes(fl))
			}
		}
	}
	return p
}

// flags is a problem for each of a command's flags the section does not name, and for
// each flag it names that is not the command's, nor among also, nor the kubelet's.
func (p *problems) flags(command, section string, flags, also []string) {
	named := flagsIn(section)
	for _, f := range flags {
		if !named[f] {
			p.add("%s's flag %s is missing from the reference", command, dashes(f))
		}
	}
	for f := range named {
		if !slices.Contains(flags, f) && !slices.Contains(also, f) && !kubeletFlags[f] {
			p.add("the reference gives %s the flag %s, which it does not take", command, dashes(f))
		}
	}
}

func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// outlineProblems checks that the README is in the order an operator reads it, and that
// the two commands that work on a fresh checkout (the demo and the tests) are under
// Development, where the introduction points.
func outlineProblems(readme string) problems {
	var p problems
	d := parse(readme)
	var got []string
	for _, h := range d.headings {
		if h.level == 2 {
			got = append(got, h.text)
		}
	}
	want := []string{"Install", "Quick start", "Debugging", "Troubleshooting", "Configuration reference", "How it works", "Development"}
	if !slices.Equal(got, want) {
		p.add("the README's sections are %q, want %q", got, want)
	}
	tests := p.sub(p.sub(readme, 2, "Development"), 3, "Tests")
	for _, cmd := range []string{"bash test/demo.sh", "go test ./..."} {
		if !strings.Contains(tests, "\n"+cmd+" ") {
			p.add("Development, Tests does not give %q as a command", cmd)
		}
	}
	intro, _, _ := strings.Cut(readme, "\n## ")
	if !strings.Contains(intro, "](#tests)") {
		p.add("the introduction does not point to the demo and the tests (#tests)")
	}
	return p
}

// versionProblems checks that the versions the README states are the ones the build
// and the tests use: the Go release of go.mod, the kubelet code the harness links, the
// kubelet the e2e run builds.
func versionProblems(readme string, f facts) problems {
	var p problems
	for _, v := range f.goVersion {
		if !strings.Contains(readme, "Go "+v+" or newer") {
			p.add("the README does not say Go %s or newer (go.mod's go line)", v)
		}
	}
	versions := p.sub(p.sub(readme, 2, "Install"), 3, "Supported kubelet versions")
	for _, v := range f.kubeletTested {
		if !strings.Contains(versions, v) {
			p.add("Supported kubelet versions does not name the kubelet the tests run, %s", v)
		}
	}
	return p
}

// wordProblems finds the words the project uses among its developers, which mean
// nothing to an operator.
func wordProblems(readme string) problems {
	var p problems
	for _, tt := range []struct {
		re    string
		allow func(before string) bool
	}{
		{internalWord.String(), nil},
		{`(?i)\bseed(s|ed)?\b`, nil},
		{`(?i)\blead\b`, nil},
		{`(?i)\bwave\b`, nil},
		{`(?i)\bbrief\b`, nil},
		{`(?i)\bworktree`, nil},
		{`PLAN\.md`, nil},
		{`(?i)\bissue\s*#?\d+`, nil},
		// "credential helper" is docker's word; --dockercfg-helper-timeout a flag.
		{`(?i)\bhelpers?\b`, func(before string) bool {
			return regexp.MustCompile(`(?i)credential\s+$`).MatchString(before) || strings.HasSuffix(before, "-")
		}},
	} {
		for _, m := range regexp.MustCompile(tt.re).FindAllStringIndex(readme, -1) {
			if tt.allow == nil || !tt.allow(readme[:m[0]]) {
				p.add("README.md:%d: %q", strings.Count(readme[:m[0]], "\n")+1, readme[m[0]:m[1]])
			}
		}
	}
	return p
}

// linkProblems checks that every relative link of the README leads somewhere (a file or
// directory of the repository, a heading of the README or of the Markdown file linked),
// and that every repository path it names exists. read reads a repository file.
func linkProblems(readme string, read func(string) (string, error)) problems {
	var p problems
	fragments := slugs(parse(readme))
	for _, m := range regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(readme, -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		path, frag, _ := strings.Cut(target, "#")
		if path == "" {
			if !fragments[frag] {
				p.add("link %s: no such heading in README.md", target)
			}
			continue
		}
		if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil {
			p.add("link %s: %v", target, err)
			continue
		}
		if frag != "" && strings.HasSuffix(path, ".md") {
			text, err := read(path)
			if err != nil || !slugs(parse(text))[frag] {
				p.add("link %s: no such heading in %s", target, path)
			}
		}
	}
	paths := regexp.MustCompile("(?:^|[\\s(`\"'\\[])((?:examples|test|hack|internal|cmd|\\.ci)/[A-Za-z0-9_./-]*[A-Za-z0-9_-])")
	seen := map[string]bool{}
	for _, m := range paths.FindAllStringSubmatch(readme, -1) {
		path := m[1]
		if seen[path] {
			continue
		}
		seen[path] = true
		if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil {
			p.add("README.md names %s: %v", path, err)
		}
	}
	if !seen["examples/image-credential-provider.yaml"] || !seen["examples/dockercfg/config.json"] {
		p.add("the path scan found %d paths, and not the examples the README must name", len(seen))
	}
	return p
}

// readRepo reads a file of the repository.
func readRepo(rel string) (string, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	return string(b), err
}

// checks are the checks of README.md, by name.
func checks(f facts) map[string]func(readme string) problems {
	return map[string]func(string) problems{
		"reference": func(r string) problems { return referenceProblems(r, f) },
		"outline":   outlineProblems,
		"versions":  func(r string) problems { return versionProblems(r, f) },
		"words":     wordProblems,
		"links":     func(r string) problems { return linkProblems(r, readRepo) },
	}
}

// README.md: its configuration reference holds every key of the configuration file and
// every flag of every command (and nothing else); it is in the order an operator reads
// it, states the versions the build and the tests use, speaks no developer's words, and
// every link and path in it exists.
func TestREADME(t *testing.T) {
	readme := readFile(t, "README.md")
	for name, check := range checks(codeFacts(t)) {
		t.Run(name, func(t *testing.T) {
			for _, problem := range check(readme) {
				t.Error(problem)
			}
		})
	}
}

// Each check finds the defect it is there for: README.md changed one way at a time is
// refused with the problem named.
func TestChecksCatch(t *testing.T) {
	all := checks(codeFacts(t))
	readme := readFile(t, "README.md")
	for _, tt := range []struct {
		name, old, new, want string
	}{
		{"a key missing", "| `acr.nodeIdentityFallback` |", "| nodeIdentityFallback |", "configuration key `acr.nodeIdentityFallback` is missing"},
		{"a key that does not exist", "| `acr.nodeIdentityFallback` |", "| `acr.nodeIdentityFallbak` |", "`acr.nodeIdentityFallbak`, which is not a key"},
		{"a list entry's key missing", "| `ecr.registries[].dualStack` |", "| `ecr.registries[].dualstack` |", "`ecr.registries[].dualStack` is missing"},
		{"a plugin flag missing", "`--gcr-wi-token-url URL`", "", "the plugin's flag --gcr-wi-token-url is missing"},
		{"a plugin flag that does not exist", "| `--show-secrets` |", "| `--show-secret` |", "the plugin the flag --show-secret, which it does not take"},
		{"an install flag missing", "| `--stay` |", "| stay |", "install's flag --stay is missing"},
		{"an install flag that does not exist", "| `--dry-run` |", "| `--dry-run` | `--dryrun` |", "install the flag --dryrun"},
		{"a check flag missing", "| `--proc DIR` | `/proc` | where to look for the running kubelet's process (not read on Windows) |\n\n### Drop-in", "\n### Drop-in", "check's flag --proc is missing"},
		{"a drop-in flag missing", "| `-r SRC:DST`, `--registry-mirror SRC:DST` |", "| `--registry-mirror SRC:DST` |", "acr-credential-provider's flag -r (in its --help) is missing"},
		{"a drop-in flag it does not take", "| `--project-id ID` |", "| `--project ID` |", "auth-provider-gcp the flag --project, which it does not take"},
		{"sections out of order", "## Troubleshooting\n", "## Problems\n", "the README's sections are"},
		{"no test command", "go test ./...       # every package's tests", "go vet ./...       # every package's tests", `Development, Tests does not give "go test ./..." as a command`},
		{"the introduction not pointing to them", "[Development](#tests)", "Development", "the introduction does not point to the demo and the tests"},
		{"another Go version", "With Go 1.26 or newer", "With Go 1.25 or newer", "does not say Go 1.26 or newer"},
		{"a developer's word", "## Install\n", "## Install\n\nThe seed pages.\n", `"seed"`},
		{"a broken anchor", "](#windows-nodes)", "](#windows)", "link #windows: no such heading"},
		{"a missing file", "](examples/deploy)", "](examples/deploy-nope)", "link examples/deploy-nope"},
		{"a missing path", "examples/dockercfg/config.json:/etc", "examples/dockercfg/conf.json:/etc", "README.md names examples/dockercfg/conf.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(readme, tt.old) {
				t.Fatalf("README.md no longer holds %q: update this case", tt.old)
			}
			changed := strings.Replace(readme, tt.old, tt.new, 1)
			var found problems
			for _, check := range all {
				found = append(found, check(changed)...)
			}
			for _, p := range found {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("no problem says %q; found %q", tt.want, found)
		})
	}
}

// slugs are the anchors GitHub gives a document's headings: lower case, punctuation
// dropped, spaces as dashes, a repeated one numbered.
func slugs(d document) map[string]bool {
	out := map[string]bool{}
	count := map[string]int{}
	for _, h := range d.headings {
		var b strings.Builder
		for _, r := range strings.ToLower(h.text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		s := b.String()
		if n := count[s]; n > 0 {
			out[s+"-"+string(rune('0'+n))] = true
		} else {
			out[s] = true
		}
		count[s]++
	}
	return out
}
