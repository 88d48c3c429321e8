package install

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/internal/backends"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
)

// env is one test's node and installer: a root, the binaries to install, a process
// table without a kubelet unless the test adds one.
type env struct {
	t    *testing.T
	root string
	src  string
	proc string
	tmp  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, root: t.TempDir(), src: t.TempDir(), proc: t.TempDir(), tmp: t.TempDir()}
	for _, n := range binaries.Installed() {
		e.write(filepath.Join(e.src, exe(n)), "#!/bin/sh\necho "+n+" v2\n")
	}
	return e
}

func (e *env) write(path, content string) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// node is where the test reaches path on the node (written as on Linux, or with its
// drive on Windows).
func (e *env) node(path string) string { return backends.Rooted(e.root, filepath.FromSlash(path)) }

// onNode is a path on the node written as on Linux, as the plugin and the kubelet name
// it: on Windows, on drive C:.
func onNode(path string) string {
	if runtime.GOOS == "windows" && strings.HasPrefix(path, "/") {
		return "C:" + filepath.FromSlash(path)
	}
	return path
}

// noKubelet is what the report says when it reads no kubelet: on Windows, which has no
// /proc, none is read.
func noKubelet() string {
	if runtime.GOOS == "windows" {
		return "kubelet: the running kubelet's command line is not read on Windows (`sc.exe qc kubelet` shows it); it needs the flags"
	}
	return "kubelet: no running kubelet found"
}

func (e *env) read(nodePath string) string {
	e.t.Helper()
	data, err := os.ReadFile(e.node(nodePath))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}

// kubelet adds a running kubelet with args to the process table.
func (e *env) kubelet(pid int, args ...string) {
	dir := filepath.Join(e.proc, fmt.Sprint(pid))
	e.write(filepath.Join(dir, "cmdline"), strings.Join(append([]string{"/usr/bin/kubelet"}, args...), "\x00")+"\x00")
	e.write(filepath.Join(dir, "status"), "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
	e.write(filepath.Join(dir, "environ"), "HOME=/root\x00PATH=/usr/bin\x00")
}

// options are a static backend reading /etc/kubernetes/docker-config.json on the node,
// installed from a plugin config file.
func (e *env) options() Options {
	cfgFile := filepath.Join(e.tmp, "plugin.yaml")
	e.write(cfgFile, "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nstatic:\n  files: ["+onNode("/etc/kubernetes/docker-config.json")+"]\n")
	plugin, err := config.Load(cfgFile)
	if err != nil {
		e.t.Fatal(err)
	}
	e.write(e.node("/etc/kubernetes/docker-config.json"), `{"auths":{"registry.example":{"auth":"dTpw"}}}`)
	return Options{Root: e.root, SourceDir: e.src, Proc: e.proc, Plugin: plugin, ConfigSource: cfgFile}
}

func (e *env) run(o Options) string {
	e.t.Helper()
	var out bytes.Buffer
	if err := Run(o, &out); err != nil {
		e.t.Fatalf("install: %v\n%s", err, out.String())
	}
	return out.String()
}

// snapshot is every file under the root with its content hash, mode and time.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	filepath.WalkDir(e.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			e.t.Fatal(err)
		}
		fi, _ := os.Lstat(path)
		s := fmt.Sprintf("%v %v", fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(path)
			s += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		out[strings.TrimPrefix(path, e.root)] = s
		return nil
	})
	return out
}

func decodeFile(t *testing.T, path string) *kubeletconfig.Config {
	t.Helper()
	s, err := kubeletconfig.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if errs := kubeletconfig.Validate(s, kubeletconfig.Options{}); len(errs) > 0 {
		t.Fatal(errs)
	}
	return s.Files[0].Config
}

func TestFreshRoot(t *testing.T) {
	e := newEnv(t)
	out := e.run(e.options())
	for _, n := range binaries.Installed() {
		path := e.node(filepath.Join(DefaultBinDir, exe(n)))
		fi, err := os.Stat(path)
		if err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o755) { // Windows runs a program by its .exe
			t.Fatalf("%s: %v %v", n, fi, err)
		}
		if got := e.read(filepath.Join(DefaultBinDir, exe(n))); got != "#!/bin/sh\necho "+n+" v2\n" {
			t.Errorf("%s holds %q", n, got)
		}
	}
	if got := e.read(DefaultConfigDest); !strings.Contains(got, "docker-config.json") {
		t.Errorf("plugin config: %q", got)
	}
	c := decodeFile(t, e.node(DefaultKubeletConfig))
	if len(c.Providers) != 1 {
		t.Fatalf("providers %+v", c.Providers)
	}
	p := c.Providers[0]
	if p.Name != binaries.FrontEnd || p.APIVersion != kubeletconfig.RequestV1 || p.DefaultCacheDuration.Duration != DefaultCacheDuration ||
		!slices.Equal(p.Args, []string{"--config=" + DefaultConfigDest}) || p.TokenAttributes != nil {
		t.Errorf("provider %+v", p)
	}
	// every backend's families, the docker config's host first
	if p.MatchImages[0] != "registry.example" {
		t.Errorf("matchImages start with %q", p.MatchImages[0])
	}
	for _, m := range append(ecrhost.MatchImages(), "gcr.io", "docker.*.rep.pkg.dev", "*.*.geo.azurecr.io") {
		if !slices.Contains(p.MatchImages, m) {
			t.Errorf("matchImages lack %q", m)
		}
	}
	for _, want := range []string{"installed: 7 files written, 0 unchanged", noKubelet(), "--image-credential-provider-config=" + DefaultKubeletConfig + " --image-credential-provider-bin-dir=" + DefaultBinDir} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if kc := e.read(DefaultKubeletConfig); !strings.HasPrefix(kc, "# The kubelet's image credential providers") || !strings.Contains(kc, "      # static: the registries of "+onNode("/etc/kubernetes/docker-config.json")+"\n      - registry.example\n") {
		t.Errorf("kubelet config:\n%s", kc)
	}
}

// A provider under another name gets the front end under that name in the bin dir:
// the kubelet runs <bin-dir>/<name>.
func TestOtherName(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Name = "registry-credentials"
	e.run(o)
	if got := e.read(filepath.Join(DefaultBinDir, exe(o.Name))); got != "#!/bin/sh\necho "+binaries.FrontEnd+" v2\n" {
		t.Errorf("%s holds %q, want the front end", o.Name, got)
	}
	c := decodeFile(t, e.node(DefaultKubeletConfig))
	if len(c.Providers) != 1 || c.Providers[0].Name != o.Name {
		t.Errorf("providers %+v", c.Providers)
	}
}

func TestIdempotent(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	e.run(o)
	before := e.snapshot()
	time.Sleep(10 * time.Millisecond) // a rewrite would show in the modification times
	out := e.run(o)
	if !strings.Contains(out, "nothing to change: all 7 files are already installed") || strings.Contains(out, "wrote") {
		t.Errorf("second run:\n%s", out)
	}
	if after := e.snapshot(); !equalMaps(before, after) {
		t.Errorf("second run changed files:\n%v\n%v", before, after)
	}
	// One binary changed in the release: only it is rewritten.
	e.write(filepath.Join(e.src, exe(binaries.All)), "#!/bin/sh\necho v3\n")
	out = e.run(o)
	if !strings.Contains(out, "wrote      "+filepath.Join(DefaultBinDir, exe(binaries.All))+" (binary changed)") || !strings.Contains(out, "installed: 1 file written, 6 unchanged") {
		t.Errorf("after a new binary:\n%s", out)
	}
	// A binary that lost its execute bit is put right (Windows has none: a program
	// runs by its .exe).
	if runtime.GOOS != "windows" {
		os.Chmod(e.node(filepath.Join(DefaultBinDir, exe(binaries.FrontEnd))), 0o644)
		if out = e.run(o); !strings.Contains(out, "installed: 1 file written") {
			t.Errorf("after chmod:\n%s", out)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

const otherProviders = `# Hand-written: the cloud's own plugin.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: CredentialProviderConfig
providers:
  - name: ecr-credential-provider
    matchImages: ["*.dkr.ecr.*.amazonaws.com"]
    defaultCacheDuration: 12h
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
    env:
      - {name: AWS_PROFILE, value: node}
  - name: image-credential-provider
    matchImages: [old.example]
    defaultCacheDuration: 1m
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
  - name: last
    matchImages: [last.example]
    defaultCacheDuration: 0s
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1
    args: [-x]
`

// An existing config keeps its other providers, unchanged and in order; ours replaces
// its old entry where it stands. A JSON file stays JSON.
func TestMerge(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			o := e.options()
			o.KubeletConfig = onNode("/etc/kubernetes/cp." + format)
			old, err := kubeletconfig.Decode([]byte(otherProviders))
			if err != nil {
				t.Fatal(err)
			}
			f := kubeletconfig.YAML
			data := []byte(otherProviders)
			if format == "json" {
				f = kubeletconfig.JSON
				data = kubeletconfig.Encode(old, f, nil)
			}
			e.write(e.node(o.KubeletConfig), string(data))
			out := e.run(o)
			raw := e.read(o.KubeletConfig)
			if kubeletconfig.FormatOf([]byte(raw)) != f {
				t.Errorf("format changed:\n%s", raw)
			}
			c := decodeFile(t, e.node(o.KubeletConfig))
			var names []string
			for _, p := range c.Providers {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, []string{"ecr-credential-provider", binaries.FrontEnd, "last"}) {
				t.Fatalf("providers %q", names)
			}
			if !equalProvider(c.Providers[0], old.Providers[0]) || !equalProvider(c.Providers[2], old.Providers[2]) {
				t.Errorf("other providers changed: %+v %+v", c.Providers[0], c.Providers[2])
			}
			if c.Providers[1].APIVersion != kubeletconfig.RequestV1 || slices.Contains(c.Providers[1].MatchImages, "old.example") {
				t.Errorf("ours not replaced: %+v", c.Providers[1])
			}
			if !strings.Contains(out, "(kubelet config changed)") {
				t.Errorf("report:\n%s", out)
			}
			if out := e.run(o); !strings.Contains(out, "nothing to change") {
				t.Errorf("second run:\n%s", out)
			}
		})
	}
}

// ourEntry is this provider's entry as install writes it into a new file with o (its
// lines from "  - name: " to the end).
func ourEntry(t *testing.T, o Options) string {
	t.Helper()
	e := newEnv(t)
	e.options() // the node's files
	o.Root, o.SourceDir, o.Proc = e.root, e.src, e.proc
	o.KubeletConfig = ""
	e.run(o)
	fresh := e.read(DefaultKubeletConfig)
	i := strings.Index(fresh, "  - name: "+binaries.FrontEnd+"\n")
	if i < 0 {
		t.Fatalf("no entry in:\n%s", fresh)
	}
	return fresh[i:]
}

// An existing YAML file keeps every byte that is not this provider's entry: its
// comments, the other providers as written (quoting, key order, flow lists, YAML aliases);
// ours is replaced where it stands or added last. A layout that cannot be edited so is
// written anew, and the report says so. Either way a second run changes nothing, and
// a dry run's diff shows only our entry's lines.
func TestMergeKeepsText(t *testing.T) {
	const ecrEntry = `  # The ECR plugin the AMI ships.
  - name: ecr-credential-provider
    matchImages:
      - "*.dkr.ecr.*.amazonaws.com"   # private ECR
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`
	const head = "# Our cluster's providers. Owned by the platform team.\napiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n"
	const oldOurs = `  - name: image-credential-provider
    matchImages: [old.example]   # to go
    defaultCacheDuration: 1m
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
`
	const last = `
  # last, hand-written
  - apiVersion: credentialprovider.kubelet.k8s.io/v1
    name: last
    matchImages:
    - last.example
    defaultCacheDuration: '0s'
`
	const aliased = `  - name: a
    matchImages: &images [a.example, b.example]
    defaultCacheDuration: 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
  - name: b
    matchImages: *images
    defaultCacheDuration: 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`
	tests := []struct {
		name string
		in   string
		// before and after are the bytes kept around our entry; rewritten: the
		// file is written anew instead.
		before, after string
		rewritten     bool
	}{
		{name: "absent: added last, comments, quoting and key order kept", in: head + ecrEntry, before: head + ecrEntry},
		{name: "in the middle: replaced where it stands", in: head + ecrEntry + oldOurs + last, before: head + ecrEntry, after: last},
		{name: "first, with YAML aliases in the others", in: head + oldOurs + aliased, before: head, after: aliased},
		{name: "a flow-style providers list is written anew", in: head + `  [{name: other, matchImages: [a.example], defaultCacheDuration: 12h, apiVersion: credentialprovider.kubelet.k8s.io/v1}]` + "\n", rewritten: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.options()
			entry := ourEntry(t, o)
			path := e.node(DefaultKubeletConfig)
			e.write(path, tt.in)
			old := decodeFile(t, path)

			// A dry run shows only our entry's lines changing.
			dry := o
			dry.DryRun = true
			out := e.run(dry)
			_, diff, ok := strings.Cut(out, "would write "+DefaultKubeletConfig+" (kubelet config changed)\n")
			if !ok {
				t.Fatalf("no diff of the kubelet config:\n%s", out)
			}
			for _, l := range strings.Split(diff, "\n") {
				l, ok := strings.CutPrefix(l, "  ")
				if !ok {
					break // the end of the diff
				}
				if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++") || tt.rewritten {
					continue
				}
				if s, ok := strings.CutPrefix(l, "-"); ok && !strings.Contains(oldOurs, s+"\n") {
					t.Errorf("the diff removes a line not ours: %q\n%s", l, out)
				}
				if s, ok := strings.CutPrefix(l, "+"); ok && !strings.Contains(entry, s+"\n") {
					t.Errorf("the diff adds a line not ours: %q\n%s", l, out)
				}
			}

			out = e.run(o)
			got := e.read(DefaultKubeletConfig)
			note := "note: the kubelet config " + DefaultKubeletConfig + " is written anew, without its comments and layout, because its providers are not a list in block style"
			switch {
			case tt.rewritten:
				if !strings.Contains(out, note) {
					t.Errorf("report lacks %q:\n%s", note, out)
				}
				if !strings.HasPrefix(got, "# The kubelet's image credential providers") || !strings.HasSuffix(got, entry) {
					t.Errorf("not written anew:\n%s", got)
				}
			case got != tt.before+entry+tt.after:
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.before+entry+tt.after)
			case strings.Contains(out, "note: "):
				t.Errorf("report has a note:\n%s", out)
			}
			c := decodeFile(t, path)
			var others []kubeletconfig.Provider
			for _, p := range c.Providers {
				if p.Name != binaries.FrontEnd {
					others = append(others, p)
				}
			}
			var want []kubeletconfig.Provider
			for _, p := range old.Providers {
				if p.Name != binaries.FrontEnd {
					want = append(want, p)
				}
			}
			if fmt.Sprint(others) != fmt.Sprint(want) {
				t.Errorf("other providers changed: %+v, want %+v", others, want)
			}

			// A second run leaves the file as it is, to the byte.
			before := e.snapshot()
			time.Sleep(10 * time.Millisecond)
			if out := e.run(o); !strings.Contains(out, "nothing to change") {
				t.Errorf("second run:\n%s", out)
			}
			if !equalMaps(before, e.snapshot()) {
				t.Error("the second run changed files")
			}
		})
	}
}

func equalProvider(a, b kubeletconfig.Provider) bool {
	return fmt.Sprintf("%+v %v", a, *a.DefaultCacheDuration) == fmt.Sprintf("%+v %v", b, *b.DefaultCacheDuration)
}

// A kubelet config directory: ours goes into a file of its own, or into the file that
// already holds it; the other files are left alone.
func TestKubeletConfigDirectory(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.KubeletConfig = onNode("/etc/kubernetes/credential-providers")
	dir := e.node(o.KubeletConfig)
	e.write(filepath.Join(dir, "10-cloud.yaml"), strings.Replace(otherProviders, "  - name: image-credential-provider\n    matchImages: [old.example]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1\n", "", 1))
	e.write(filepath.Join(dir, "README"), "not a config")
	e.run(o)
	if got := e.read(filepath.Join(o.KubeletConfig, "10-cloud.yaml")); got != strings.Replace(otherProviders, "  - name: image-credential-provider\n    matchImages: [old.example]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1\n", "", 1) {
		t.Errorf("the other file changed:\n%s", got)
	}
	c := decodeFile(t, filepath.Join(dir, binaries.FrontEnd+".yaml"))
	if len(c.Providers) != 1 || c.Providers[0].Name != binaries.FrontEnd {
		t.Errorf("own file: %+v", c)
	}

	// Ours already in another file: that file is edited.
	os.Remove(filepath.Join(dir, binaries.FrontEnd+".yaml"))
	e.write(filepath.Join(dir, "20-mine.yaml"), "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: image-credential-provider\n  matchImages: [x.example]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n")
	out := e.run(o)
	if _, err := os.Stat(filepath.Join(dir, binaries.FrontEnd+".yaml")); err == nil {
		t.Error("a second file was written")
	}
	if c := decodeFile(t, filepath.Join(dir, "20-mine.yaml")); slices.Contains(c.Providers[0].MatchImages, "x.example") {
		t.Errorf("not replaced: %+v", c.Providers[0])
	}
	if !strings.Contains(out, "kubelet config: "+filepath.Join(o.KubeletConfig, "20-mine.yaml")) {
		t.Errorf("report:\n%s", out)
	}
}

func TestDryRun(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	e.write(e.node(DefaultKubeletConfig), otherProviders)
	before := e.snapshot()
	o.DryRun = true
	out := e.run(o)
	if after := e.snapshot(); !equalMaps(before, after) {
		t.Errorf("a dry run changed files")
	}
	for _, want := range []string{
		"would write " + filepath.Join(DefaultBinDir, exe(binaries.FrontEnd)) + " (binary new)",
		"would write " + DefaultKubeletConfig + " (kubelet config changed)",
		"  --- " + DefaultKubeletConfig + "\n  +++ " + DefaultKubeletConfig + " (after install)\n",
		"  -    matchImages: [old.example]\n",
		"  +    apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
		"dry run: 7 files would be written, 0 unchanged; nothing was written",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	// A --file copy may hold secrets: its contents are never shown.
	o.Files = []Copy{{Source: filepath.Join(e.tmp, "secret.json"), Dest: onNode("/etc/kubernetes/secret.json")}}
	e.write(o.Files[0].Source, `{"auths":{"x.example":{"auth":"c2VjcmV0OnMzY3IzdA=="}}}`)
	if out := e.run(o); strings.Contains(out, "c2VjcmV0") || !strings.Contains(out, "contents not shown") {
		t.Errorf("secret shown:\n%s", out)
	}
}

// Invalid input of any kind is found before anything is written.
func TestInvalidInputWritesNothing(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(e *env, o *Options)
		want    string
	}{
		{"existing kubelet config does not decode", func(e *env, o *Options) {
			e.write(e.node(DefaultKubeletConfig), strings.Replace(otherProviders, "matchImages: [last.example]", "matchImagez: [last.example]", 1))
		}, "the kubelet config " + DefaultKubeletConfig + " is not valid as it is (fix it, or move it away to start from a new one; nothing was changed): "},
		{"existing kubelet config is invalid", func(e *env, o *Options) {
			e.write(e.node(DefaultKubeletConfig), strings.Replace(otherProviders, "defaultCacheDuration: 12h", "defaultCacheDuration: -1h", 1))
		}, "providers[0].defaultCacheDuration: -1h0m0s is negative"},
		{"service account tokens with an old apiVersion", func(e *env, o *Options) {
			o.APIVersion = kubeletconfig.RequestV1beta1
			o.ServiceAccount = &ServiceAccount{Audience: "sts.amazonaws.com"}
		}, "the kubelet config would not be valid; nothing was changed: "},
		{"a pattern the kubelet cannot parse", func(e *env, o *Options) { o.MatchImages = []string{"reg.example:port"} }, `matchImages[`},
		{"a provider name with a slash", func(e *env, o *Options) { o.Name = "a/b" }, "cannot contain '/'"},
		{"a companion's name", func(e *env, o *Options) { o.Name = binaries.All }, "that is the name of one of the plugin's own binaries"},
		{"a single-cloud plugin's name", func(e *env, o *Options) { o.Name = "ecr-credential-provider" }, "that name takes the single-cloud plugin's arguments"},
		{"a binary of the release is missing", func(e *env, o *Options) { os.Remove(filepath.Join(e.src, exe(binaries.Companion("gcr")))) }, "is missing: install needs every binary of the release side by side"},
		{"an unknown backend", func(e *env, o *Options) { o.Plugin.Backends = []string{"static", "quay"} }, `plugin configuration: unknown backend "quay"`},
		{"nothing to match", func(e *env, o *Options) {
			o.Plugin.Backends = []string{"static"}
			o.Plugin.Static.Files = []string{onNode("/etc/kubernetes/empty.json")}
			e.write(e.node("/etc/kubernetes/empty.json"), `{"auths":{}}`)
		}, "the enabled backends serve no registry host"},
		{"a --file source that does not exist", func(e *env, o *Options) {
			o.Files = []Copy{{Source: filepath.Join(e.tmp, "missing"), Dest: onNode("/etc/x")}}
		}, "file: open "},
		{"a relative path on the node", func(e *env, o *Options) { o.BinDir = "bin" }, "bin: a path on the node must be absolute"},
		{"a relative destination of a file", func(e *env, o *Options) {
			o.Files = []Copy{{Source: o.ConfigSource, Dest: "x.json"}}
		}, ":x.json: a path on the node must be absolute"},
	}
	if runtime.GOOS == "windows" {
		// A path without its drive is on the drive of the kubelet's working directory.
		tests = append(tests, struct {
			name    string
			prepare func(e *env, o *Options)
			want    string
		}{"a path on the node without its drive", func(e *env, o *Options) { o.KubeletConfig = `\etc\kubernetes\cp.yaml` }, `\etc\kubernetes\cp.yaml: a path on the node must be absolute, with its drive (C:\...)`})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.options()
			tt.prepare(e, &o)
			before := e.snapshot()
			var out bytes.Buffer
			err := Run(o, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error on several lines: %q", err)
			}
			if after := e.snapshot(); !equalMaps(before, after) {
				t.Errorf("files changed")
			}
		})
	}
}

// The running kubelet decides the default paths, and the report says whether it uses
// the files and what to do.
func TestKubeletReport(t *testing.T) {
	if runtime.GOOS == "windows" {
		// The running kubelet is not read: the report says so and gives the flags for
		// the paths installed, the defaults here, whatever a process table holds.
		e := newEnv(t)
		e.kubelet(4242, "--image-credential-provider-config=C:\\eks\\cp.yaml", "--image-credential-provider-bin-dir", "C:\\eks\\bin")
		out := e.run(e.options())
		want := noKubelet() + "\n  --image-credential-provider-config=" + DefaultKubeletConfig + " --image-credential-provider-bin-dir=" + DefaultBinDir + "\n"
		if !strings.Contains(out, want) || strings.Contains(out, "eks") {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
		return
	}
	t.Run("uses the files", func(t *testing.T) {
		e := newEnv(t)
		e.kubelet(4242, "--image-credential-provider-config=/etc/eks/cp.yaml", "--image-credential-provider-bin-dir", "/etc/eks/bin")
		out := e.run(e.options())
		for _, want := range []string{
			"bin dir:        /etc/eks/bin  (the running kubelet's --image-credential-provider-bin-dir)",
			"kubelet: the running kubelet (pid 4242) uses these files; it reads its credential provider configuration at start only: restart it to apply the new one (install never restarts it)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
		if _, err := os.Stat(e.node("/etc/eks/bin/" + exe(binaries.FrontEnd))); err != nil {
			t.Error(err)
		}
		e.write(filepath.Join(e.src, exe(binaries.All)), "new")
		if out := e.run(e.options()); !strings.Contains(out, "uses these files; it runs the new binaries from its next pull") {
			t.Errorf("after a binary update:\n%s", out)
		}
	})
	t.Run("other files", func(t *testing.T) {
		e := newEnv(t)
		e.kubelet(7, "--config=/var/lib/kubelet/config.yaml")
		out := e.run(e.options())
		want := "kubelet: the running kubelet (pid 7) does not use these files: it runs without the credential provider flags; to use them, restart it with\n  --image-credential-provider-config=" + DefaultKubeletConfig + " --image-credential-provider-bin-dir=" + DefaultBinDir + "\n"
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	})
}

func TestServiceAccount(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.Plugin.Backends = []string{"static", "ecr", "acr"}
	o.PluginArgs = []string{"--backends=static,ecr,acr"}
	o.ServiceAccount = &ServiceAccount{Audience: "sts.amazonaws.com"}
	e.run(o)
	p := decodeFile(t, e.node(DefaultKubeletConfig)).Providers[0]
	ta := p.TokenAttributes
	if ta == nil || ta.ServiceAccountTokenAudience != "sts.amazonaws.com" || ta.RequireServiceAccount == nil || *ta.RequireServiceAccount || ta.CacheType != "ServiceAccount" {
		t.Fatalf("tokenAttributes %+v", ta)
	}
	if !slices.Equal(ta.OptionalServiceAccountAnnotationKeys, []string{"eks.amazonaws.com/ecr-role-arn", "kubernetes.azure.com/acr-client-id", "kubernetes.azure.com/acr-tenant-id"}) {
		t.Errorf("annotations %q", ta.OptionalServiceAccountAnnotationKeys)
	}
	if !slices.Equal(p.Args, []string{"--config=" + DefaultConfigDest, "--backends=static,ecr,acr"}) {
		t.Errorf("args %q", p.Args)
	}
	if slices.Contains(p.MatchImages, "gcr.io") {
		t.Errorf("a disabled backend's hosts: %q", p.MatchImages)
	}
}

// A kubelet config reached through a symbolic link (absolute: on the node) is updated
// where the link points; the link stays.
func TestSymlinkedKubeletConfig(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	e.write(e.node("/etc/kubernetes/real/cp.yaml"), otherProviders)
	if err := os.Symlink(onNode("/etc/kubernetes/real/cp.yaml"), e.node(DefaultKubeletConfig)); err != nil {
		t.Fatal(err)
	}
	e.run(o)
	if fi, err := os.Lstat(e.node(DefaultKubeletConfig)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if c := decodeFile(t, e.node("/etc/kubernetes/real/cp.yaml")); c.Providers[1].APIVersion != kubeletconfig.RequestV1 {
		t.Errorf("target not updated: %+v", c.Providers[1])
	}
}

// A temporary file left by a killed run is removed by the next one.
func TestStaleTemporaryFilesRemoved(t *testing.T) {
	e := newEnv(t)
	stale := e.node(filepath.Join(DefaultBinDir, "."+exe(binaries.All)+".install-123"))
	e.write(stale, "partial")
	other := e.node(filepath.Join(DefaultBinDir, ".unrelated"))
	e.write(other, "x")
	e.run(e.options())
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale temporary file kept")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("unrelated file removed")
	}
}

// The patterns of the static backend come from the file --file installs, not from
// what is on the node before.
func TestFileCopiedDecidesPatterns(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	src := filepath.Join(e.tmp, "new.json")
	e.write(src, `{"auths":{"new.example:5000":{"auth":"dTpw"}}}`)
	o.Files = []Copy{{Source: src, Dest: onNode("/etc/kubernetes/docker-config.json")}}
	e.run(o)
	p := decodeFile(t, e.node(DefaultKubeletConfig)).Providers[0]
	if !slices.Contains(p.MatchImages, "new.example:5000") || slices.Contains(p.MatchImages, "registry.example") {
		t.Errorf("matchImages %q", p.MatchImages)
	}
	if fi, err := os.Stat(e.node("/etc/kubernetes/docker-config.json")); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("mode %v, %v", fi, err)
	}
}

// --file SRC:DEST, with drive letters on Windows.
func TestParseCopy(t *testing.T) {
	tests := []struct {
		in, src, dest, err string
	}{
		{"a.json:/etc/b.json", "a.json", "/etc/b.json", ""},
		{"/x/a.json:/etc/b.json", "/x/a.json", "/etc/b.json", ""},
		{"a:b:c", "a", "b:c", ""},
		{"a.json", "", "", `--file "a.json": want SRC:DEST`},
		{":b", "", "", `--file ":b": want SRC:DEST`},
		{"a:", "", "", `--file "a:": want SRC:DEST`},
	}
	if runtime.GOOS == "windows" {
		tests = append(tests, []struct{ in, src, dest, err string }{
			{`C:\src\a.json:C:\k\b.json`, `C:\src\a.json`, `C:\k\b.json`, ""},
			{`c:/src/a.json:D:\k\b.json`, `c:/src/a.json`, `D:\k\b.json`, ""},
			{`a.json:C:\k\b.json`, `a.json`, `C:\k\b.json`, ""},
			{`x:C:\k\b.json`, `x`, `C:\k\b.json`, ""},
			{`C:\src\a.json`, "", "", `--file "C:\\src\\a.json": want SRC:DEST`},
		}...)
	} else {
		tests = append(tests, struct{ in, src, dest, err string }{`C:\src\a.json:C:\k\b.json`, `C`, `\src\a.json:C:\k\b.json`, ""})
	}
	for _, tt := range tests {
		c, err := parseCopy(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseCopy(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || c.Source != tt.src || c.Dest != tt.dest {
			t.Errorf("parseCopy(%q) = %+v, %v; want %q, %q", tt.in, c, err, tt.src, tt.dest)
		}
	}
}
