package main

// Binary-level tests of the Azure Container Registry backend: the built plugin, the
// kubelet's protocol on stdin/stdout, and the loopback Azure fake reached by the real
// host names (myacr.azurecr.io, login.microsoftonline.com) through HTTPS_PROXY = a
// loopback CONNECT proxy that splices only to the fake, with SSL_CERT_FILE = the fake's
// test CA. Managed identity is the fake's App Service endpoint on 127.0.0.1
// (IDENTITY_ENDPOINT / IDENTITY_HEADER), so nothing probes the real IMDS address.

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
	"github.com/imagecred/image-credential-provider/test/fake/connectproxy"
)

const (
	acrV1       = "credentialprovider.kubelet.k8s.io/v1"
	acrUsername = "00000000-0000-0000-0000-000000000000"
	acrTenant   = "tenant-acr-binary"
	acrSecret   = "acr-binary-client-secret-value"
)

type azureEnv struct {
	fake  *azurefake.Server
	proxy *connectproxy.Proxy
	env   []string
	dir   string
}

// startAzure starts the fake and the proxy, and returns the environment a plugin run
// needs to reach them: the proxy, the CA, the managed identity endpoint.
func startAzure(t *testing.T, opts azurefake.Options) *azureEnv {
	needsTestCA(t)
	t.Helper()
	f, err := azurefake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	p, err := connectproxy.Start(f.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := f.CA.WriteFile(ca); err != nil {
		t.Fatal(err)
	}
	f.AddSecretPrincipal(acrTenant, "sp-binary", acrSecret)
	f.AddUserAssignedIdentity("ua-binary", "")
	return &azureEnv{fake: f, proxy: p, dir: dir, env: []string{
		"HTTPS_PROXY=" + p.URL,
		"SSL_CERT_FILE=" + ca,
		"IDENTITY_ENDPOINT=" + f.AppServiceEndpoint(),
		"IDENTITY_HEADER=" + f.IdentityHeader,
	}}
}

// needsTestCA skips a test in which the plugin must trust the fake's test CA, on
// Windows: Go reads SSL_CERT_FILE on Unix only, and there the CA would have to go into
// the system's trust store.
func needsTestCA(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the plugin reaches the Azure fake over HTTPS signed by a test CA given in SSL_CERT_FILE, which Go reads on Unix only; on Windows the CA would have to go into the system's trust store")
	}
}

func (a *azureEnv) azureJSON(t *testing.T, content string) string {
	return writeFile(t, t.TempDir(), "azure.json", content)
}

const miAzureJSON = `{"cloud":"AzurePublicCloud","useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-binary","subscriptionId":"0000","resourceGroup":"rg"}`

// acrAuth checks the response carries exactly keys, each with the ACR username and a
// refresh token the fake issued, and returns the cacheDuration.
func acrAuth(t *testing.T, a *azureEnv, r result, keys ...string) time.Duration {
	t.Helper()
	resp := decodeResponse(t, r)
	if len(resp.Auth) != len(keys) {
		t.Fatalf("auth %v, want keys %v", resp.Auth, keys)
	}
	for _, k := range keys {
		au, ok := resp.Auth[k]
		if !ok {
			t.Fatalf("auth %v has no key %q", resp.Auth, k)
		}
		if au.Username != acrUsername {
			t.Errorf("username %q", au.Username)
		}
		if err := a.fake.ValidateRefreshToken(au.Password); err != nil {
			t.Errorf("password for %s is not a refresh token of the fake: %v", k, err)
		}
		if au.Password == acrSecret {
			t.Fatal("the client secret was handed to the kubelet")
		}
	}
	if resp.CacheKeyType != "Registry" {
		t.Errorf("cacheKeyType %q, want Registry", resp.CacheKeyType)
	}
	d, err := time.ParseDuration(resp.CacheDuration)
	if err != nil {
		t.Fatalf("cacheDuration %q: %v", resp.CacheDuration, err)
	}
	return d
}

// acrFails checks the run failed with one stderr line naming the backend, the registry
// and want, with no secret and nothing on stdout.
func acrFails(t *testing.T, r result, registry string, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("exit 0, want a failure; stdout %s", r.stdout)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q on failure", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "acr: registry "+registry+": ") {
		t.Errorf("stderr %q does not name the backend and registry", last)
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("stderr %q does not mention %q", last, w)
		}
	}
	if strings.Contains(r.stderr, acrSecret) {
		t.Errorf("stderr carries the client secret: %q", r.stderr)
	}
}

// Managed identity, every ACR host form; the registries are reached by name through
// the proxy, and a 3 h refresh token is kept for 2 h 42 m (10% margin).
func TestACRManagedIdentityHosts(t *testing.T) {
	needsTestCA(t)
	a := startAzure(t, azurefake.Options{})
	cfgPath := a.azureJSON(t, miAzureJSON)
	for _, image := range []string{
		"myacr.azurecr.io/team/app",
		"myacr.eastus.geo.azurecr.io/team/app",
		"myacr.azurecr.cn/app",
		"myacr.azurecr.us/app",
		"myacr.azurecr.io:8443/app",
	} {
		t.Run(image, func(t *testing.T) {
			host, _, _ := strings.Cut(image, "/")
			r := runPlugin(t, "", a.env, request(acrV1, image), "--no-cache", "--backends=acr", "--acr-azure-config="+cfgPath)
			d := acrAuth(t, a, r, host)
			if d < 2*time.Hour+40*time.Minute || d > 2*time.Hour+43*time.Minute {
				t.Errorf("cacheDuration %v, want about 2h42m", d)
			}
			authority := host
			if !strings.Contains(host, ":") {
				authority += ":443"
			}
			if a.proxy.Connects()[authority] == 0 {
				t.Errorf("no tunnel to %s: %v", authority, a.proxy.Connects())
			}
		})
	}
	if n := a.fake.Calls(azurefake.AppService); n != 5 {
		t.Errorf("managed identity calls %d, want 5 (one per run)", n)
	}
}

// A service principal's secret is exchanged at the real authority name (instance
// discovery, tenant discovery, token) and never reaches the kubelet.
func TestACRServicePrincipalSecret(t *testing.T) {
	needsTestCA(t)
	a := startAzure(t, azurefake.Options{})
	cfgPath := a.azureJSON(t, `{"tenantId":"`+acrTenant+`","aadClientId":"sp-binary","aadClientSecret":"`+acrSecret+`"}`)
	r := runPlugin(t, "", a.env, request(acrV1, "myacr.azurecr.io/app"), "--no-cache", "--backends=acr", "--acr-azure-config", cfgPath, "-v=4")
	acrAuth(t, a, r, "myacr.azurecr.io")
	if strings.Contains(r.stderr, acrSecret) {
		t.Fatal("stderr carries the client secret")
	}
	if a.proxy.Connects()["login.microsoftonline.com:443"] == 0 {
		t.Errorf("AAD not reached by name: %v", a.proxy.Connects())
	}
	if a.fake.Calls(azurefake.InstanceDiscovery) == 0 || a.fake.Calls(azurefake.AADToken) != 1 {
		t.Errorf("discovery %d, token %d", a.fake.Calls(azurefake.InstanceDiscovery), a.fake.Calls(azurefake.AADToken))
	}
}

func acrSARequest(t *testing.T, image string, annotations map[string]string) (string, string) {
	t.Helper()
	tok := azurefake.ServiceAccountToken("team-a", "puller", "0f7a7c2e-fake-uid", azurefake.FederatedAudience)
	b, err := json.Marshal(map[string]any{
		"kind": "CredentialProviderRequest", "apiVersion": acrV1, "image": image,
		"serviceAccountToken": tok, "serviceAccountAnnotations": annotations,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), tok
}

// Service-account-token mode: the pod's token is the client assertion for the client id
// of the annotation, in the annotation's tenant, whatever azure.json says.
func TestACRServiceAccountToken(t *testing.T) {
	needsTestCA(t)
	a := startAzure(t, azurefake.Options{})
	a.fake.AddFederatedPrincipal("tenant-team-a", "app-team-a", "system:serviceaccount:team-a:puller")
	cfgPath := a.azureJSON(t, `{"tenantId":"tenant-of-the-node","useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-binary"}`)

	stdin, tok := acrSARequest(t, "myacr.azurecr.io/app", map[string]string{
		"kubernetes.azure.com/acr-client-id": "app-team-a",
		"kubernetes.azure.com/acr-tenant-id": "tenant-team-a",
	})
	r := runPlugin(t, "", a.env, stdin, "--no-cache", "--backends=acr", "--acr-azure-config="+cfgPath)
	acrAuth(t, a, r, "myacr.azurecr.io")
	reqs := a.fake.TokenRequests()
	if len(reqs) != 1 || reqs[0].Method != "federated" || reqs[0].ClientID != "app-team-a" || reqs[0].Tenant != "tenant-team-a" {
		t.Errorf("token requests %+v", reqs)
	}
	if a.fake.Calls(azurefake.AppService) != 0 {
		t.Error("the node's managed identity was used in service-account-token mode")
	}
	if strings.Contains(r.stderr, tok) {
		t.Error("stderr carries the pod token")
	}

	t.Run("missing annotations", func(t *testing.T) {
		stdin, tok := acrSARequest(t, "myacr.azurecr.io/app", nil)
		r := runPlugin(t, "", a.env, stdin, "--no-cache", "--backends=acr", "--acr-azure-config="+cfgPath)
		acrFails(t, r, "myacr.azurecr.io", "kubernetes.azure.com/acr-client-id")
		if strings.Contains(r.stderr, tok) {
			t.Error("stderr carries the pod token")
		}
	})
}

func TestACRNonACRHostsGetNothing(t *testing.T) {
	a := startAzure(t, azurefake.Options{})
	cfgPath := a.azureJSON(t, miAzureJSON)
	for _, image := range []string{"docker.io/library/nginx", "foo.azurecr.io.example/app", "a.b.azurecr.io/app"} {
		r := runPlugin(t, "", a.env, request(acrV1, image), "--no-cache", "--backends=acr", "--acr-azure-config="+cfgPath)
		if resp := decodeResponse(t, r); len(resp.Auth) != 0 {
			t.Errorf("%s: auth %v, want none", image, resp.Auth)
		}
	}
	if n := a.fake.Calls(azurefake.AppService) + a.fake.Calls(azurefake.Challenge); n != 0 {
		t.Errorf("%d calls reached the fake for non-ACR hosts", n)
	}
	if c := a.proxy.Connects(); len(c) != 0 {
		t.Errorf("tunnels opened: %v", c)
	}
}

// A failing managed identity endpoint ends in a few seconds with one clear line
// (acr-credential-provider takes 62 s).
func TestACRFailingManagedIdentity(t *testing.T) {
	a := startAzure(t, azurefake.Options{})
	a.fake.FailNext(azurefake.AppService, 100, 500)
	cfgPath := a.azureJSON(t, miAzureJSON)
	start := time.Now()
	r := runPlugin(t, "", a.env, request(acrV1, "myacr.azurecr.io/app"), "--no-cache", "--backends=acr", "--acr-azure-config="+cfgPath)
	elapsed := time.Since(start)
	acrFails(t, r, "myacr.azurecr.io", "managed identity (client id ua-binary)", "AAD token", "status 500")
	if elapsed > 10*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if n := a.fake.Calls(azurefake.AppService); n != 4 {
		t.Errorf("managed identity calls %d, want 4 (bounded retries)", n)
	}
}

func TestACRExchangeFailures(t *testing.T) {
	needsTestCA(t)
	tests := []struct {
		name  string
		opts  azurefake.Options
		shape azurefake.RefreshTokenShape
		want  string
	}{
		{"401 from the exchange", azurefake.Options{Audience: "https://another-audience.example"}, azurefake.RefreshJWT, "token exchange: POST https://myacr.azurecr.io/oauth2/exchange: status 401"},
		{"missing refresh token", azurefake.Options{}, azurefake.RefreshMissing, "no refresh_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startAzure(t, tt.opts)
			a.fake.SetRefreshTokenShape(tt.shape)
			r := runPlugin(t, "", a.env, request(acrV1, "myacr.azurecr.io/app"), "--no-cache", "--backends=acr", "--acr-azure-config="+a.azureJSON(t, miAzureJSON))
			acrFails(t, r, "myacr.azurecr.io", tt.want)
		})
	}
}

// The config file's acr: section, with a mirror that carries ports.
func TestACRConfigFileMirror(t *testing.T) {
	needsTestCA(t)
	a := startAzure(t, azurefake.Options{})
	cfgPath := a.azureJSON(t, miAzureJSON)
	conf := writeFile(t, t.TempDir(), "config.yaml", `apiVersion: imagecred.dev/v1alpha1
kind: ImageCredentialProviderConfig
backends: [acr]
acr:
  azureConfig: `+cfgPath+`
  mirrors:
  - source: registry.local:5000
    target: myacr.azurecr.io:8443
`)
	r := runPlugin(t, "", a.env, request(acrV1, "registry.local:5000/team/app"), "--no-cache", "--config", conf)
	acrAuth(t, a, r, "registry.local:5000", "myacr.azurecr.io:8443")
	if ex := a.fake.Exchanges(); len(ex) != 1 || ex[0].Host != "myacr.azurecr.io:8443" {
		t.Errorf("exchanges %+v", ex)
	}
}

// Installed as acr-credential-provider, the binary takes the Azure plugin's command line:
// the azure.json path, --registry-mirror and -v.
func TestACRDropIn(t *testing.T) {
	needsTestCA(t)
	a := startAzure(t, azurefake.Options{})
	cfgPath := a.azureJSON(t, miAzureJSON)
	args := []string{cfgPath, "--registry-mirror", "mcr.microsoft.com:myacr.azurecr.io", "-v", "2"}
	tests := []struct {
		image string
		keys  []string
	}{
		{"mcr.microsoft.com/dotnet/runtime", []string{"mcr.microsoft.com", "myacr.azurecr.io"}},
		{"myacr.azurecr.io/team/app", []string{"myacr.azurecr.io"}},
		{"docker.io/library/nginx", nil},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			r := runPlugin(t, "acr-credential-provider", a.env, request(acrV1, tt.image), args...)
			if len(tt.keys) == 0 {
				if resp := decodeResponse(t, r); len(resp.Auth) != 0 {
					t.Errorf("auth %v, want none", resp.Auth)
				}
				return
			}
			acrAuth(t, a, r, tt.keys...)
		})
	}
	t.Run("the Azure plugin's arguments are checked", func(t *testing.T) {
		r := runPlugin(t, "acr-credential-provider", a.env, request(acrV1, "myacr.azurecr.io/app"))
		if r.code == 0 || !strings.Contains(r.stderr, "azure.json path") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}
