package bounds

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/godeps"
	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

const module = "github.com/imagecred/image-credential-provider/test/bench/bounds/"

// build compiles the three programs, static as bounds.sh builds them.
func build(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "./front", "./gcp", "./ecr")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// run runs one program with a request on stdin and only env (and PATH) in its
// environment; it fails t unless the program exits 0.
func run(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Stdin = strings.NewReader(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x"}`)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	return stdout.String()
}

// Each program, alone and behind front, fetches one real token on a miss and serves the
// stored answer on a hit without calling upstream; front never links more than the
// plugin's own front end may, and each token program links one cloud's SDK only.
func TestBoundsDoTheWork(t *testing.T) {
	bin := build(t)
	gfake := gcpfake.New()
	defer gfake.Close()
	afake := awsfake.New()
	defer afake.Close()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	awsEnv := append(afake.Env(), "AWS_CONFIG_FILE="+empty, "AWS_SHARED_CREDENTIALS_FILE="+empty, "AWS_EC2_METADATA_DISABLED=true")

	gcpToken := func(t *testing.T, out string) {
		t.Helper()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(out), &tok); err != nil || !gfake.Valid(tok.AccessToken) {
			t.Fatalf("not a token the fake issued: %q (%v)", out, err)
		}
	}
	ecrToken := func(t *testing.T, out string) {
		t.Helper()
		b, err := base64.StdEncoding.DecodeString(out)
		user, pass, ok := strings.Cut(string(b), ":")
		if err != nil || !ok || user != "AWS" {
			t.Fatalf("not an ECR token: %q (%v)", out, err)
		}
		for _, tok := range afake.Issued() {
			if tok.Password == pass {
				return
			}
		}
		t.Fatalf("a password the fake did not issue")
	}
	tests := []struct {
		name  string
		argv  []string // the cache dir is appended (front passes it on to the program)
		env   []string
		calls func() int
		check func(*testing.T, string)
	}{
		{"gcp", []string{bin + "/gcp"}, gfake.Env(), func() int { return gfake.Calls(gcpfake.MetadataToken) }, gcpToken},
		{"front gcp", []string{bin + "/front", "DIR", bin + "/gcp"}, gfake.Env(), func() int { return gfake.Calls(gcpfake.MetadataToken) }, gcpToken},
		{"ecr", []string{bin + "/ecr"}, awsEnv, func() int { return afake.Calls(awsfake.ECRGetAuthorizationToken) }, ecrToken},
		{"front ecr", []string{bin + "/front", "DIR", bin + "/ecr"}, awsEnv, func() int { return afake.Calls(awsfake.ECRGetAuthorizationToken) }, ecrToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			argv := append([]string{}, tc.argv...)
			if len(argv) > 1 && argv[1] == "DIR" {
				argv[1] = dir
			} else {
				argv = append(argv, dir)
			}
			before := tc.calls()
			cold := run(t, tc.env, argv...)
			tc.check(t, cold)
			if got := tc.calls() - before; got != 1 {
				t.Fatalf("a miss made %d token calls, want 1", got)
			}
			if warm := run(t, tc.env, argv...); warm != cold {
				t.Fatalf("a hit answered %q, want the stored %q", warm, cold)
			}
			if got := tc.calls() - before; got != 1 {
				t.Fatalf("a hit called upstream: %d token calls in all, want 1", got)
			}
		})
	}
}

func TestBoundsLinkTheLeast(t *testing.T) {
	// The front end's own list (internal/frontend's TestFrontEndLinksNothingHeavy):
	// front stands for the least of it.
	godeps.Forbid(t, module+"front", "github.com/aws", "cloud.google.com", "google.golang.org", "github.com/Azure",
		"golang.org/x/oauth2", "net/http", "crypto/tls", "k8s.io", "go.yaml.in", "sigs.k8s.io", "regexp", "os/exec")
	const ours = "github.com/imagecred/image-credential-provider/"
	rest := []string{"k8s.io", "go.yaml.in", "sigs.k8s.io", "gopkg.in", "github.com/distribution",
		ours + "internal", ours + "providers", ours + "cache", ours + "ecr", ours + "gcr", ours + "acr", ours + "dockercfg"}
	godeps.Forbid(t, module+"gcp", append(rest, "github.com/aws", "github.com/Azure", "golang.org/x/oauth2")...)
	godeps.Forbid(t, module+"ecr", append(rest, "cloud.google.com", "github.com/Azure", "golang.org/x/oauth2")...)
}
