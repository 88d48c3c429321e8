package frontend

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/testbin"
)

// TestNoReplayAfterAnyFileChange is the file-change matrix: an answer is replayed while
// every file it came from is unchanged, and never after any change to any of them.
func TestNoReplayAfterAnyFileChange(t *testing.T) {
	type setup struct {
		home, cwdFile, explicit, configFile string
		args                                []string
	}
	// Each case records an answer, checks that it is replayed, changes one file, and
	// checks that it is no longer replayed.
	explicit := func(t *testing.T, s *setup) {
		s.explicit = writeFile(t, filepath.Join(t.TempDir(), "config.json"), dockerConfig)
		s.args = []string{"--backends=static", "--dockercfg", s.explicit}
	}
	viaConfigFile := func(t *testing.T, s *setup) {
		s.explicit = writeFile(t, filepath.Join(t.TempDir(), "config.json"), dockerConfig)
		s.configFile = writeFile(t, filepath.Join(t.TempDir(), "plugin.yaml"),
			"apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [static]\nstatic:\n  files: ["+s.explicit+"]\n")
		s.args = []string{"--config", s.configFile}
	}
	searched := func(t *testing.T, s *setup) {
		// No file configured: the kubelet's own search (root dir, cwd, ~/.docker, ...).
		root := t.TempDir()
		s.configFile = writeFile(t, filepath.Join(t.TempDir(), "plugin.yaml"),
			"apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [static]\nstatic:\n  kubeletRootDir: "+root+"\n")
		s.explicit = writeFile(t, filepath.Join(s.home, ".docker", "config.json"), dockerConfig)
		s.cwdFile = filepath.Join(s.home, "config.json") // the working directory is home; searched before ~/.docker
		s.args = []string{"--config", s.configFile}
	}
	tests := []struct {
		name   string
		setup  func(*testing.T, *setup)
		change func(*testing.T, *setup)
	}{
		{"docker config edited, same size", explicit, func(t *testing.T, s *setup) {
			writeFile(t, s.explicit, strings.Replace(dockerConfig, "static-secret", "static-secreT", 1))
		}},
		{"docker config replaced", explicit, func(t *testing.T, s *setup) {
			writeFile(t, s.explicit+".new", dockerConfig+"\n")
			if err := os.Rename(s.explicit+".new", s.explicit); err != nil {
				t.Fatal(err)
			}
		}},
		{"docker config removed", explicit, func(t *testing.T, s *setup) {
			if err := os.Remove(s.explicit); err != nil {
				t.Fatal(err)
			}
		}},
		{"docker config permissions changed", explicit, func(t *testing.T, s *setup) {
			if runtime.GOOS == "windows" {
				if err := os.Chmod(s.explicit, 0o400); err != nil { // read-only: the one bit Windows has
					t.Fatal(err)
				}
				return
			}
			if err := os.Chmod(s.explicit, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"plugin config file edited", viaConfigFile, func(t *testing.T, s *setup) {
			data, err := os.ReadFile(s.configFile)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, s.configFile, string(data)+"# a comment\n")
		}},
		{"docker config named by the config file edited", viaConfigFile, func(t *testing.T, s *setup) {
			writeFile(t, s.explicit, `{"auths":{"reg.example":{"username":"u","password":"rotated"}}}`)
		}},
		{"searched docker config edited", searched, func(t *testing.T, s *setup) {
			writeFile(t, s.explicit, `{"auths":{"reg.example":{"username":"u","password":"rotated"}}}`)
		}},
		{"a file earlier in the search appears", searched, func(t *testing.T, s *setup) {
			writeFile(t, s.cwdFile, `{"auths":{"reg.example":{"username":"u","password":"from-cwd"}}}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := ownBinDir(t)
			s := &setup{home: t.TempDir()}
			tt.setup(t, s)
			args := append(s.args, "--cache-dir", filepath.Join(t.TempDir(), "cache"))
			request := req(v1, "reg.example/team/app")
			if got := decode(t, run(t, dir, binaries.FrontEnd, s.home, request, nil, args...)); got.Auth["reg.example"].Password != "static-secret" {
				t.Fatalf("first answer %+v", got)
			}
			frontEndAlone(t, dir)
			if r := run(t, dir, binaries.FrontEnd, s.home, request, nil, args...); r.Code != 0 {
				t.Fatalf("not replayed before any change: %s", r.Stderr)
			}
			tt.change(t, s)
			if r := run(t, dir, binaries.FrontEnd, s.home, request, nil, args...); !isMiss(r) {
				t.Fatalf("replayed after the change: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}

// The front end never runs itself, and copies of it installed under the companions'
// names stop after one hand-over with a one-line error, even under a small limit on
// processes.
func TestNeverRunsItself(t *testing.T) {
	tests := []struct {
		name    string
		install func(dir, front, target string) error
		want    string
	}{
		{"companions are links to the front end", func(dir, front, target string) error {
			return sameFileAs(front, target)
		}, "itself"},
		{"companions are copies of the front end", func(dir, front, target string) error {
			data, err := os.ReadFile(front)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o755)
		}, "handing a request over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := ownBinDir(t)
			front := filepath.Join(dir, testbin.Exe(binaries.FrontEnd))
			for _, b := range binaries.Installed()[1:] {
				target := filepath.Join(dir, testbin.Exe(b))
				if err := os.Remove(target); err != nil {
					t.Fatal(err)
				}
				if err := tt.install(dir, front, target); err != nil {
					t.Fatal(err)
				}
			}
			for _, image := range []string{"gcr.io/p/app", "quay.io/a/b"} {
				start := time.Now()
				r := runLimited(t, dir, req(v1, image))
				if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, tt.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want one line saying %q", image, r.Code, r.Stdout, r.Stderr, tt.want)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("%s: took %s", image, d)
				}
			}
		})
	}
}

// Run by hand on a terminal, in kubelet mode, the front end says what it expects
// instead of waiting for input.
func TestTerminalIsNotWaitedOn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the test opens a pseudo-terminal, which it does on Linux only; internal/tty's tests check the terminal test of each platform")
	}
	master, slave, err := openPTY()
	if err != nil {
		t.Fatal("opening a pseudo-terminal:", err)
	}
	defer master.Close()
	defer slave.Close()
	start := time.Now()
	r, err := testbin.Run{Bin: filepath.Join(builtDir, testbin.Exe(binaries.FrontEnd)), Args: []string{"--backends=static"}, Home: t.TempDir(), StdinFile: slave, Timeout: 20 * time.Second}.Do()
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 1 || !strings.Contains(r.Stderr, "expects a CredentialProviderRequest") || !strings.Contains(r.Stderr, "get IMAGE") {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}

	// Under a drop-in name, which has no get command, the hint names the binary that
	// has one.
	dir := ownBinDir(t)
	if err := os.Symlink(testbin.Exe(binaries.FrontEnd), filepath.Join(dir, testbin.Exe("acr-credential-provider"))); err != nil {
		t.Fatal(err)
	}
	r, err = testbin.Run{Bin: filepath.Join(dir, testbin.Exe("acr-credential-provider")), Args: []string{"/etc/kubernetes/azure.json"}, Home: t.TempDir(), StdinFile: slave, Timeout: 20 * time.Second}.Do()
	if err != nil {
		t.Fatal(err)
	}
	want := "acr-credential-provider: expects a CredentialProviderRequest (JSON) on stdin, as the kubelet sends it; to try an image by hand run `image-credential-provider get IMAGE` (see image-credential-provider --help)\n"
	if r.Code != 1 || r.Stderr != want {
		t.Errorf("drop-in name: exit %d, stderr %q, want %q", r.Code, r.Stderr, want)
	}
}

// sameFileAs puts the file at target under the name link: a relative symlink, or on
// Windows a hard link (symlinks there need a privilege; wine 8 reports them made and
// makes nothing).
func sameFileAs(target, link string) error {
	if runtime.GOOS == "windows" {
		return os.Link(target, link)
	}
	return os.Symlink(filepath.Base(target), link)
}
