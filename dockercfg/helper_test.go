package dockercfg

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/providers"
)

// helperScripts are docker credential helpers, as shell scripts, for the tests.
var helperScripts = map[string]string{
	// ok answers for any server and records what it was asked.
	"ok": `read -r url
[ "$1" = get ] || exit 9
printf '%s' "$url" >> "$HELPER_LOG/ok.stdin"
printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}\n' "$url"`,
	// other is a second helper with other credentials.
	"other": `read -r url
printf '{"ServerURL":"%s","Username":"other-user","Secret":"other-secret"}' "$url"`,
	"notfound": `echo "credentials not found in native keychain"; exit 1`,
	"fail":     `echo "token s3cr3t-Value leaked in a message" >&2; echo "s3cr3t-Value"; exit 3`,
	"garbage":  `echo "s3cr3t-Value is not JSON"`,
	"token":    `printf '{"ServerURL":"x","Username":"<token>","Secret":"s3cr3t-Value"}'`,
	// slow keeps its stdout open through a child for longer than any timeout.
	"slow": `sleep 5; echo '{}'`,
}

// setupHelpers writes the helper scripts to a temp dir, makes it the whole PATH (plus
// the directories holding sh and sleep) and returns the log dir.
func setupHelpers(t *testing.T) string {
	t.Helper()
	bin, logs := t.TempDir(), t.TempDir()
	for name, body := range helperScripts {
		writeFile(t, filepath.Join(bin, helperPrefix+name), "#!/bin/sh\n"+body+"\n")
		if err := os.Chmod(filepath.Join(bin, helperPrefix+name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":/usr/bin:/bin")
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
			p := newProvider(t, Config{Files: []string{cfg}, HelperTimeout: duration.Of(300 * time.Millisecond)})
			start := time.Now()
			_, err := p.Credentials(context.Background(), providers.Request{Image: image("reg.example/app")})
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("took %s: a stuck helper must not hang the plugin", elapsed)
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range append(tt.wantIn, "static", "reg.example", cfg) {
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
