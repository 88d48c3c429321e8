package kubelet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/test/harness/internal/fixedplugin"
	"github.com/imagecred/image-credential-provider/test/harness/internal/shim"
)

// The test binary doubles as the exec shim and as the plugin, so the session runs the
// kubelet code against real executables without building anything.
const pluginModeEnv = "HARNESS_TEST_FIXED_PLUGIN"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == shim.Subcommand {
		os.Exit(shim.Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	if os.Getenv(pluginModeEnv) == "1" {
		os.Exit(fixedplugin.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const config = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
- name: plain
  apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
  matchImages: ["*.plain.example"]
  defaultCacheDuration: 5m
  args: ["-cache-key-type", "Registry", "-cache-duration", "1m", "-auth", "*.plain.example=plain-user:plain-password"]
  env: [{name: %[1]s, value: "1"}]
- name: sa
  apiVersion: credentialprovider.kubelet.k8s.io/v1
  matchImages: ["sa.example"]
  defaultCacheDuration: 5m
  args: ["-cache-key-type", "Image", "-auth", "sa.example=sa-user:sa-password"]
  env: [{name: %[1]s, value: "1"}]
  tokenAttributes:
    serviceAccountTokenAudience: harness.test
    cacheType: Token
    requireServiceAccount: true
    requiredServiceAccountAnnotationKeys: [example.com/role]
    optionalServiceAccountAnnotationKeys: [example.com/region]
`

// TestSessionDrivesTheKubeletCode runs one kubelet session (there can be only one per
// process) through a sequence of lookups whose outcomes the kubelet code decides.
func TestSessionDrivesTheKubeletCode(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plain", "sa"} {
		if err := os.Symlink(self, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(config, pluginModeEnv)), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Start(Options{
		ConfigPath: cfg, BinDir: bin, WorkDir: filepath.Join(dir, "work"), Self: self,
		ServiceAccounts: []ServiceAccount{
			{Namespace: "ns", Name: "reader", Annotations: map[string]string{"example.com/role": "reader", "example.com/region": "eu", "other/x": "y"}},
			{Namespace: "ns", Name: "bare"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Options{}); err == nil {
		t.Fatal("a second session in one process was accepted")
	}
	if got := len(s.Providers()); got != 2 {
		t.Fatalf("%d providers read from the config, want 2", got)
	}

	plainPod := Pod{Namespace: "ns", Name: "p", UID: "uid-p"}
	saPod := Pod{Namespace: "ns", Name: "q", UID: "uid-q", ServiceAccount: "reader"}
	barePod := Pod{Namespace: "ns", Name: "r", UID: "uid-r", ServiceAccount: "bare"}
	steps := []struct {
		name       string
		image      string
		pod        Pod
		provider   string // the provider whose activity is checked
		execs      int
		cacheHit   bool
		skipped    bool
		creds      []string // usernames in order
		repo       string
		tokenReqs  int
		apiVersion string
	}{
		{"first pull runs the plugin", "a.plain.example/app:v1", plainPod, "plain", 1, false, false, []string{"plain-user"}, "a.plain.example/app", 0, "credentialprovider.kubelet.k8s.io/v1beta1"},
		{"same image: kubelet cache", "a.plain.example/app:v2", plainPod, "plain", 0, true, false, []string{"plain-user"}, "a.plain.example/app", 0, ""},
		{"Registry answer serves other repositories", "a.plain.example/other", plainPod, "plain", 0, true, false, []string{"plain-user"}, "a.plain.example/other", 0, ""},
		{"another registry runs the plugin", "b.plain.example/app", plainPod, "plain", 1, false, false, []string{"plain-user"}, "b.plain.example/app", 0, ""},
		{"no match: no plugin, no credentials", "other.example/app", plainPod, "plain", 0, false, false, nil, "other.example/app", 0, ""},
		{"SA mode sends a token", "sa.example/app", saPod, "sa", 1, false, false, []string{"sa-user"}, "sa.example/app", 1, "credentialprovider.kubelet.k8s.io/v1"},
		{"cacheType Token: a new token misses the cache", "sa.example/app", saPod, "sa", 1, false, false, []string{"sa-user"}, "sa.example/app", 1, ""},
		{"missing required annotation: not called", "sa.example/app", barePod, "sa", 0, false, true, nil, "sa.example/app", 0, ""},
		{"no service account: not called", "sa.example/app", plainPod, "sa", 0, false, true, nil, "sa.example/app", 0, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			lk, err := s.Lookup(st.image, st.pod, nil)
			if err != nil {
				t.Fatal(err)
			}
			if lk.RepoToPull != st.repo {
				t.Errorf("repoToPull %q, want %q", lk.RepoToPull, st.repo)
			}
			var act *ProviderActivity
			for i := range lk.Providers {
				if lk.Providers[i].Name == st.provider {
					act = &lk.Providers[i]
				}
			}
			if act == nil {
				t.Fatalf("no activity for provider %s", st.provider)
			}
			if len(act.Execs) != st.execs || act.ExecCount != st.execs {
				t.Errorf("execs: shim %d, klog %d, want %d", len(act.Execs), act.ExecCount, st.execs)
			}
			if act.CacheHit != st.cacheHit || (act.Skipped != "") != st.skipped {
				t.Errorf("cacheHit=%v skipped=%q, want %v %v", act.CacheHit, act.Skipped, st.cacheHit, st.skipped)
			}
			var users []string
			for _, c := range lk.Credentials {
				users = append(users, c.Username)
				if strings.Contains(c.PasswordMasked, "password") {
					t.Errorf("masked password %q reveals the password", c.PasswordMasked)
				}
			}
			if strings.Join(users, ",") != strings.Join(st.creds, ",") {
				t.Errorf("credentials %v, want %v", users, st.creds)
			}
			if len(lk.TokenRequests) != st.tokenReqs {
				t.Errorf("%d TokenRequests, want %d", len(lk.TokenRequests), st.tokenReqs)
			}
			if st.apiVersion != "" && len(act.Execs) > 0 && act.Execs[0].Request.APIVersion != st.apiVersion {
				t.Errorf("request apiVersion %q, want %q", act.Execs[0].Request.APIVersion, st.apiVersion)
			}
			if st.provider == "sa" && st.execs > 0 {
				r := act.Execs[0].Request
				if r.Token == "" || len(r.Annotations) != 2 || r.Annotations["example.com/role"] != "reader" {
					t.Errorf("SA request: token %q annotations %v, want a token and role+region only", r.Token, r.Annotations)
				}
				tr := lk.TokenRequests[0]
				if strings.Join(tr.Audiences, ",") != "harness.test" || tr.BoundPod != "Pod ns/q" {
					t.Errorf("TokenRequest %+v", tr)
				}
				if c := lk.Credentials[0]; c.Source != "serviceaccount ns/reader" {
					t.Errorf("credential source %q", c.Source)
				}
			}
		})
	}
}
