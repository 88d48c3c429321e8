package install

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/backends"
	"github.com/imagecred/image-credential-provider/internal/binaries"
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

// installArgs are the arguments of an installation into root, with an empty process
// table, the plugin config cfg and a static backend.
func installArgs(root, proc, cfg string) []string {
	return []string{"install", "--root", root, "--proc", proc, "--config", cfg, "--backends=static,ecr", "--dockercfg", onNode("/etc/kubernetes/docker-config.json")}
}

func pluginConfig(t *testing.T) string {
	cfg := filepath.Join(t.TempDir(), "plugin.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\ncache:\n  dir: "+onNode("/var/lib/icp")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The front end hands `install` to the binary with the commands: a fresh install, then
// a second run that changes nothing; failures exit 1 with one line on stderr.
func TestInstallCommand(t *testing.T) {
	dir := built(t)
	root, proc := t.TempDir(), t.TempDir()
	cfg := pluginConfig(t)
	run := func(args ...string) testbin.Result {
		t.Helper()
		res, err := testbin.Run{Bin: filepath.Join(dir, testbin.Exe(binaries.FrontEnd)), Args: args, Home: t.TempDir()}.Do()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run(installArgs(root, proc, cfg)...)
	if res.Code != 0 || !strings.Contains(res.Stdout, "installed: 7 files written, 0 unchanged") || res.Stderr != "" {
		t.Fatalf("exit %d\n%s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	kc, err := os.ReadFile(backends.Rooted(root, DefaultKubeletConfig))
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubeletconfig.Decode(kc)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Providers) != 1 || !slices.Equal(c.Providers[0].Args, []string{"--config=" + DefaultConfigDest, "--backends=static,ecr", "--dockercfg=" + onNode("/etc/kubernetes/docker-config.json")}) ||
		!slices.Contains(c.Providers[0].MatchImages, "*.dkr.ecr-fips.*.amazonaws.com") {
		t.Errorf("kubelet config:\n%s", kc)
	}
	if runtime.GOOS != "windows" { // as written: each arg and pattern quoted, one a line
		for _, want := range []string{"      - \"--config=/etc/kubernetes/image-credential-provider.yaml\"\n      - \"--backends=static,ecr\"\n      - \"--dockercfg=/etc/kubernetes/docker-config.json\"\n", "      - \"*.dkr.ecr-fips.*.amazonaws.com\"\n"} {
			if !strings.Contains(string(kc), want) {
				t.Errorf("kubelet config lacks %q:\n%s", want, kc)
			}
		}
	}
	for _, n := range binaries.Installed() {
		a, _ := os.ReadFile(filepath.Join(dir, testbin.Exe(n)))
		b, _ := os.ReadFile(backends.Rooted(root, filepath.Join(DefaultBinDir, testbin.Exe(n))))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s not installed as built", n)
		}
	}
	res = run(installArgs(root, proc, cfg)...)
	if res.Code != 0 || !strings.Contains(res.Stdout, "nothing to change: all 7 files are already installed") {
		t.Errorf("second run: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	res = run(append(installArgs(root, proc, cfg), "--match-image", "bad:port")...)
	if res.Code != 1 || strings.Count(res.Stderr, "\n") != 1 || !strings.HasPrefix(res.Stderr, "image-credential-provider: the kubelet config would not be valid; nothing was changed: ") {
		t.Errorf("invalid pattern: exit %d, stderr %q", res.Code, res.Stderr)
	}
	res = run("install", "--root")
	if res.Code != 1 || !strings.Contains(res.Stderr, "flag needs an argument") {
		t.Errorf("bad flags: exit %d, stderr %q", res.Code, res.Stderr)
	}
}

// Killed at any moment (SIGKILL, as a node drain or an OOM kill would), the installer
// leaves at each final path either the old file or the new one, complete: never a
// partial binary or configuration. The next run completes the installation and removes
// what the killed ones left.
func TestKilledAtAnyMoment(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL and a process's file writes as tested here are Unix's")
	}
	dir := built(t)
	all := filepath.Join(dir, testbin.Exe(binaries.All))
	cfg := pluginConfig(t)
	proc := t.TempDir()
	docker := `{"auths":{"registry.example":{"auth":"dTpw"}}}`

	// old is a node before the installation: old binaries, a kubelet config with another
	// provider, an old plugin config.
	old := map[string][]byte{
		DefaultKubeletConfig: []byte(otherProviders),
		DefaultConfigDest:    []byte("apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\n"),
	}
	for _, n := range binaries.Installed() {
		old[filepath.Join(DefaultBinDir, testbin.Exe(n))] = []byte("#!/bin/sh\necho old " + n + "\n")
	}
	prepare := func() string {
		root := t.TempDir()
		for p, data := range old {
			writeTestFile(t, filepath.Join(root, p), data)
		}
		writeTestFile(t, filepath.Join(root, "/etc/kubernetes/docker-config.json"), []byte(docker))
		return root
	}
	install := func(root string) *exec.Cmd {
		cmd := exec.Command(all, installArgs(root, proc, cfg)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
		return cmd
	}

	// The new files, from a complete run; and how long a run takes.
	ref := prepare()
	start := time.Now()
	if out, err := install(ref).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	full := time.Since(start)
	want := map[string][]byte{}
	for p := range old {
		data, err := os.ReadFile(filepath.Join(ref, p))
		if err != nil || bytes.Equal(data, old[p]) {
			t.Fatalf("%s not replaced by a complete run: %v", p, err)
		}
		want[p] = data
	}

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var mixed int // runs killed with some files replaced and others not: mid-installation
	for i := 0; i < 16; i++ {
		root := prepare()
		cmd := install(root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(full) + 1)))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		replaced := 0
		for p := range old {
			data, err := os.ReadFile(filepath.Join(root, p))
			switch {
			case err != nil:
				t.Fatalf("run %d: %s: %v", i, p, err)
			case bytes.Equal(data, want[p]):
				replaced++
			case !bytes.Equal(data, old[p]):
				t.Fatalf("run %d: %s is neither the old file nor the new one (%d bytes)", i, p, len(data))
			}
		}
		if replaced > 0 && replaced < len(old) {
			mixed++
		}
		// The next run completes the installation and clears what was left.
		if out, err := install(root).CombinedOutput(); err != nil {
			t.Fatalf("run %d, then a complete run: %v\n%s", i, err, out)
		}
		for p := range old {
			if data, _ := os.ReadFile(filepath.Join(root, p)); !bytes.Equal(data, want[p]) {
				t.Fatalf("run %d: %s not installed by the next run", i, p)
			}
		}
		for _, d := range []string{DefaultBinDir, "/etc/kubernetes"} {
			ents, _ := os.ReadDir(filepath.Join(root, d))
			for _, e := range ents {
				if strings.Contains(e.Name(), ".install-") {
					t.Errorf("run %d: temporary file %s left in %s", i, e.Name(), d)
				}
			}
		}
	}
	t.Logf("a full run takes %s; %d of 16 killed runs stopped mid-installation", full, mixed)
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// --stay keeps the installer running, idle, until SIGTERM, then it exits 0: a DaemonSet
// container without a shell. The signal is sent the moment the "staying" line is seen
// (as a kubelet stopping the pod may), so it must already be handled then.
func TestStay(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals")
	}
	dir := built(t)
	root, proc := t.TempDir(), t.TempDir()
	cmd := exec.Command(filepath.Join(dir, testbin.Exe(binaries.All)), append(installArgs(root, proc, pluginConfig(t)), "--stay")...)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	var out syncBuffer
	cmd.Stderr = &out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	said := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if !found && sc.Text() == "staying until SIGTERM or SIGINT" {
				found = true
				said <- true
			}
		}
		if !found {
			said <- false
		}
	}()
	select {
	case ok := <-said:
		if !ok {
			t.Fatalf("never said it stays:\n%s", out.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("never said it stays:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("the process is gone before SIGTERM: %v\n%s", err, out.String())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 30s after SIGTERM")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
