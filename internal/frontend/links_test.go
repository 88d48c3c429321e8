package frontend

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/godeps"
)

// The binary the kubelet runs links nothing that costs at start-up: no cloud SDK, no
// HTTP client, no YAML library, no API machinery, no logging library, no regexp. On
// Linux the hand-over is an execve, so not even os/exec; elsewhere it starts a child
// with os/exec, whose initialization does nothing at start-up.
func TestFrontEndLinksNothingHeavy(t *testing.T) {
	forbidden := []string{"github.com/aws", "cloud.google.com", "google.golang.org", "github.com/Azure", "github.com/AzureAD",
		"golang.org/x/oauth2", "net/http", "crypto/tls", "k8s.io/apimachinery", "k8s.io/kubelet", "k8s.io/klog",
		"sigs.k8s.io/yaml", "go.yaml.in", "gopkg.in/yaml.v2", "gopkg.in/yaml.v3", "github.com/distribution",
		"regexp"}
	if targetOS(t) == "linux" {
		forbidden = append(forbidden, "os/exec")
	}
	godeps.Forbid(t, "github.com/imagecred/image-credential-provider/cmd/image-credential-provider", forbidden...)
}

// Each companion links one cloud's SDK, not the others'.
func TestCompanionsLinkOneCloud(t *testing.T) {
	const cmd = "github.com/imagecred/image-credential-provider/cmd/"
	// Nor what install and check need: they hand those to image-credential-provider-all.
	const ours = "github.com/imagecred/image-credential-provider/internal/"
	nodeCommands := []string{ours + "install", ours + "check", ours + "nodecmd", ours + "kubeletconfig", "sigs.k8s.io/yaml", "go.yaml.in/yaml/v2"}
	godeps.Forbid(t, cmd+"image-credential-provider-ecr", append(nodeCommands, "github.com/Azure", "github.com/AzureAD", "cloud.google.com", "golang.org/x/oauth2", "k8s.io/apimachinery", "github.com/distribution")...)
	godeps.Forbid(t, cmd+"image-credential-provider-gcr", append(nodeCommands, "github.com/aws", "github.com/Azure", "github.com/AzureAD", "k8s.io/apimachinery", "github.com/distribution")...)
	godeps.Forbid(t, cmd+"image-credential-provider-acr", append(nodeCommands, "github.com/aws", "cloud.google.com", "golang.org/x/oauth2", "k8s.io/apimachinery", "github.com/distribution")...)
}

// targetOS is the GOOS the go command lists packages for (test/platforms.sh runs these
// tests on the host for windows/amd64 too).
func targetOS(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOOS").Output()
	if err != nil {
		t.Fatalf("go env GOOS: %v", err)
	}
	return strings.TrimSpace(string(out))
}
