package handoff

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary plays two parts, chosen by environment: the process that hands
// over (handoffTestMode=exec) and the target that reports what it received
// (handoffTestMode=echo).
const modeEnv = "HANDOFF_TEST_MODE"

type echoed struct {
	Argv  []string
	Stdin string
	By    string
	Env   []string
}

func TestMain(m *testing.M) {
	switch os.Getenv(modeEnv) {
	case "echo":
		data, _ := io.ReadAll(os.Stdin)
		by, _ := Chained()
		json.NewEncoder(os.Stdout).Encode(echoed{Argv: os.Args, Stdin: string(data), By: by, Env: os.Environ()})
		os.Exit(7)
	case "exec":
		var r Request
		body, err := os.ReadFile(os.Getenv("HANDOFF_TEST_REQUEST"))
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(body, &r); err != nil {
			panic(err)
		}
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, modeEnv+"=") {
				r.Env = append(r.Env, e)
			}
		}
		r.Env = append(r.Env, modeEnv+"=echo")
		code, err := Exec(r)
		if err != nil {
			os.Stderr.WriteString("handoff failed: " + err.Error() + "\n")
			if errors.Is(err, ErrSelf) {
				os.Exit(3)
			}
			os.Exit(4)
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// copyOfTestBinary puts a copy of the running test binary (a different file with the
// same content) in dir under name.
func copyOfTestBinary(t *testing.T, dir, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ExecutableName(name))
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// handOver runs the binary at from in exec mode, handing r over.
func handOver(t *testing.T, from string, r Request) (stdout, stderr string, code int) {
	t.Helper()
	body, _ := json.Marshal(r)
	reqFile := filepath.Join(t.TempDir(), "request.json")
	if err := os.WriteFile(reqFile, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(from)
	cmd.Env = append(os.Environ(), modeEnv+"=exec", "HANDOFF_TEST_REQUEST="+reqFile, HandedOverBy+"=stale-value")
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader("the front's own stdin")
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestExec(t *testing.T) {
	dir := t.TempDir()
	from := copyOfTestBinary(t, dir, "front")
	target := copyOfTestBinary(t, dir, "companion")
	big := strings.Repeat("x", 300<<10) // beyond a default pipe's capacity

	tests := []struct {
		name     string
		req      Request
		wantCode int
		wantErr  string
	}{
		{"request, argv0 and arguments reach the target", Request{Path: target, Argv0: "ecr-credential-provider", Args: []string{"--config", "a b", ""}, Stdin: []byte(`{"image":"x"}`), By: "front"}, 7, ""},
		{"argv0 defaults to the target's name", Request{Path: target, Stdin: nil, By: "front"}, 7, ""},
		{"a large request", Request{Path: target, Stdin: []byte(big), By: "front"}, 7, ""},
		{"the running process's own stdin", Request{Path: target, KeepStdin: true, Stdin: []byte("ignored"), By: "front"}, 7, ""},
		{"the running binary itself is refused", Request{Path: from, By: "front"}, 3, "refusing to run"},
		{"a missing target", Request{Path: filepath.Join(dir, "absent"), By: "front"}, 4, "cannot run"},
		{"a directory", Request{Path: dir, By: "front"}, 4, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := handOver(t, from, tt.req)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if tt.wantErr != "" {
				if !strings.Contains(stderr, tt.wantErr) {
					t.Fatalf("stderr %q does not say %q", stderr, tt.wantErr)
				}
				return
			}
			var got echoed
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("target output %q: %v", stdout, err)
			}
			argv0 := tt.req.Argv0
			if argv0 == "" {
				argv0 = filepath.Base(tt.req.Path)
			}
			want := append([]string{argv0}, tt.req.Args...)
			if strings.Join(got.Argv, "\x00") != strings.Join(want, "\x00") {
				t.Errorf("argv %q, want %q", got.Argv, want)
			}
			wantStdin := string(tt.req.Stdin)
			if tt.req.KeepStdin {
				wantStdin = "the front's own stdin"
			}
			if got.Stdin != wantStdin {
				t.Errorf("stdin: got %d bytes, want %d", len(got.Stdin), len(tt.req.Stdin))
			}
			if got.By != "front" {
				t.Errorf("%s = %q, want front", HandedOverBy, got.By)
			}
			n := 0
			for _, e := range got.Env {
				if strings.HasPrefix(e, HandedOverBy+"=") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s set %d times in the target's environment, want once", HandedOverBy, n)
			}
		})
	}
}

func TestSymlinkToSelfIsRefused(t *testing.T) {
	dir := t.TempDir()
	from := copyOfTestBinary(t, dir, "front")
	link := filepath.Join(dir, "companion")
	if err := os.Symlink(from, link); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Skip("symlinks unavailable: made without an error, but not there (wine 8):", err)
	}
	_, stderr, code := handOver(t, from, Request{Path: link, By: "front"})
	if code != 3 {
		t.Fatalf("exit code %d, want 3 (refused as itself); stderr %s", code, stderr)
	}
}

func TestHardLinkToSelfIsRefused(t *testing.T) {
	dir := t.TempDir()
	from := copyOfTestBinary(t, dir, "front")
	link := filepath.Join(dir, "companion")
	if err := os.Link(from, link); err != nil {
		t.Skip("hard links unavailable:", err)
	}
	_, stderr, code := handOver(t, from, Request{Path: link, By: "front"})
	if code != 3 {
		t.Fatalf("exit code %d, want 3 (refused as itself); stderr %s", code, stderr)
	}
}
