package check_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/check"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/install"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
	"github.com/imagecred/image-credential-provider/internal/testbin"
)

// bins are the product's binaries, built when a test first needs them.
var bins testbin.Lazy

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// built returns the directory of the product's binaries, built on first use.
func built(t *testing.T) string {
	t.Helper()
	return bins.Dir(t)
}

// node is a node laid out by install: the binaries in bin, the kubelet config, the
// plugin config with a static backend reading docker.json (a good entry and one the
// kubelet cannot decode) and the ECR backend.
type node struct {
	dir, bin, kubeletConfig, proc string
}

const dockerConfig = `{"auths":{"registry.example":{"auth":"dXNlcjpzM2NyM3Q="},"broken.example":{"auth":"not base64!"}}}`

func newNode(t *testing.T) *node {
	t.Helper()
	n := &node{dir: t.TempDir()}
	n.bin = filepath.Join(n.dir, "bin")
	n.kubeletConfig = filepath.Join(n.dir, "credential-provider-config.yaml")
	n.proc = filepath.Join(n.dir, "proc")
	os.MkdirAll(n.proc, 0o755)
	write(t, filepath.Join(n.dir, "docker.json"), dockerConfig)
	cfgFile := filepath.Join(n.dir, "plugin-src.yaml")
	write(t, cfgFile, fmt.Sprintf("apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [static, ecr]\nstatic:\n  files: [%s]\ncache:\n  dir: %s\n",
		filepath.Join(n.dir, "docker.json"), filepath.Join(n.dir, "cache")))
	plugin, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = install.Run(install.Options{BinDir: n.bin, KubeletConfig: n.kubeletConfig, ConfigSource: cfgFile, ConfigDest: filepath.Join(n.dir, "plugin.yaml"),
		Plugin: plugin, SourceDir: built(t), Proc: n.proc}, &out)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	return n
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit rewrites the kubelet config through f.
func (n *node) edit(t *testing.T, f func(c *kubeletconfig.Config)) {
	t.Helper()
	data, _ := os.ReadFile(n.kubeletConfig)
	c, err := kubeletconfig.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	f(c)
	write(t, n.kubeletConfig, string(kubeletconfig.Encode(c, kubeletconfig.YAML, nil)))
}

type report struct {
	Findings []check.Finding `json:"findings"`
	OK       int             `json:"ok"`
	Warnings int             `json:"warnings"`
	Failed   int             `json:"failed"`
	// KubeletPID is the running kubelet's, when one was read.
	KubeletPID int `json:"kubeletPID"`
}

// check runs the check command of the built binary, with JSON output.
func (n *node) check(t *testing.T, args ...string) (report, testbin.Result) {
	t.Helper()
	args = append([]string{"check", "--proc", n.proc, "-o", "json"}, args...)
	res, err := testbin.Run{Bin: filepath.Join(built(t), testbin.Exe(binaries.All)), Args: args, Home: t.TempDir()}.Do()
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\nstderr: %s", err, res.Stdout, res.Stderr)
	}
	return r, res
}

func (n *node) flags() []string {
	return []string{"--kubelet-config", n.kubeletConfig, "--bin-dir", n.bin}
}

// find returns the findings of step whose text contains s.
func (r report) find(step, s string) []check.Finding {
	var out []check.Finding
	for _, f := range r.Findings {
		text := f.Subject + ": " + f.Message + " " + strings.Join(f.Details, " ")
		if f.Step == step && strings.Contains(text, s) {
			out = append(out, f)
		}
	}
	return out
}

func (r report) String() string {
	var b bytes.Buffer
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s %s %s: %s\n", f.Verdict, f.Step, f.Subject, f.Message)
		for _, d := range f.Details {
			fmt.Fprintf(&b, "    %s\n", d)
		}
	}
	return b.String()
}

// unread is the warning of a check on Windows, where the running kubelet is not read:
// the files checked are those given, which the operator is asked to compare with the
// kubelet's flags; "" elsewhere.
func (n *node) unread() string {
	if runtime.GOOS != "windows" {
		return ""
	}
	return "the running kubelet's command line is not read on Windows (`sc.exe qc kubelet` shows it): check that the kubelet runs with --image-credential-provider-config=" +
		n.kubeletConfig + " --image-credential-provider-bin-dir=" + n.bin + ", which are the files checked"
}

// notExecutable is how check reports the front end it cannot run: on Windows, a file
// without an extension, with the name to give it.
func notExecutable() string {
	if runtime.GOOS == "windows" {
		return `its extension "" is none of PATHEXT's`
	}
	return "is not executable by"
}

// fixExecutable is the end of that finding: what to change.
func fixExecutable() string {
	if runtime.GOOS == "windows" {
		return "): install it as " + filepath.Join("BIN", binaries.FrontEnd) + ".exe (install does)"
	}
	return "is not executable by"
}

// executable is how an installed binary is found executable: by the user on Unix, by
// its .exe on Windows.
func (n *node) executable() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(n.bin, binaries.FrontEnd) + ".exe, executable by the kubelet (Windows runs a program by its extension)"
	}
	return filepath.Join(n.bin, binaries.FrontEnd) + ", executable by this user"
}

// missing is how a provider's binary is missing: on Windows, with .exe and the like too.
func missing() string {
	if runtime.GOOS == "windows" {
		return "missing (with each extension of PATHEXT too)"
	}
	return "missing"
}

// What install writes passes; an image of the docker config gets its key, masked.
func TestGoodConfig(t *testing.T) {
	n := newNode(t)
	r, res := n.check(t, append(n.flags(), "registry.example/team/app:1.0")...)
	wantWarnings := 0
	if n.unread() != "" {
		wantWarnings = 1
		if fs := r.find(check.StepKubelet, n.unread()); len(fs) != 1 || fs[0].Verdict != check.Warn {
			t.Errorf("no warning that the kubelet is not read:\n%s", r)
		}
	}
	if res.Code != 0 || r.Failed != 0 || r.Warnings != wantWarnings {
		t.Fatalf("exit %d, %d failed, %d warnings\n%s%s", res.Code, r.Failed, r.Warnings, r, res.Stderr)
	}
	for _, want := range []struct{ step, text string }{
		{check.StepConfig, "1 provider (image-credential-provider), valid as the kubelet reads them"},
		{check.StepBinary, n.executable()},
		{check.StepPlugin, "configuration " + filepath.Join(n.dir, "plugin.yaml") + "; backends static, ecr"},
		{check.StepMatch, "patterns reach every host family the enabled backends serve, and only those"},
		{check.StepImage, "the kubelet runs image-credential-provider for registry.example/team/app"},
	} {
		if fs := r.find(want.step, want.text); len(fs) != 1 || fs[0].Verdict != check.OK {
			t.Errorf("no ok %s finding with %q:\n%s", want.step, want.text, r)
		}
	}
	img := r.find(check.StepImage, "registry.example")[0].Image
	if img == nil || len(img.Runs) != 1 {
		t.Fatalf("image run %+v", img)
	}
	run := img.Runs[0]
	if run.ExitCode != 0 || run.CacheKeyType != "Registry" || len(run.Keys) != 1 || run.Keys[0].Key != "registry.example" || run.Keys[0].Username != "user" ||
		run.Keys[0].Password != "****** (6 chars)" || run.Keys[0].Try != 1 || len(run.Backends) != 1 || run.Backends[0].Name != "static" {
		t.Errorf("run %+v", run)
	}
	if strings.Contains(res.Stdout, "s3cr3t") {
		t.Error("a password is shown")
	}

	// Without images, one per enabled backend; a failing example is a warning only.
	r, res = n.check(t, n.flags()...)
	if res.Code != 0 || len(r.find(check.StepImage, "(an example; give images to check yours)")) != 2 {
		t.Errorf("representative images: exit %d\n%s", res.Code, r)
	}
}

// Text output: one line per finding, the failures last, then the count; exit 1.
func TestTextOutput(t *testing.T) {
	n := newNode(t)
	os.Remove(filepath.Join(n.bin, testbin.Exe(binaries.FrontEnd)))
	res, err := testbin.Run{Bin: filepath.Join(built(t), testbin.Exe(binaries.All)), Args: append([]string{"check", "--proc", n.proc}, append(n.flags(), "quay.io/org/app")...), Home: t.TempDir()}.Do()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if res.Code != 1 || res.Stderr != "image-credential-provider-all: check: 1 failed (listed last)\n" {
		t.Fatalf("exit %d, stderr %q\n%s", res.Code, res.Stderr, res.Stdout)
	}
	last := lines[len(lines)-1]
	// config; no provider of this plugin, an image no provider matches (and on Windows
	// the kubelet not read); the binary
	want := "1 ok, 2 warnings, 1 failed"
	if runtime.GOOS == "windows" {
		want = "1 ok, 3 warnings, 1 failed"
	}
	if last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	if !strings.HasPrefix(lines[len(lines)-2], "fail  binary       image-credential-provider: "+filepath.Join(n.bin, binaries.FrontEnd)+": "+missing()+": the kubelet fails to start") {
		t.Errorf("the failure is not listed last:\n%s", res.Stdout)
	}
	if runtime.GOOS == "windows" { // first, that the kubelet was not read
		if !strings.HasPrefix(lines[0], "warn  kubelet      "+n.unread()) {
			t.Errorf("first line %q", lines[0])
		}
		lines = lines[1:]
	}
	if !strings.HasPrefix(lines[0], "ok    config       ") || !strings.Contains(res.Stdout, "warn  image        quay.io/org/app: no provider's matchImages matches quay.io/org/app") {
		t.Errorf("output:\n%s", res.Stdout)
	}
}

// Each kind of defect is found, with its verdict, and only failures fail.
func TestDefects(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, n *node)
		args    []string
		verdict check.Verdict
		step    string
		text    string
	}{
		{"a field the kubelet does not know", func(t *testing.T, n *node) {
			data, _ := os.ReadFile(n.kubeletConfig)
			write(t, n.kubeletConfig, strings.Replace(string(data), "matchImages:", "matchImage:", 1))
		}, nil, check.Fail, check.StepConfig, "providers[0].matchImage: unknown field"},
		{"a pattern the kubelet cannot parse", func(t *testing.T, n *node) {
			n.edit(t, func(c *kubeletconfig.Config) { c.Providers[0].MatchImages[1] = "reg.example:port" })
		}, nil, check.Fail, check.StepConfig, `providers[0].matchImages[1]: "reg.example:port" is not an image pattern`},
		{"no binary for a provider", func(t *testing.T, n *node) {
			n.edit(t, func(c *kubeletconfig.Config) {
				p := c.Providers[0]
				p.Name, p.MatchImages, p.Args = "other-plugin", []string{"other.example"}, nil
				c.Providers = append(c.Providers, p)
			})
		}, nil, check.Fail, check.StepBinary, "other-plugin: " + filepath.Join("BIN", "other-plugin") + ": " + missing() + ": the kubelet fails to start"},
		{"a binary the kubelet cannot execute", func(t *testing.T, n *node) {
			if runtime.GOOS == "windows" {
				// no .exe: Windows runs a program by its extension
				front := filepath.Join(n.bin, binaries.FrontEnd)
				if err := os.Rename(front+".exe", front); err != nil {
					t.Fatal(err)
				}
				return
			}
			os.Chmod(filepath.Join(n.bin, binaries.FrontEnd), 0o644)
		}, nil, check.Fail, check.StepBinary, notExecutable()},
		{"a binary the kubelet cannot execute says what to do", func(t *testing.T, n *node) {
			if runtime.GOOS != "windows" {
				os.Chmod(filepath.Join(n.bin, binaries.FrontEnd), 0o644)
				return
			}
			front := filepath.Join(n.bin, binaries.FrontEnd)
			if err := os.Rename(front+".exe", front); err != nil {
				t.Fatal(err)
			}
		}, nil, check.Fail, check.StepBinary, fixExecutable()},
		{"no bin dir", func(t *testing.T, n *node) { os.RemoveAll(n.bin) }, nil, check.Fail, check.StepBinary, "the bin dir does not exist"},
		{"args that are not a valid configuration", func(t *testing.T, n *node) {
			n.edit(t, func(c *kubeletconfig.Config) { c.Providers[0].Args = append(c.Providers[0].Args, "--no-such-flag") })
		}, nil, check.Fail, check.StepPlugin, "do not make a valid configuration: flag provided but not defined: -no-such-flag"},
		{"env that breaks the configuration", func(t *testing.T, n *node) {
			n.edit(t, func(c *kubeletconfig.Config) {
				c.Providers[0].Args = append(c.Providers[0].Args, "--backends=static,acr", "--acr-cloud=AzureStackCloud")
			})
		}, nil, check.Fail, check.StepPlugin, "its configuration is not valid: acr: cloud AzureStackCloud needs an environment file"},
		{"a host family no pattern reaches", func(t *testing.T, n *node) {
			n.edit(t, func(c *kubeletconfig.Config) {
				var keep []string
				for _, m := range c.Providers[0].MatchImages {
					if m != "*.dkr.ecr-fips.*.amazonaws.com" {
						keep = append(keep, m)
					}
				}
				c.Providers[0].MatchImages = keep
			})
		}, nil, check.Warn, check.StepMatch, "ecr serves *.dkr.ecr-fips.*.amazonaws.com, and no matchImages pattern reaches it"},
		{"a family reached only in part", func(t *testing.T, n *node) {
			n.edit(t, func(c *kubeletconfig.Config) {
				for i, m := range c.Providers[0].MatchImages {
					if m == "*.dkr.ecr.*.amazonaws.com" {
						c.Providers[0].MatchImages[i] = "123456789012.dkr.ecr.*.amazonaws.com"
					}
				}
			})
		}, nil, check.Warn, check.StepMatch, "ecr serves *.dkr.ecr.*.amazonaws.com, and the matchImages patterns reach only part of it"},
		{"a pattern no backend serves", func(t *testing.T, n *node) {
			n.edit(t, func(c *kubeletconfig.Config) {
				c.Providers[0].MatchImages = append(c.Providers[0].MatchImages, "quay.io")
			})
		}, nil, check.Warn, check.StepMatch, `"quay.io": no enabled backend serves these hosts`},
		{"another provider before ours", func(t *testing.T, n *node) {
			script := filepath.Join(n.bin, testbin.Exe("ecr-credential-provider"))
			write(t, script, "#!/bin/sh\nexit 1\n")
			os.Chmod(script, 0o755)
			n.edit(t, func(c *kubeletconfig.Config) {
				p := c.Providers[0]
				p.Name, p.MatchImages, p.Args = "ecr-credential-provider", []string{"*.dkr.ecr.*.amazonaws.com"}, nil
				c.Providers = append([]kubeletconfig.Provider{p}, c.Providers...)
			})
		}, nil, check.Warn, check.StepMatch, "provider ecr-credential-provider, listed before it, matches \"*.dkr.ecr.*.amazonaws.com\" too"},
		{"an image whose credentials cannot be read", nil, []string{"broken.example/app"}, check.Fail, check.StepImage, "FAILED after"},
		{"an image no provider matches", nil, []string{"quay.io/org/app"}, check.Warn, check.StepImage, "no provider's matchImages matches quay.io/org/app"},
		{"no configuration at all", func(t *testing.T, n *node) { os.Remove(n.kubeletConfig) }, nil, check.Fail, check.StepConfig, "cannot read it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			if tt.prepare != nil {
				tt.prepare(t, n)
			}
			r, res := n.check(t, append(n.flags(), tt.args...)...)
			text := strings.ReplaceAll(tt.text, "BIN", n.bin)
			fs := r.find(tt.step, text)
			if len(fs) == 0 || fs[0].Verdict != tt.verdict {
				t.Fatalf("no %s %s finding with %q:\n%s", tt.verdict, tt.step, text, r)
			}
			wantCode := 0
			if r.Failed > 0 {
				wantCode = 1
			}
			if res.Code != wantCode || (tt.verdict == check.Fail) != (r.Failed > 0) {
				t.Errorf("exit %d with %d failed\n%s", res.Code, r.Failed, r)
			}
		})
	}
}

// The paths default to the running kubelet's flags; without a kubelet and without
// flags, there is nothing to check. On Windows the running kubelet is not read: the
// paths must be given, whatever a process table holds.
func TestKubeletDefaults(t *testing.T) {
	n := newNode(t)
	none := "no --kubelet-config given, and no running kubelet to take it from"
	if runtime.GOOS == "windows" {
		none = "no --kubelet-config given, and the running kubelet's command line is not read on Windows (`sc.exe qc kubelet` shows it): give --kubelet-config and --bin-dir"
	}
	r, res := n.check(t)
	if res.Code != 1 || len(r.find(check.StepKubelet, none)) != 1 {
		t.Errorf("no kubelet: exit %d\n%s", res.Code, r)
	}
	dir := filepath.Join(n.proc, "99")
	write(t, filepath.Join(dir, "cmdline"), strings.Join([]string{"kubelet", "--image-credential-provider-config=" + n.kubeletConfig, "--image-credential-provider-bin-dir=" + n.bin}, "\x00"))
	write(t, filepath.Join(dir, "status"), fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\n", os.Getuid(), os.Getuid(), os.Getuid(), os.Getuid()))
	write(t, filepath.Join(dir, "environ"), "PATH=/usr/bin:/bin\x00HOME="+n.dir+"\x00")
	r, res = n.check(t, "registry.example/app")
	if runtime.GOOS == "windows" {
		if res.Code != 1 || len(r.find(check.StepKubelet, none)) != 1 || r.KubeletPID != 0 || strings.Contains(r.String(), "pid 99") {
			t.Errorf("a process table on Windows: exit %d\n%s", res.Code, r)
		}
		return
	}
	if res.Code != 0 || r.KubeletPID != 99 || len(r.find(check.StepKubelet, "the running kubelet reads "+n.kubeletConfig)) != 1 ||
		len(r.find(check.StepBinary, fmt.Sprintf("executable by the kubelet's user (uid %d)", os.Getuid()))) != 1 {
		t.Errorf("from the kubelet: exit %d\n%s", res.Code, r)
	}
}
