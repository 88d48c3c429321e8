package shim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plugin writes an executable shell script standing in for a real plugin.
func plugin(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

const request = `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"reg.example/app","serviceAccountToken":"sa-token-secret-value","serviceAccountAnnotations":{"example.com/role":"reader"}}` + "\n"

const response = `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"1m","auth":{"reg.example":{"username":"u","password":"registry-password-value"}}}`

func TestMainIsTransparentAndRecordsWithoutSecrets(t *testing.T) {
	cases := []struct {
		name         string
		body         string
		wantExit     int
		wantStdout   string
		wantRespErr  string
		wantLeak     bool
		wantCacheKey string
	}{
		{name: "answer", body: "cat >/dev/null; printf '%s' '" + response + "'", wantStdout: response, wantCacheKey: "Registry"},
		{name: "failure passes the exit code", body: "cat >/dev/null; echo 'backend down' >&2; exit 3", wantExit: 3, wantRespErr: "empty stdout"},
		{name: "garbage stdout is passed through", body: "cat >/dev/null; echo 'log line'; printf '%s' '" + response + "'", wantStdout: "log line\n" + response, wantRespErr: "not one JSON"},
		{name: "password leaked to stderr", body: "cat >/dev/null; echo 'using registry-password-value' >&2; printf '%s' '" + response + "'", wantStdout: response, wantLeak: true, wantCacheKey: "Registry"},
		{name: "token leaked to stderr", body: "cat >/dev/null; echo 'token sa-token-secret-value' >&2; printf '%s' '" + response + "'", wantStdout: response, wantLeak: true, wantCacheKey: "Registry"},
		{name: "stdin reaches the plugin", body: `grep -q '"image":"reg.example/app"' || exit 9; printf '%s' '` + response + `'`, wantStdout: response, wantCacheKey: "Registry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			real := plugin(t, dir, "prov", tc.body)
			logPath := filepath.Join(dir, "execs.jsonl")
			var stdout, stderr bytes.Buffer
			code := Main([]string{logPath, real, "--flag", "x"}, strings.NewReader(request), &stdout, &stderr)
			if code != tc.wantExit {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.wantExit, stderr.String())
			}
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.wantStdout)
			}
			recs, err := ReadLog(logPath)
			if err != nil || len(recs) != 1 {
				t.Fatalf("log: %v, %d records", err, len(recs))
			}
			raw, _ := os.ReadFile(logPath)
			for _, secret := range []string{"sa-token-secret-value", "registry-password-value"} {
				if strings.Contains(string(raw), secret) {
					t.Errorf("the exec log contains %q", secret)
				}
			}
			r := recs[0]
			if r.Provider != "prov" || strings.Join(r.Args, " ") != "--flag x" || r.ExitCode != tc.wantExit {
				t.Errorf("record provider/args/exit = %q %q %d", r.Provider, r.Args, r.ExitCode)
			}
			if r.Request.Image != "reg.example/app" || r.Request.APIVersion != "credentialprovider.kubelet.k8s.io/v1" ||
				!strings.HasPrefix(r.Request.Token, "<21 chars, sha256:") || r.Request.Annotations["example.com/role"] != "reader" {
				t.Errorf("request record %+v", r.Request)
			}
			if r.StderrLeaksSecret != tc.wantLeak {
				t.Errorf("StderrLeaksSecret = %v, want %v (stderr %q)", r.StderrLeaksSecret, tc.wantLeak, r.Stderr)
			}
			if tc.wantRespErr != "" {
				if !strings.Contains(r.ResponseError, tc.wantRespErr) {
					t.Errorf("ResponseError %q, want %q", r.ResponseError, tc.wantRespErr)
				}
				return
			}
			if r.Response == nil || r.Response.CacheKeyType != tc.wantCacheKey || r.Response.Auth["reg.example"].Username != "u" ||
				!strings.HasPrefix(r.Response.Auth["reg.example"].Password, "<23 chars, sha256:") {
				t.Errorf("response record %+v", r.Response)
			}
		})
	}
}

func TestInstallShimsOnlyExistingExecutables(t *testing.T) {
	real, shims := t.TempDir(), filepath.Join(t.TempDir(), "shim-bin")
	plugin(t, real, "present", "exit 0")
	if err := os.WriteFile(filepath.Join(real, "not-executable"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Install(shims, real, "/path/to/harness", "/tmp/log it's.jsonl", []string{"present", "missing", "not-executable"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(shims, "present"))
	if err != nil {
		t.Fatal(err)
	}
	want := "#!/bin/sh\nexec '/path/to/harness' " + Subcommand + ` '/tmp/log it'\''s.jsonl' '` + filepath.Join(real, "present") + "' \"$@\"\n"
	if string(got) != want {
		t.Errorf("shim script:\n%s\nwant:\n%s", got, want)
	}
	for _, n := range []string{"missing", "not-executable"} {
		if _, err := os.Stat(filepath.Join(shims, n)); err == nil {
			t.Errorf("a shim was installed for %s, so the kubelet would not fail registration as it does on the real bin dir", n)
		}
	}
}

func TestReadLogOfNothing(t *testing.T) {
	recs, err := ReadLog(filepath.Join(t.TempDir(), "absent"))
	if err != nil || recs != nil {
		t.Fatalf("ReadLog(absent) = %v, %v", recs, err)
	}
}

func FuzzSummarizeResponse(f *testing.F) {
	f.Add([]byte(response))
	f.Add([]byte(`{"auth":{"k":{"password":"p"}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, out []byte) {
		r, secrets, err := summarizeResponse(out, nil)
		if err != nil {
			return
		}
		for _, a := range r.Auth {
			for _, s := range secrets {
				if len(s) >= 12 && strings.Contains(a.Password, s) { // short strings may occur in the label
					t.Fatalf("masked password %q contains the secret %q", a.Password, s)
				}
			}
		}
	})
}

func FuzzSummarizeRequest(f *testing.F) {
	f.Add([]byte(request))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, tok := summarizeRequest(in)
		if len(tok) >= 12 && strings.Contains(r.Token, tok) {
			t.Fatalf("masked token %q contains the token", r.Token)
		}
	})
}
