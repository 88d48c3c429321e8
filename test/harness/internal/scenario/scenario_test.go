package scenario

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/imagecred/image-credential-provider/test/harness/internal/kubelet"
	"github.com/imagecred/image-credential-provider/test/harness/internal/pull"
	"github.com/imagecred/image-credential-provider/test/harness/internal/shim"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"ADDR": "127.0.0.1:5000", "USER": "alice"}
	cases := []struct {
		in, want, err string
	}{
		{"image: ${ADDR}/app", "image: 127.0.0.1:5000/app", ""},
		{"${USER}${USER}", "alicealice", ""},
		{"no vars $ { }", "no vars $ { }", ""},
		{"${NOPE}", "", "unknown variable ${NOPE} (known: ADDR, USER)"},
		{"x ${ADDR", "", "unterminated"},
	}
	for _, tc := range cases {
		got, err := Expand(tc.in, vars)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzExpand(f *testing.F) {
	f.Add("a ${X} b")
	f.Add("${")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Expand(in, map[string]string{"X": "value"})
		if err == nil && strings.Contains(out, "${") {
			t.Fatalf("Expand(%q) = %q left a reference unexpanded", in, out)
		}
	})
}

func TestLoadIsStrictAndBuildsSecrets(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(`
pullSecrets:
  regcred: {auths: {"reg.example": {auth: "${AUTH}"}}}
pulls:
- image: reg.example/app
  pullSecrets: [regcred]
  pod: {namespace: team, name: p}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(good, map[string]string{"AUTH": BasicAuth("u", "p")})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := s.Secrets(s.Pulls[0].PullSecrets, "team")
	if err != nil || len(secrets) != 1 {
		t.Fatalf("Secrets: %v %v", secrets, err)
	}
	sec := secrets[0]
	var doc struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &doc); err != nil || doc.Auths["reg.example"]["auth"] != "dTpw" {
		t.Fatalf("secret data %s: %v", sec.Data[corev1.DockerConfigJsonKey], err)
	}
	if sec.Type != corev1.SecretTypeDockerConfigJson || sec.Namespace != "team" || sec.Name != "regcred" {
		t.Errorf("secret %s/%s type %s", sec.Namespace, sec.Name, sec.Type)
	}
	if _, err := s.Secrets([]string{"absent"}, "team"); err == nil {
		t.Error("an undefined pull secret was accepted")
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("pulls:\n- image: x\n  expct: {ok: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, nil); err == nil {
		t.Error("a misspelled field was accepted (expectations would silently not be checked)")
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(empty, nil); err == nil {
		t.Error("a scenario without pulls was accepted")
	}
}

func ptr[T any](v T) *T { return &v }

func TestEvaluate(t *testing.T) {
	exec := shim.Exec{
		Provider: "p",
		Request:  shim.Request{APIVersion: "credentialprovider.kubelet.k8s.io/v1", Image: "reg.example/app", Token: "<9 chars>", Annotations: map[string]string{"a": "b"}},
		Response: &shim.Response{APIVersion: "credentialprovider.kubelet.k8s.io/v1", CacheKeyType: "Registry", Auth: map[string]shim.Auth{"reg.example": {Username: "u"}}},
	}
	ok := Outcome{
		Lookup: &kubelet.Lookup{
			Credentials: []kubelet.Credential{{Username: "wrong"}, {Username: "u"}},
			Providers:   []kubelet.ProviderActivity{{Name: "p", Matched: true, Execs: []shim.Exec{exec}, ExecCount: 1}},
		},
		Pull: pull.Result{OK: true, Used: 1, Attempts: []pull.Attempt{{}, {OK: true}}},
	}
	cached := Outcome{
		Lookup: &kubelet.Lookup{Providers: []kubelet.ProviderActivity{{Name: "p", Matched: true, CacheHit: true}}},
		Pull:   pull.Result{OK: false, Used: -1, Error: "401 UNAUTHORIZED"},
	}
	leaky := ok
	leakExec := exec
	leakExec.StderrLeaksSecret = true
	leaky.Lookup = &kubelet.Lookup{Credentials: ok.Lookup.Credentials,
		Providers: []kubelet.ProviderActivity{{Name: "p", Matched: true, Execs: []shim.Exec{leakExec}}}}
	cases := []struct {
		name   string
		e      *Expect
		o      Outcome
		failed []string
	}{
		{"nil expect means ok", nil, ok, nil},
		{"nil expect on a failed pull", nil, cached, []string{"ok"}},
		{"all fields hold", &Expect{OK: ptr(true), Execs: ptr(1), CacheHit: ptr(false), Credentials: ptr(2), Attempts: ptr(2), User: ptr("u"), UsedIndex: ptr(1),
			Anonymous: ptr(false), TokenRequests: ptr(0), Skipped: ptr(false),
			Request:  &ExpectRequest{APIVersion: "credentialprovider.kubelet.k8s.io/v1", Image: "reg.example/app", HasToken: ptr(true), Annotations: map[string]string{"a": "b"}},
			Response: &ExpectResponse{APIVersion: "credentialprovider.kubelet.k8s.io/v1", CacheKeyType: "Registry", AuthKeys: []string{"reg.example"}}}, ok, nil},
		{"each field can fail", &Expect{OK: ptr(false), Execs: ptr(0), CacheHit: ptr(true), Credentials: ptr(1), Attempts: ptr(1), User: ptr("x"), UsedIndex: ptr(0),
			Request:  &ExpectRequest{APIVersion: "v9", HasToken: ptr(false), Annotations: map[string]string{}},
			Response: &ExpectResponse{CacheKeyType: "Global", AuthKeys: []string{"other"}}}, ok,
			[]string{"ok", "execs", "cacheHit", "credentials", "attempts", "user", "usedIndex", "request.apiVersion", "request.hasToken", "request.annotations", "response.cacheKeyType", "response.authKeys"}},
		{"cache hit and error text", &Expect{OK: ptr(false), Execs: ptr(0), CacheHit: ptr(true), ErrorContains: "UNAUTHORIZED"}, cached, nil},
		{"no execution to check the request of", &Expect{Request: &ExpectRequest{HasToken: ptr(true)}, Response: &ExpectResponse{CacheKeyType: "Image"}}, cached, []string{"request", "response"}},
		{"a leaked secret always fails", nil, leaky, []string{"noSecretInStderr"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var failed []string
			for _, c := range Evaluate(tc.e, tc.o) {
				if !c.OK {
					failed = append(failed, c.Name)
				}
			}
			if strings.Join(failed, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("failed checks %v, want %v", failed, tc.failed)
			}
		})
	}
}
