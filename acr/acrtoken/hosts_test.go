package acrtoken

import (
	"context"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

func TestServes(t *testing.T) {
	p, err := New(acr.Config{
		RegistryMirror: "mcr.microsoft.com:myacr.azurecr.io",
		Mirrors:        []acr.Mirror{{Source: "registry.local:5000", Target: "myacr.azurecr.io:8443"}},
	}, WithLookupEnv(envMap(nil)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"myacr.azurecr.io", true},
		{"myacr.azurecr.cn", true},
		{"myacr.azurecr.us", true},
		{"myacr.azurecr.de", true},
		{"myacr.eastus.geo.azurecr.io", true},
		{"myacr.chinanorth3.geo.azurecr.cn", true},
		{"myreg-abc123hash.azurecr.io", true}, // domain name label scope
		{"myacr.azurecr.io:443", true},
		{"myacr.azurecr.io:8443", true},
		{"MyACR.AzureCR.io", true},
		{"mcr.microsoft.com", true},   // mirror source
		{"registry.local:5000", true}, // mirror source with port
		{"MCR.microsoft.com", true},

		{"foo.azurecr.io.example", false}, // acr-credential-provider's substring fallback says yes
		{"azurecr.io", false},
		{".azurecr.io", false},
		{"a.b.azurecr.io", false},
		{"myacr.eastus.notgeo.azurecr.io", false},
		{"myacr..azurecr.io", false},
		{"-myacr.azurecr.io", false},
		{"my_acr.azurecr.io", false},
		{"myacr.azurecr.com", false},
		{"myacrazurecr.io", false},
		{"myacr.azurecr.io:0", false},
		{"myacr.azurecr.io:99999", false},
		{"myacr.azurecr.io:", false},
		{"myacr.azurecr.io:x", false},
		{"mcr.microsoft.com:443", false}, // the mirror source is the host without a port
		{"registry.local", false},
		{"docker.io", false},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.Serves(providers.Image{Host: tt.host, Path: "app"}); got != tt.want {
			t.Errorf("Serves(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// Mirrors: the source image gets the target registry's credentials under both keys,
// with the node identity, and only when the mirror is configured.
func TestMirrors(t *testing.T) {
	clearManagedIdentityEnv(t)
	s := startFake(t, azurefake.Options{})
	s.AddSecretPrincipal("t-mirror", "sp-mirror", "mirror-secret")
	env := map[string]string{"AZURE_TENANT_ID": "t-mirror", "AZURE_CLIENT_ID": "sp-mirror", "AZURE_CLIENT_SECRET": "mirror-secret"}
	cfg := acr.Config{
		RegistryMirror: " mcr.microsoft.com : myacr.azurecr.io ",
		Mirrors:        []acr.Mirror{{Source: "registry.local:5000", Target: "myacr.azurecr.io:8443"}},
	}
	p := newProvider(t, s, cfg, env)

	tests := []struct {
		name       string
		req        providers.Request
		wantTarget string
		wantKeys   []string
	}{
		{"acr-credential-provider's form", request("mcr.microsoft.com/dotnet/runtime"), "myacr.azurecr.io", []string{"myacr.azurecr.io", "mcr.microsoft.com"}},
		{"config form with ports", request("registry.local:5000/team/app"), "myacr.azurecr.io:8443", []string{"myacr.azurecr.io:8443", "registry.local:5000"}},
		{"a service account token does not change a mirror's identity",
			saRequest("mcr.microsoft.com/dotnet/runtime", "ns", "sa", map[string]string{acr.ClientIDAnnotation: "someone-else"}),
			"myacr.azurecr.io", []string{"myacr.azurecr.io", "mcr.microsoft.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Credentials(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, s, res, tt.wantKeys...)
			if ex := lastExchange(t, s); ex.Host != tt.wantTarget || ex.Service != tt.wantTarget {
				t.Errorf("exchanged at %s for %s, want %s", ex.Host, ex.Service, tt.wantTarget)
			}
			if tr := lastToken(t, s); tr.ClientID != "sp-mirror" {
				t.Errorf("identity %s, want the node's", tr.ClientID)
			}
			k, _ := p.CacheIdentity(tt.req)
			if !strings.Contains(k, "mirror="+tt.wantTarget) {
				t.Errorf("cache identity %q lacks the mirror target", k)
			}
		})
	}

	// Without the mirror the source registry is not ours.
	plain := newProvider(t, s, acr.Config{}, env)
	if plain.Serves(image("mcr.microsoft.com/dotnet/runtime")) {
		t.Fatal("mcr.microsoft.com served without a mirror")
	}
	if _, err := plain.Credentials(context.Background(), request("mcr.microsoft.com/dotnet/runtime")); err == nil {
		t.Fatal("credentials for a non-ACR host")
	}
}
