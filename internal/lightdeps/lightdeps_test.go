package lightdeps

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/imagecred/image-credential-provider/"

// heavy are import path prefixes no light package may link.
var heavy = []string{
	"github.com/aws/",          // AWS SDK
	"cloud.google.com/",        // Google client libraries
	"google.golang.org/",       // gRPC, Google API clients
	"github.com/Azure/",        // Azure SDK
	"github.com/AzureAD/",      // MSAL
	"golang.org/x/oauth2",      // OAuth 2.0
	"golang.org/x/net/",        // HTTP/2
	"net/http",                 // any HTTP client or server
	"crypto/tls",               // what HTTPS brings
	"k8s.io/apimachinery",      // Kubernetes API machinery
	"k8s.io/kubelet",           // Kubernetes API types
	"github.com/distribution/", // image reference parser (regexps at init)
	module + "ecr/ecrtoken",    // the token packages themselves
	module + "gcr/gcrtoken",
	module + "acr/acrtoken",
	module + "acr/exchange",
	module + "dockercfg", // links the API machinery (its own split is separate)
	module + "cache",
}

func TestLightPackagesLinkNothingHeavy(t *testing.T) {
	tests := []struct {
		pkg string
		// regexp may be linked: a package-level regexp is compiled at every start.
		regexpAllowed bool
	}{
		{pkg: "ecr"},
		{pkg: "ecr/ecrhost"},
		{pkg: "gcr"},
		{pkg: "gcr/gcrhost"},
		{pkg: "acr/acrhost"},
		{pkg: "providers"},
		{pkg: "internal/match"},
		{pkg: "internal/duration"},
		// azure.json may be YAML (as for the AKS plugin), and its cloud decides the
		// registry suffix; the YAML library compiles two small patterns at start.
		{pkg: "acr", regexpAllowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			deps := goListDeps(t, module+tt.pkg)
			if len(deps) < 2 {
				t.Fatalf("go list found %d packages: %q", len(deps), deps)
			}
			for _, d := range deps {
				for _, h := range heavy {
					if under(d, h) {
						t.Errorf("%s links %s", tt.pkg, d)
					}
				}
				if d == "regexp" && !tt.regexpAllowed {
					t.Errorf("%s links regexp", tt.pkg)
				}
			}
		})
	}
	// The test sees what it is meant to: a token package links its SDK.
	for pkg, sdk := range map[string]string{
		"ecr/ecrtoken": "github.com/aws/aws-sdk-go-v2/service/ecr",
		"gcr/gcrtoken": "cloud.google.com/go/compute/metadata",
		"acr/acrtoken": "github.com/Azure/azure-sdk-for-go/sdk/azidentity",
	} {
		if deps := goListDeps(t, module+pkg); !contains(deps, sdk) || !contains(deps, "net/http") {
			t.Errorf("%s does not link %s and net/http", pkg, sdk)
		}
	}
}

// under reports whether package d is prefix, or below it ("net/http" covers
// "net/http/httptrace"; "github.com/aws/" every package of that owner).
func under(d, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(d, prefix)
	}
	return d == prefix || strings.HasPrefix(d, prefix+"/")
}

// goListDeps is `go list -deps pkg`: pkg and every package it links.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
