package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/test/harness/internal/kubelet"
	"github.com/imagecred/image-credential-provider/test/harness/internal/pull"
	"github.com/imagecred/image-credential-provider/test/harness/internal/scenario"
	"github.com/imagecred/image-credential-provider/test/harness/internal/shim"
)

func TestReportsShowOutcomesWithoutSecrets(t *testing.T) {
	const secret = "the-registry-password"
	lk := &kubelet.Lookup{
		Image: "reg.example/app:v1", RepoToPull: "reg.example/app",
		Credentials: []kubelet.Credential{{Username: "alice", Password: secret, PasswordMasked: "<21 chars, sha256:0123abcd>", From: []string{"p[reg.example]"}}},
		Providers: []kubelet.ProviderActivity{{Name: "p", Matched: true, ExecCount: 1, Execs: []shim.Exec{{
			Provider: "p", Request: shim.Request{APIVersion: "credentialprovider.kubelet.k8s.io/v1", Image: "reg.example/app"},
			Response: &shim.Response{CacheKeyType: "Registry", Auth: map[string]shim.Auth{"reg.example": {Username: "alice", Password: "<21 chars, sha256:0123abcd>"}}},
		}}}},
	}
	r := &Report{Pulls: []Pull{
		{Index: 1, Lookup: lk, Result: pull.Result{OK: true, Used: 0, Bytes: 1234, Manifest: &pull.Blob{Digest: "sha256:abcdef0123456789abcdef"}}, Execs: 1, Passed: true,
			Checks: []scenario.Check{{Name: "ok", OK: true}}},
		{Index: 2, Lookup: lk, Result: pull.Result{OK: false, Used: -1, Error: "401"}, Execs: 0, Cache: true, Passed: false,
			Checks: []scenario.Check{{Name: "ok", OK: false, Detail: "pull ok=false, want true"}}},
	}}
	r.Finish()
	if s := r.Summary; s.Pulls != 2 || s.PullsOK != 1 || s.Execs != 1 || s.CacheHits != 1 || s.Bytes != 1234 || s.ChecksFailed != 1 || s.Passed {
		t.Errorf("summary %+v", s)
	}
	var table, js bytes.Buffer
	r.WriteTable(&table)
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "json": js.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s report contains the password", name)
		}
	}
	for _, want := range []string{"[0] alice / <21 chars, sha256:0123abcd> from p[reg.example]", "hit", "FAILED CHECK FAILED", "pull 2 ok: pull ok=false", "Registry", "reg.example=alice"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}
