package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/testbin"
	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

// Under a single-cloud plugin's name the front end replays what the companion recorded,
// as it does under its own: after one answer, the same request (or another repository
// of the registry, for a Registry answer) is answered with every companion removed and
// no call to the cloud. Other arguments or another environment are another
// configuration: nothing recorded for it is replayed, and with no companion left the
// front end says it cannot answer.
func TestDropInReplaysRecordedAnswers(t *testing.T) {
	tests := []struct {
		name       string
		start      func(t *testing.T) (env []string, calls func() int)
		apiVersion string
		args       []string
		otherArgs  []string
		// otherEnv is one more variable: any variable makes another configuration.
		otherEnv string
		image    string
		host     string
	}{
		{
			name: "ecr-credential-provider",
			start: func(t *testing.T) ([]string, func() int) {
				f, env := startAWS(t)
				return env, func() int { return f.Calls(awsfake.ECRGetAuthorizationToken) }
			},
			apiVersion: ecrV1,
			args:       nil,
			otherArgs:  []string{"ignored"},
			otherEnv:   "AWS_PROFILE=other",
			image:      "123456789012.dkr.ecr.ca-central-1.amazonaws.com/app",
			host:       "123456789012.dkr.ecr.ca-central-1.amazonaws.com",
		},
		{
			name: "auth-provider-gcp",
			start: func(t *testing.T) ([]string, func() int) {
				f, env := startGoogleFake(t)
				return env, func() int { return f.Calls(gcpfake.MetadataToken) }
			},
			apiVersion: gcrV1,
			args:       []string{"get-credentials", "--v=3"},
			otherArgs:  []string{"get-credentials", "--v=2"},
			otherEnv:   "GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/key.json",
			image:      "gcr.io/fake-project/app",
			host:       "gcr.io",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, calls := tt.start(t)
			dir, err := testbin.CopyTo(binDir, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, testbin.Exe(tt.name))
			data, err := os.ReadFile(filepath.Join(dir, testbin.Exe(binaries.FrontEnd)))
			if err == nil {
				err = os.WriteFile(bin, data, 0o755)
			}
			if err != nil {
				t.Fatal(err)
			}
			home := t.TempDir()
			run := func(image string, env []string, args []string) testbin.Result {
				t.Helper()
				r, err := testbin.Run{Bin: bin, Args: args, Home: home, Env: env, Stdin: request(tt.apiVersion, image)}.Do()
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			password := func(r testbin.Result) string {
				t.Helper()
				resp := decodeResponse(t, result{stdout: r.Stdout, stderr: r.Stderr, code: r.Code})
				if len(resp.Auth) != 1 || resp.Auth[tt.host].Password == "" {
					t.Fatalf("answer %+v, want one credential for %s (stderr %q)", resp.Auth, tt.host, r.Stderr)
				}
				return resp.Auth[tt.host].Password
			}

			first := password(run(tt.image, env, tt.args))
			if calls() != 1 {
				t.Fatalf("%d token calls for the first answer, want 1", calls())
			}
			for _, b := range binaries.Installed()[1:] {
				if err := os.Remove(filepath.Join(dir, testbin.Exe(b))); err != nil {
					t.Fatal(err)
				}
			}
			for _, image := range []string{tt.image, tt.host + "/fake-project/other"} {
				if got := password(run(image, env, tt.args)); got != first {
					t.Errorf("%s: replayed another credential", image)
				}
			}
			if calls() != 1 {
				t.Errorf("%d token calls after the replays, want still 1", calls())
			}
			for what, r := range map[string]testbin.Result{
				"other arguments":   run(tt.image, env, tt.otherArgs),
				"other environment": run(tt.image, append(env, tt.otherEnv), tt.args),
			} {
				if r.Code == 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "cannot answer") {
					t.Errorf("%s: exit %d stdout %q stderr %q: want no replay, and no companion to hand over to", what, r.Code, r.Stdout, r.Stderr)
				}
			}
		})
	}
}
