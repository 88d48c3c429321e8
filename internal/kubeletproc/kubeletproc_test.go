package kubeletproc

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func fakeProc(t *testing.T, procs map[string][]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, args := range procs {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.Join(args, "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tkubelet\nUid:\t0\t0\t0\t1000\nGid:\t0\t0\t0\t2000\nGroups:\t10 20 \n"), 0o644)
		os.WriteFile(filepath.Join(dir, "environ"), []byte("HOME=/root\x00PATH=/usr/bin\x00"), 0o644)
		os.Symlink("/var/lib/kubelet", filepath.Join(dir, "cwd"))
	}
	os.WriteFile(filepath.Join(root, "uptime"), []byte("1 2"), 0o644)
	return root
}

// Find reads the kubelets of a proc directory; on Windows it reads nothing and says
// that the running kubelet cannot be read there, even given a proc directory that
// holds one.
func TestFind(t *testing.T) {
	proc := fakeProc(t, map[string][]string{
		"1":   {"/sbin/init"},
		"42":  {"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--image-credential-provider-config", "/etc/kubernetes/cp.yaml", "--image-credential-provider-bin-dir=/usr/libexec/kcp", "--feature-gates=A=true,KubeletServiceAccountTokenForCredentialProviders=false"},
		"7":   {"/opt/bin/hyperkube", "kubelet", "--image-credential-provider-config=/x"},
		"100": {"/usr/bin/kubelet-wrapper"},
		"101": {"/usr/bin/hyperkube", "apiserver"},
	})
	ks, err := Find(proc)
	if runtime.GOOS == "windows" {
		if ks != nil || !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrNotFound) {
			t.Fatalf("on Windows: found %+v, error %v; want none and ErrUnsupported", ks, err)
		}
		return
	}
	if errors.Is(err, ErrUnsupported) {
		t.Fatalf("on %s: %v", runtime.GOOS, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].PID != 7 || ks[1].PID != 42 {
		t.Fatalf("found %+v", ks)
	}
	k := ks[1]
	if k.Config() != "/etc/kubernetes/cp.yaml" || k.BinDir() != "/usr/libexec/kcp" {
		t.Errorf("flags %q %q", k.Config(), k.BinDir())
	}
	if k.UID != 1000 || !slices.Equal(k.GIDs, []int{2000, 10, 20}) {
		t.Errorf("ids %d %v", k.UID, k.GIDs)
	}
	if !slices.Equal(k.Env, []string{"HOME=/root", "PATH=/usr/bin"}) || k.Cwd != "/var/lib/kubelet" {
		t.Errorf("env %q cwd %q", k.Env, k.Cwd)
	}
	if on, set := k.FeatureGate("KubeletServiceAccountTokenForCredentialProviders"); on || !set {
		t.Errorf("feature gate on=%v set=%v", on, set)
	}
	if _, set := k.FeatureGate("Other"); set {
		t.Error("unset gate reported set")
	}
	if ks[0].Args[0] != "kubelet" || ks[0].Config() != "/x" || ks[0].BinDir() != "" {
		t.Errorf("hyperkube: %q", ks[0].Args)
	}

	if _, err := Find(fakeProc(t, map[string][]string{"1": {"init"}})); !errors.Is(err, ErrNotFound) {
		t.Errorf("no kubelet: %v", err)
	}
	if _, err := Find(filepath.Join(proc, "missing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("no proc: %v", err)
	}
}

func TestFlag(t *testing.T) {
	tests := []struct {
		args  []string
		want  string
		found bool
	}{
		{[]string{"--a=1"}, "1", true},
		{[]string{"--a", "1"}, "1", true},
		{[]string{"--a=1", "--a=2"}, "2", true},
		{[]string{"--ab=1"}, "", false},
		{[]string{"-a=1"}, "", false},
		{[]string{"--", "--a=1"}, "", false},
		{[]string{"--a"}, "", false},
		{[]string{"--a="}, "", true},
	}
	for _, tt := range tests {
		if got, found := Flag(tt.args, "a"); got != tt.want || found != tt.found {
			t.Errorf("Flag(%q) = %q, %v; want %q, %v", tt.args, got, found, tt.want, tt.found)
		}
	}
}
