package acrtoken

import (
	"context"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

// The AAD authority, the ACR audience and the registry suffix follow the cloud.
func TestClouds(t *testing.T) {
	s := startFake(t, azurefake.Options{})
	const tenant = "tenant-clouds"
	s.AddSecretPrincipal(tenant, "sp-clouds", "clouds-secret")
	sp := `"tenantId":"` + tenant + `","aadClientId":"sp-clouds","aadClientSecret":"clouds-secret"`
	stackEnv := writeFile(t, "stack.json", `{"name":"AzureStackCloud","activeDirectoryEndpoint":"https://login.stack.example/","containerRegistryDNSSuffix":"azurecr.stack.example","resourceManagerEndpoint":"https://management.stack.example/"}`)

	tests := []struct {
		name          string
		azureJSON     string
		cfg           acr.Config
		env           map[string]string
		registry      string
		wantAuthority string
		wantDiscovery bool // instance discovery asked (only trusted AAD hosts)
		notServed     string
	}{
		{name: "public", azureJSON: `{"cloud":"AzurePublicCloud",` + sp + `}`, registry: "myacr.azurecr.io",
			wantAuthority: "login.microsoftonline.com", wantDiscovery: true, notServed: "myacr.azurecr.stack.example"},
		{name: "china", azureJSON: `{"cloud":"AzureChinaCloud",` + sp + `}`, registry: "myacr.azurecr.cn",
			wantAuthority: "login.chinacloudapi.cn", wantDiscovery: true},
		{name: "us government", azureJSON: `{"cloud":"AzureUSGovernmentCloud",` + sp + `}`, registry: "myacr.azurecr.us",
			wantAuthority: "login.microsoftonline.us", wantDiscovery: true},
		{name: "us government, flag overrides azure.json", azureJSON: `{"cloud":"AzurePublicCloud",` + sp + `}`,
			cfg: acr.Config{Cloud: "AzureUSGovernment", DisableInstanceDiscovery: true}, registry: "myacr.azurecr.us",
			wantAuthority: "login.microsoftonline.us", wantDiscovery: false},
		{name: "azure stack from AZURE_ENVIRONMENT_FILEPATH", azureJSON: `{"cloud":"AzureStackCloud",` + sp + `}`,
			env: map[string]string{"AZURE_ENVIRONMENT_FILEPATH": stackEnv}, registry: "myacr.azurecr.stack.example",
			wantAuthority: "login.stack.example", wantDiscovery: false},
		{name: "custom cloud from the config's environment file", azureJSON: `{` + sp + `}`,
			cfg: acr.Config{EnvironmentFile: stackEnv}, registry: "myacr.westus.geo.azurecr.stack.example",
			wantAuthority: "login.stack.example", wantDiscovery: false},
		{name: "registry suffix from the config", azureJSON: `{` + sp + `}`,
			cfg: acr.Config{RegistrySuffixes: []string{".ACR.internal.example"}}, registry: "myacr.acr.internal.example",
			wantAuthority: "login.microsoftonline.com", wantDiscovery: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.AzureConfig = writeFile(t, "azure.json", tt.azureJSON)
			p := newProvider(t, s, cfg, tt.env)
			img := image(tt.registry + "/app")
			if !p.Serves(img) {
				t.Fatalf("%s not served", tt.registry)
			}
			if tt.notServed != "" && p.Serves(image(tt.notServed+"/app")) {
				t.Fatalf("%s served by the public cloud config", tt.notServed)
			}
			disc := s.Calls(azurefake.InstanceDiscovery)
			res, err := p.Credentials(context.Background(), request(tt.registry+"/app"))
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, s, res, tt.registry)
			tr := lastToken(t, s)
			if tr.Host != tt.wantAuthority || tr.Tenant != tenant || tr.Audience != "https://containerregistry.azure.net" {
				t.Errorf("token request %+v, want authority %s", tr, tt.wantAuthority)
			}
			if got := s.Calls(azurefake.InstanceDiscovery) > disc; got != tt.wantDiscovery {
				t.Errorf("instance discovery asked: %v, want %v", got, tt.wantDiscovery)
			}
		})
	}
}

func TestAudienceOverride(t *testing.T) {
	s := startFake(t, azurefake.Options{Audience: "https://management.stack.example/"})
	s.AddSecretPrincipal("t", "c", "audience-secret")
	env := map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "audience-secret"}

	p := newProvider(t, s, acr.Config{Audience: "https://management.stack.example/"}, env)
	if _, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app")); err != nil {
		t.Fatal(err)
	}
	if tr := lastToken(t, s); tr.Audience != "https://management.stack.example" {
		t.Fatalf("scope audience %q", tr.Audience)
	}
	// Without the override the registry refuses the default-audience token.
	p = newProvider(t, s, acr.Config{}, env)
	_, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
	if err == nil || !strings.Contains(err.Error(), "token exchange") || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     acr.Config
		env     map[string]string
		wantErr string
	}{
		{"unknown cloud", acr.Config{Cloud: "AzurePublicClod"}, nil, "unknown cloud"},
		{"stack without environment file", acr.Config{Cloud: "AzureStackCloud"}, nil, "needs an environment file"},
		{"missing environment file", acr.Config{EnvironmentFile: "/nonexistent/env.json"}, nil, "cloud environment"},
		{"missing azure.json", acr.Config{AzureConfig: "/nonexistent/azure.json"}, nil, "azure config"},
		{"bad suffix", acr.Config{RegistrySuffixes: []string{"no_underscores.example"}}, nil, "registrySuffixes"},
		{"http authority host", acr.Config{}, map[string]string{"AZURE_AUTHORITY_HOST": "http://login.example/"}, "AZURE_AUTHORITY_HOST"},
		{"mirror target not ACR", acr.Config{RegistryMirror: "mcr.microsoft.com:docker.io"}, nil, "not an Azure Container Registry"},
		{"mirror malformed", acr.Config{RegistryMirror: "mcr.microsoft.com"}, nil, "want SOURCE:TARGET"},
		{"mirror to itself", acr.Config{Mirrors: []acr.Mirror{{Source: "a.azurecr.io", Target: "A.azurecr.io"}}}, nil, "to itself"},
		{"mirror twice", acr.Config{RegistryMirror: "mcr.microsoft.com:a.azurecr.io", Mirrors: []acr.Mirror{{Source: "mcr.microsoft.com", Target: "b.azurecr.io"}}}, nil, "mapped twice"},
		{"mirror source with path", acr.Config{Mirrors: []acr.Mirror{{Source: "mcr.microsoft.com/dotnet", Target: "b.azurecr.io"}}}, nil, "not a host[:port]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, WithLookupEnv(envMap(tt.env)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "acr: ") {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
