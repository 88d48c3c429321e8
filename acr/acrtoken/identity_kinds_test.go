package acrtoken

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

// clearManagedIdentityEnv makes MSAL pick IMDS (169.254.169.254, which the fake's
// client dials to the fake) unless a case sets the App Service variables.
func clearManagedIdentityEnv(t *testing.T) {
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"} {
		t.Setenv(k, "")
	}
}

// Every identity kind, through the real azidentity code against the fake, exchanged for
// an ACR refresh token. MSAL caches managed identity tokens process-wide by identity,
// so each managed identity case uses its own identity.
func TestCredentialsForEachIdentityKind(t *testing.T) {
	clearManagedIdentityEnv(t)
	s := startFake(t, azurefake.Options{})
	const (
		tenant   = "tenant-sp"
		uaRes    = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua-res"
		spSecret = "sp-secret-value-do-not-leak"
	)
	for _, id := range []string{"ua-client", "ua-aks", "ua-env", "ua-appservice"} {
		s.AddUserAssignedIdentity(id, "")
	}
	s.AddUserAssignedIdentity("ua-by-resource", uaRes)
	s.AddSecretPrincipal(tenant, "sp-file", spSecret)
	s.AddSecretPrincipal(tenant, "sp-env", spSecret)
	certPEM, cert, err := azurefake.NewClientCertificate("sp-cert")
	if err != nil {
		t.Fatal(err)
	}
	s.AddCertificatePrincipal(tenant, "sp-cert", cert)
	certPath := writeFile(t, "sp.pem", string(certPEM))
	const pfxPassword = "pfx-password-do-not-leak"
	pfxPEM, pfxCert, err := azurefake.NewClientCertificate("sp-pfx")
	if err != nil {
		t.Fatal(err)
	}
	s.AddCertificatePrincipal(tenant, "sp-pfx", pfxCert)
	pfxPath := writeFile(t, "sp.pfx", string(pkcs12File(t, pfxPEM, pfxPassword)))
	s.AddFederatedPrincipal(tenant, "wi-env", "system:serviceaccount:kube-system:node-puller")
	s.AddFederatedPrincipal(tenant, "wi-file", "system:serviceaccount:kube-system:node-puller")
	tokenFile := writeFile(t, "token", azurefake.ServiceAccountToken("kube-system", "node-puller", "u1", azurefake.FederatedAudience))

	tests := []struct {
		name       string
		azureJSON  string
		env        map[string]string
		appService bool
		// what the fake must have seen
		wantEndpoint azurefake.Endpoint
		wantMethod   string
		wantClientID string
		wantResource string
		wantTenant   string // exchange tenant field
		wantHost     string // AAD authority host used ("" for managed identity)
		wantIdentity string // in CacheIdentity
	}{
		{name: "managed identity, system-assigned (IMDS)",
			azureJSON:    `{"cloud":"AzurePublicCloud","useManagedIdentityExtension":true}`,
			wantEndpoint: azurefake.IMDS, wantMethod: "managed_identity", wantTenant: azurefake.DefaultTenantID,
			wantIdentity: "kind=1|client=|"},
		{name: "managed identity, user-assigned client id",
			azureJSON:    `{"useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-client"}`,
			wantEndpoint: azurefake.IMDS, wantMethod: "managed_identity", wantClientID: "ua-client", wantTenant: azurefake.DefaultTenantID,
			wantIdentity: "client=ua-client"},
		{name: "managed identity, user-assigned resource id",
			azureJSON:    `{"useManagedIdentityExtension":true,"userAssignedIdentityID":"` + uaRes + `"}`,
			wantEndpoint: azurefake.IMDS, wantMethod: "managed_identity", wantResource: uaRes, wantTenant: azurefake.DefaultTenantID,
			wantIdentity: "resource=" + strings.ToLower(uaRes)},
		{name: "managed identity, AKS msi/msi azure.json",
			azureJSON:    `{"aadClientId":"msi","aadClientSecret":"msi","userAssignedIdentityID":"ua-aks","tenantId":"` + azurefake.DefaultTenantID + `"}`,
			wantEndpoint: azurefake.IMDS, wantMethod: "managed_identity", wantClientID: "ua-aks", wantTenant: azurefake.DefaultTenantID,
			wantIdentity: "client=ua-aks"},
		{name: "managed identity from AZURE_CLIENT_ID, no azure.json",
			env:          map[string]string{"AZURE_CLIENT_ID": "ua-env"},
			wantEndpoint: azurefake.IMDS, wantMethod: "managed_identity", wantClientID: "ua-env", wantTenant: azurefake.DefaultTenantID,
			wantIdentity: "client=ua-env"},
		{name: "managed identity through IDENTITY_ENDPOINT (App Service protocol)",
			azureJSON: `{"useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-appservice"}`, appService: true,
			wantEndpoint: azurefake.AppService, wantMethod: "managed_identity", wantClientID: "ua-appservice", wantTenant: azurefake.DefaultTenantID,
			wantIdentity: "client=ua-appservice"},
		{name: "workload identity from the environment, AZURE_AUTHORITY_HOST honoured",
			env: map[string]string{"AZURE_FEDERATED_TOKEN_FILE": tokenFile, "AZURE_CLIENT_ID": "wi-env", "AZURE_TENANT_ID": tenant,
				"AZURE_AUTHORITY_HOST": "https://login.workload.example/"},
			wantEndpoint: azurefake.AADToken, wantMethod: "federated", wantClientID: "wi-env", wantTenant: tenant, wantHost: "login.workload.example",
			wantIdentity: "tokenfile=" + tokenFile},
		{name: "workload identity from azure.json",
			azureJSON:    `{"aadFederatedTokenFile":` + jsonString(tokenFile) + `,"useFederatedWorkloadIdentityExtension":true,"aadClientId":"wi-file","tenantId":"` + tenant + `"}`,
			wantEndpoint: azurefake.AADToken, wantMethod: "federated", wantClientID: "wi-file", wantTenant: tenant, wantHost: "login.microsoftonline.com",
			wantIdentity: "client=wi-file"},
		{name: "service principal with a secret in azure.json",
			azureJSON:    `{"tenantId":"` + tenant + `","aadClientId":"sp-file","aadClientSecret":"` + spSecret + `"}`,
			wantEndpoint: azurefake.AADToken, wantMethod: "client_secret", wantClientID: "sp-file", wantTenant: tenant, wantHost: "login.microsoftonline.com",
			wantIdentity: "client=sp-file"},
		{name: "service principal with a secret in the environment",
			env:          map[string]string{"AZURE_CLIENT_ID": "sp-env", "AZURE_TENANT_ID": tenant, "AZURE_CLIENT_SECRET": spSecret},
			wantEndpoint: azurefake.AADToken, wantMethod: "client_secret", wantClientID: "sp-env", wantTenant: tenant, wantHost: "login.microsoftonline.com",
			wantIdentity: "client=sp-env"},
		{name: "service principal with a certificate",
			azureJSON:    `{"tenantId":"` + tenant + `","aadClientId":"sp-cert","aadClientCertPath":` + jsonString(certPath) + `}`,
			wantEndpoint: azurefake.AADToken, wantMethod: "client_certificate", wantClientID: "sp-cert", wantTenant: tenant, wantHost: "login.microsoftonline.com",
			wantIdentity: "cert=" + certPath},
		{name: "service principal with a password-protected PKCS#12 certificate",
			azureJSON:    `{"tenantId":"` + tenant + `","aadClientId":"sp-pfx","aadClientCertPath":` + jsonString(pfxPath) + `,"aadClientCertPassword":"` + pfxPassword + `"}`,
			wantEndpoint: azurefake.AADToken, wantMethod: "client_certificate", wantClientID: "sp-pfx", wantTenant: tenant, wantHost: "login.microsoftonline.com",
			wantIdentity: "cert=" + pfxPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.appService {
				t.Setenv("IDENTITY_ENDPOINT", s.AppServiceEndpoint())
				t.Setenv("IDENTITY_HEADER", s.IdentityHeader)
			}
			cfg := acr.Config{}
			if tt.azureJSON != "" {
				cfg.AzureConfig = writeFile(t, "azure.json", tt.azureJSON)
			}
			p := newProvider(t, s, cfg, tt.env)
			req := request("myacr.azurecr.io/team/app")
			before := s.Calls(tt.wantEndpoint)
			res, err := p.Credentials(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, s, res, "myacr.azurecr.io")
			if res.Auth["myacr.azurecr.io"].Password == spSecret {
				t.Fatal("the client secret was handed out as the registry password")
			}
			if s.Calls(tt.wantEndpoint) != before+1 {
				t.Errorf("%s calls %d → %d, want one more", tt.wantEndpoint, before, s.Calls(tt.wantEndpoint))
			}
			tr := lastToken(t, s)
			if tr.Method != tt.wantMethod || tr.ClientID != tt.wantClientID || tr.ResourceID != tt.wantResource || tr.Audience != "https://containerregistry.azure.net" {
				t.Errorf("token request %+v", tr)
			}
			if tt.wantHost != "" && tr.Host != tt.wantHost {
				t.Errorf("AAD request went to %s, want %s", tr.Host, tt.wantHost)
			}
			ex := lastExchange(t, s)
			if ex.Status != 200 || ex.Tenant != tt.wantTenant || ex.Service != "myacr.azurecr.io" || ex.GrantType != "access_token" {
				t.Errorf("exchange %+v", ex)
			}
			idKey, scope := p.CacheIdentity(req)
			if scope != "Registry" || !strings.Contains(idKey, tt.wantIdentity) {
				t.Errorf("CacheIdentity %q (%s), want it to contain %q", idKey, scope, tt.wantIdentity)
			}
			if strings.Contains(idKey, spSecret) || strings.Contains(idKey, pfxPassword) {
				t.Error("CacheIdentity contains the secret")
			}
		})
	}
}

func TestResolveNodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		azureJSON string
		env       map[string]string
		wantErr   string
	}{
		{"secret without tenant", `{"aadClientId":"c","aadClientSecret":"s"}`, nil, "needs a tenant id"},
		{"secret without client id", `{"tenantId":"t","aadClientSecret":"s"}`, nil, "needs a client id"},
		{"workload without client id", "", map[string]string{"AZURE_FEDERATED_TOKEN_FILE": "/f", "AZURE_TENANT_ID": "t"}, "needs a client id"},
		{"adfs", `{"identitySystem":"adfs","aadClientId":"c","aadClientSecret":"s","tenantId":"t"}`, nil, "adfs"},
		{"odd client id", `{"aadClientId":"c/../x","aadClientSecret":"s","tenantId":"t"}`, nil, "letters, digits"},
	}
	s := startFake(t, azurefake.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := acr.Config{}
			if tt.azureJSON != "" {
				cfg.AzureConfig = writeFile(t, "azure.json", tt.azureJSON)
			}
			p := newProvider(t, s, cfg, tt.env)
			_, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "myacr.azurecr.io") {
				t.Fatalf("err = %v, want %q naming the registry", err, tt.wantErr)
			}
			if n := len(s.TokenRequests()); n != 0 {
				t.Fatalf("%d token requests for an unusable identity", n)
			}
		})
	}
}

// pkcs12File turns NewClientCertificate's PEM (key and certificate) into a PKCS#12 file
// protected by password, in the legacy encryption Azure tooling and
// azidentity.ParseCertificates read.
func pkcs12File(t *testing.T, pemData []byte, password string) []byte {
	t.Helper()
	var key any
	var cert *x509.Certificate
	for rest := pemData; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		var err error
		switch b.Type {
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(b.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if key == nil || cert == nil {
		t.Fatal("NewClientCertificate gave no key or no certificate")
	}
	pfx, err := pkcs12.LegacyDES.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return pfx
}

// A PKCS#12 file with the wrong password is an error naming the file, never the password.
func TestPKCS12WrongPassword(t *testing.T) {
	s := startFake(t, azurefake.Options{})
	certPEM, cert, err := azurefake.NewClientCertificate("sp-pfx")
	if err != nil {
		t.Fatal(err)
	}
	s.AddCertificatePrincipal("tenant-sp", "sp-pfx", cert)
	pfxPath := writeFile(t, "sp.pfx", string(pkcs12File(t, certPEM, "the-right-password")))
	const wrong = "a-wrong-password-do-not-leak"
	cfg := acr.Config{AzureConfig: writeFile(t, "azure.json",
		`{"tenantId":"tenant-sp","aadClientId":"sp-pfx","aadClientCertPath":`+jsonString(pfxPath)+`,"aadClientCertPassword":"`+wrong+`"}`)}
	p := newProvider(t, s, cfg, nil)
	_, err = p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
	if err == nil || !strings.Contains(err.Error(), pfxPath) || !strings.Contains(err.Error(), "myacr.azurecr.io") || strings.Contains(err.Error(), wrong) {
		t.Fatalf("err = %v, want one naming the certificate file and the registry, without the password", err)
	}
	if n := s.Calls(azurefake.AADToken); n != 0 {
		t.Errorf("%d AAD token calls with an unreadable certificate", n)
	}
}
