package dockercfg

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/internal/quote"
	"github.com/imagecred/image-credential-provider/providers"
)

// The docker credential helpers of the tests are this test binary, installed under
// their names: TestMain sees which one it is and plays it (helpers). On Windows each is
// a copy named docker-credential-NAME.exe, found through PATHEXT as docker finds one
// there; elsewhere a two-line shell script that runs the test binary (through
// ICP_TEST_EXEC, the emulator of the platform under test, when set).
const (
	helperEnv = "DOCKERCFG_TEST_HELPER" // which helper the test binary plays
	sleepMode = "sleep"                 // the child the slow helper leaves behind
)

// helpers are the helpers' behaviours: stdin holds the server URL, args the helper's
// arguments; each returns the exit code.
var helpers = map[string]func(serverURL string, args []string) int{
	// ok answers for any server and records what it was asked.
	"ok": func(url string, args []string) int {
		if len(args) != 1 || args[0] != "get" {
			return 9
		}
		f, err := os.OpenFile(filepath.Join(os.Getenv("HELPER_LOG"), "ok.stdin"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return 8
		}
		f.WriteString(url)
		f.Close()
		fmt.Printf(`{"ServerURL":%q,"Username":"helper-user","Secret":"helper-secret"}`+"\n", url)
		return 0
	},
	// other is a second helper with other credentials.
	"other": func(url string, _ []string) int {
		fmt.Printf(`{"ServerURL":%q,"Username":"other-user","Secret":"other-secret"}`, url)
		return 0
	},
	"notfound": func(string, []string) int { fmt.Println("credentials not found in native keychain"); return 1 },
	"fail": func(string, []string) int {
		fmt.Fprintln(os.Stderr, "token s3cr3t-Value leaked in a message")
		fmt.Println("s3cr3t-Value")
		return 3
	},
	"garbage": func(string, []string) int { fmt.Println("s3cr3t-Value is not JSON"); return 0 },
	"token": func(string, []string) int {
		fmt.Print(`{"ServerURL":"x","Username":"<token>","Secret":"s3cr3t-Value"}`)
		return 0
	},
	// slow keeps its stdout open through a child for longer than any timeout.
	"slow": func(string, []string) int {
		cmd := selfCommand(sleepMode)
		cmd.Stdout = os.Stdout
		if err := cmd.Start(); err != nil {
			return 7
		}
		time.Sleep(5 * time.Second)
		fmt.Println("{}")
		return 0
	},
	sleepMode: func(string, []string) int { time.Sleep(5 * time.Second); return 0 },
}

func TestMain(m *testing.M) {
	name := os.Getenv(helperEnv)
	if exe, err := os.Executable(); err == nil && name == "" {
		name, _ = strings.CutPrefix(strings.TrimSuffix(strings.ToLower(filepath.Base(exe)), ".exe"), helperPrefix)
	}
	if h, ok := helpers[name]; ok {
		data, _ := io.ReadAll(os.Stdin)
		url, _, _ := strings.Cut(string(data), "\n")
		os.Exit(h(url, os.Args[1:]))
	}
	dir, err := installHelpers()
	if err != nil {
		fmt.Fprintln(os.Stderr, "installing the test credential helpers:", err)
		os.Exit(2)
	}
	helperDir = dir
	code := m.Run()
	os.RemoveAll(dir) // best effort: on Windows the slow helper's child may still run
	os.Exit(code)
}

// helperDir holds the helpers, installed once for every test.
var helperDir string

// selfCommand runs this test binary as the helper called name.
func selfCommand(name string) *exec.Cmd {
	exe, _ := os.Executable()
	argv := append(strings.Fields(os.Getenv("ICP_TEST_EXEC")), exe)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	return cmd
}

// installHelpers installs every helper in a new temporary directory. Windows copies
// are made once: a program's file cannot be deleted while it runs, so they cannot be
// links to the running test binary.
func installHelpers() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "docker-credential-helpers-")
	if err != nil {
		return "", err
	}
	var data []byte
	for name := range helpers {
		if name == sleepMode {
			continue
		}
		path := filepath.Join(dir, helperPrefix+name)
		if runtime.GOOS == "windows" {
			if data == nil {
				if data, err = os.ReadFile(exe); err != nil {
					return "", err
				}
			}
			if err := os.WriteFile(path+".exe", data, 0o755); err != nil {
				return "", err
			}
			continue
		}
		var script strings.Builder
		fmt.Fprintf(&script, "#!/bin/sh\n%s=%s exec", helperEnv, name)
		for _, w := range append(strings.Fields(os.Getenv("ICP_TEST_EXEC")), exe) {
			script.WriteString(" '" + strings.ReplaceAll(w, "'", `'\''`) + "'")
		}
		script.WriteString(` "$@"` + "\n")
		if err := os.WriteFile(path, []byte(script.String()), 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// setupHelpers makes the helpers' directory the whole PATH and returns a new log dir.
func setupHelpers(t *testing.T) string {
	t.Helper()
	logs := t.TempDir()
	t.Setenv("PATH", helperDir)
	t.Setenv("HELPER_LOG", logs)
	return logs
}

func TestCredentialHelpers(t *testing.T) {
	logs := setupHelpers(t)
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "config.json"), `{
  "auths": {
    "helped.example": {},
    "https://index.docker.io/v1/": {},
    "static.example": {"username": "file-user", "password": "file-pass"},
    "both.example": {"username": "file-user", "password": "file-pass"}
  },
  "credHelpers": {
    "helped.example": "ok",
    "https://index.docker.io/v1/": "ok",
    "both.example": "other",
    "*.wild.example": "other",
    "nothing.example": "notfound"
  }
}`)
	p := newProvider(t, Config{Files: []string{cfg}})
	tests := []struct {
		image  string
		serves bool
		want   map[string]string // answer key → username
		stdin  string            // what the "ok" helper was asked, if it ran
	}{
		{image: "helped.example/app", serves: true, want: map[string]string{"helped.example": "helper-user"}, stdin: "helped.example"},
		{image: "docker.io/library/nginx", serves: true, want: map[string]string{"docker.io": "helper-user"}, stdin: "https://index.docker.io/v1/"},
		{image: "static.example/app", serves: true, want: map[string]string{"static.example": "file-user"}},
		{image: "both.example/app", serves: true, want: map[string]string{"both.example": "file-user", "both.example/": "other-user"}}, // both reach the kubelet
		{image: "a.wild.example/app", serves: true, want: map[string]string{"a.wild.example": "other-user"}},
		{image: "nothing.example/app", serves: true, want: map[string]string{}},
		{image: "unknown.example/app", serves: false, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			os.Remove(filepath.Join(logs, "ok.stdin"))
			img := image(tt.image)
			if got := p.Serves(img); got != tt.serves {
				t.Errorf("Serves = %v, want %v", got, tt.serves)
			}
			res, err := p.Credentials(context.Background(), providers.Request{Image: img})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k, a := range res.Auth {
				got[k] = a.Username
			}
			if len(got) != len(tt.want) {
				t.Errorf("answer %v, want %v", got, tt.want)
			}
			for k, u := range tt.want {
				if got[k] != u {
					t.Errorf("answer %v, want %v", got, tt.want)
				}
			}
			asked, _ := os.ReadFile(filepath.Join(logs, "ok.stdin"))
			if string(asked) != tt.stdin {
				t.Errorf("helper asked %q, want %q", asked, tt.stdin)
			}
		})
	}
	found, err := p.Lookup(context.Background(), image("helped.example/app"))
	if err != nil {
		t.Fatal(err)
	}
	if creds := found.Credentials; len(creds) != 1 || creds[0].Helper != "docker-credential-ok" || creds[0].File != cfg || creds[0].Auth.Password != "helper-secret" {
		t.Errorf("Lookup = %+v", found)
	}
}

func TestCredsStore(t *testing.T) {
	logs := setupHelpers(t)
	cfg := writeFile(t, filepath.Join(t.TempDir(), "config.json"), `{"auths":{"reg.example":{}},"credsStore":"ok","credHelpers":{"special.example":"other"}}`)
	p := newProvider(t, Config{Files: []string{cfg}})
	for _, tc := range []struct{ image, user, asked string }{
		{"any.example:5000/app", "helper-user", "any.example:5000"},
		{"reg.example/app", "helper-user", "reg.example"},
		{"special.example/app", "other-user", ""},
	} {
		os.Remove(filepath.Join(logs, "ok.stdin"))
		img := image(tc.image)
		if !p.Serves(img) {
			t.Errorf("%s: credsStore should serve every host", tc.image)
		}
		res, err := p.Credentials(context.Background(), providers.Request{Image: img})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Auth) != 1 || res.Auth[img.Host].Username != tc.user {
			t.Errorf("%s: answer %v, want %s for %s", tc.image, res.Auth, tc.user, img.Host)
		}
		if asked, _ := os.ReadFile(filepath.Join(logs, "ok.stdin")); string(asked) != tc.asked {
			t.Errorf("%s: credsStore asked %q, want %q", tc.image, asked, tc.asked)
		}
	}
}

func TestCredentialHelperErrors(t *testing.T) {
	setupHelpers(t)
	tests := []struct {
		helper string
		wantIn []string
	}{
		{"missing", []string{"docker-credential-missing", "not found in PATH"}},
		{"fail", []string{"docker-credential-fail", "exit status 3", "stderr", "not shown"}},
		{"garbage", []string{"docker-credential-garbage", "not the helper protocol's JSON"}},
		{"token", []string{"docker-credential-token", "identity token"}},
		{"slow", []string{"docker-credential-slow", "no answer within"}},
	}
	for _, tt := range tests {
		t.Run(tt.helper, func(t *testing.T) {
			cfg := writeFile(t, filepath.Join(t.TempDir(), "config.json"), `{"credHelpers":{"reg.example":"`+tt.helper+`"}}`)
			// Only the slow helper meets the bound: the others may take their time to
			// start (a test binary under an emulator takes a few hundred ms).
			timeout := DefaultHelperTimeout
			if tt.helper == "slow" {
				timeout = 300 * time.Millisecond
			}
			p := newProvider(t, Config{Files: []string{cfg}, HelperTimeout: duration.Of(timeout)})
			start := time.Now()
			_, err := p.Credentials(context.Background(), providers.Request{Image: image("reg.example/app")})
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("took %s: a stuck helper must not hang the plugin", elapsed)
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range append(tt.wantIn, "static", "reg.example", quote.String(cfg)) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "s3cr3t") {
				t.Errorf("error %q leaks helper output", msg)
			}
		})
	}
}

// TestHelperContextDeadline: the caller's deadline bounds the helper too. A credsStore
// that does not answer is a problem, not an error.
func TestHelperContextDeadline(t *testing.T) {
	setupHelpers(t)
	cfg := writeFile(t, filepath.Join(t.TempDir(), "config.json"), `{"credsStore":"slow"}`)
	p := newProvider(t, Config{Files: []string{cfg}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := p.Credentials(ctx, providers.Request{Image: image("reg.example/app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "no answer within") || len(res.Auth) != 0 {
		t.Fatalf("answer %+v, want no credentials and the timeout as a problem", res)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("took %s", elapsed)
	}
}
