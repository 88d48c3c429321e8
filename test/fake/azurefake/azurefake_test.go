package azurefake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func clientOptions(s *Server, authority string) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}},
		Transport: s.Client(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

var acrScope = []string{DefaultAudience + "/.default"}

// The fake speaks what azidentity expects: tenant discovery, instance discovery on
// a trusted host, client secrets, certificates and federated assertions.
func TestAzidentityCredentialsAgainstFake(t *testing.T) {
	s := start(t, Options{})
	s.AddSecretPrincipal("tenant-a", "sp-secret", "s3cr3t-value")
	certPEM, cert, err := NewClientCertificate("sp-cert")
	if err != nil {
		t.Fatal(err)
	}
	s.AddCertificatePrincipal("tenant-a", "sp-cert", cert)
	s.AddFederatedPrincipal("tenant-b", "app-fed", "system:serviceaccount:team:puller")
	saToken := ServiceAccountToken("team", "puller", "uid-1", FederatedAudience)
	wrongAud := ServiceAccountToken("team", "puller", "uid-1", "other")

	certs, key, err := azidentity.ParseCertificates(certPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	assert := func(tok string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return tok, nil }
	}

	tests := []struct {
		name      string
		authority string
		cred      func(o azcore.ClientOptions, noDiscovery bool) (azcore.TokenCredential, error)
		method    string
		wantErr   string
	}{
		{"secret, trusted host with instance discovery", "https://login.microsoftonline.com/", func(o azcore.ClientOptions, nd bool) (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential("tenant-a", "sp-secret", "s3cr3t-value", &azidentity.ClientSecretCredentialOptions{ClientOptions: o, DisableInstanceDiscovery: nd})
		}, "client_secret", ""},
		{"wrong secret", "https://login.microsoftonline.com/", func(o azcore.ClientOptions, nd bool) (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential("tenant-a", "sp-secret", "wrong", &azidentity.ClientSecretCredentialOptions{ClientOptions: o, DisableInstanceDiscovery: nd})
		}, "client_secret", "AADSTS7000215"},
		{"certificate, custom authority", "https://login.fake-stack.example/", func(o azcore.ClientOptions, nd bool) (azcore.TokenCredential, error) {
			return azidentity.NewClientCertificateCredential("tenant-a", "sp-cert", certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: o, DisableInstanceDiscovery: nd})
		}, "client_certificate", ""},
		{"federated service account token", "https://login.microsoftonline.com/", func(o azcore.ClientOptions, nd bool) (azcore.TokenCredential, error) {
			return azidentity.NewClientAssertionCredential("tenant-b", "app-fed", assert(saToken), &azidentity.ClientAssertionCredentialOptions{ClientOptions: o, DisableInstanceDiscovery: nd})
		}, "federated", ""},
		{"federated token with wrong audience", "https://login.microsoftonline.com/", func(o azcore.ClientOptions, nd bool) (azcore.TokenCredential, error) {
			return azidentity.NewClientAssertionCredential("tenant-b", "app-fed", assert(wrongAud), &azidentity.ClientAssertionCredentialOptions{ClientOptions: o, DisableInstanceDiscovery: nd})
		}, "federated", "AADSTS700212"},
		{"unknown tenant", "https://login.microsoftonline.com/", func(o azcore.ClientOptions, nd bool) (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential("tenant-zzz", "sp-secret", "s3cr3t-value", &azidentity.ClientSecretCredentialOptions{ClientOptions: o, DisableInstanceDiscovery: nd})
		}, "", "AADSTS90002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Instance discovery is only safe on a trusted host: MSAL sends it to
			// login.microsoftonline.com for any other.
			noDiscovery := !strings.Contains(tt.authority, "microsoftonline.com")
			cred, err := tt.cred(clientOptions(s, tt.authority), noDiscovery)
			if err != nil {
				t.Fatal(err)
			}
			before := len(s.TokenRequests())
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: acrScope})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := s.TokenRequests()[before:]
			if len(reqs) != 1 || reqs[0].Method != tt.method || reqs[0].Audience != DefaultAudience {
				t.Fatalf("token requests %+v", reqs)
			}
			u, _ := url.Parse(tt.authority)
			if reqs[0].Host != u.Host {
				t.Errorf("token request went to %s, want %s", reqs[0].Host, u.Host)
			}
			if tok.Token == "" || time.Until(tok.ExpiresOn) < 50*time.Minute {
				t.Errorf("token %+v", tok)
			}
		})
	}
	if s.Calls(InstanceDiscovery) == 0 {
		t.Error("instance discovery was never asked")
	}
}

func TestManagedIdentityIMDSAndAppService(t *testing.T) {
	s := start(t, Options{})
	s.AddUserAssignedIdentity("ua-client", "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua")
	tests := []struct {
		name       string
		appService bool
		id         azidentity.ManagedIDKind
		wantEP     Endpoint
		wantErr    bool
	}{
		{"imds system", false, nil, IMDS, false},
		{"imds user client id", false, azidentity.ClientID("ua-client"), IMDS, false},
		{"imds user resource id", false, azidentity.ResourceID("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua"), IMDS, false},
		{"imds unknown identity", false, azidentity.ClientID("nope"), IMDS, true},
		{"app service system", true, nil, AppService, false},
		{"app service user client id", true, azidentity.ClientID("ua-client"), AppService, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// MSAL keeps managed identity tokens in a process-wide cache keyed by
			// identity and resource: a resource per case keeps cases independent.
			scope := []string{fmt.Sprintf("https://aud-%d.example/.default", i)}
			if tt.appService {
				t.Setenv("IDENTITY_ENDPOINT", s.AppServiceEndpoint())
				t.Setenv("IDENTITY_HEADER", s.IdentityHeader)
			} else {
				t.Setenv("IDENTITY_ENDPOINT", "")
				t.Setenv("IDENTITY_HEADER", "")
			}
			o := clientOptions(s, "https://login.microsoftonline.com/")
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: o, ID: tt.id})
			if err != nil {
				t.Fatal(err)
			}
			before := s.Calls(tt.wantEP)
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: scope})
			if s.Calls(tt.wantEP) != before+1 {
				t.Fatalf("%s calls %d → %d", tt.wantEP, before, s.Calls(tt.wantEP))
			}
			if tt.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.Token == "" || time.Until(tok.ExpiresOn) < 50*time.Minute {
				t.Errorf("token %+v", tok)
			}
		})
	}
}

// The ACR side: challenge, exchange, refresh → access, and /v2/ accepting the result.
func TestRegistryTokenFlow(t *testing.T) {
	s := start(t, Options{})
	c := s.Client()
	aad, _ := s.issueAAD(DefaultTenantID, SystemAssignedClientID, "managed_identity", DefaultAudience)
	wrongAud, _ := s.issueAAD(DefaultTenantID, SystemAssignedClientID, "managed_identity", "https://management.azure.com")
	const reg = "myacr.azurecr.io"

	resp, err := c.Get("https://" + reg + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="https://myacr.azurecr.io/oauth2/token",service="myacr.azurecr.io"` {
		t.Fatalf("challenge %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	exchange := func(token, service, tenant string) (int, map[string]any) {
		form := url.Values{"grant_type": {"access_token"}, "service": {service}, "access_token": {token}}
		if tenant != "" {
			form.Set("tenant", tenant)
		}
		resp, err := c.PostForm("https://"+reg+"/oauth2/exchange", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	for _, tt := range []struct {
		name, token, service, tenant string
		want                         int
	}{
		{"unknown token", "made-up", reg, "", 401},
		{"ARM audience", wrongAud, reg, "", 401},
		{"wrong tenant", aad, reg, "other-tenant", 401},
		{"wrong service", aad, "other.azurecr.io", "", 400},
	} {
		if got, _ := exchange(tt.token, tt.service, tt.tenant); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	status, body := exchange(aad, reg, DefaultTenantID)
	rt, _ := body["refresh_token"].(string)
	if status != 200 || rt == "" {
		t.Fatalf("exchange %d %v", status, body)
	}
	if err := s.ValidateRefreshToken(rt); err != nil {
		t.Fatal(err)
	}
	if err := s.ValidateRefreshToken("nope"); err == nil {
		t.Fatal("unknown refresh token validated")
	}

	// Docker-style token request with basic auth, then /v2/ with the bearer.
	req, _ := http.NewRequest("GET", "https://"+reg+"/oauth2/token?service="+reg+"&scope=repository:app:pull", nil)
	req.SetBasicAuth(RefreshTokenUsername, rt)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var at struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&at)
	resp.Body.Close()
	if resp.StatusCode != 200 || at.AccessToken == "" {
		t.Fatalf("token %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", "https://"+reg+"/v2/", nil)
	req.Header.Set("Authorization", "Bearer "+at.AccessToken)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("authorized /v2/ status %d", resp.StatusCode)
	}
	// The refresh token is bound to its registry.
	resp, err = c.PostForm("https://other.azurecr.io/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "service": {"other.azurecr.io"}, "scope": {"repository:app:pull"}, "refresh_token": {rt}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("refresh token used on another registry: status %d", resp.StatusCode)
	}
}

func TestKnobs(t *testing.T) {
	s := start(t, Options{})
	c := s.Client()
	aad, _ := s.issueAAD(DefaultTenantID, SystemAssignedClientID, "managed_identity", DefaultAudience)
	post := func() (int, string) {
		resp, err := c.PostForm("https://r.azurecr.io/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"r.azurecr.io"}, "access_token": {aad}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	s.FailNext(Exchange, 2, 503)
	for i := 0; i < 2; i++ {
		if st, _ := post(); st != 503 {
			t.Fatalf("try %d: status %d, want 503", i, st)
		}
	}
	for _, tt := range []struct {
		shape RefreshTokenShape
		check func(string) bool
	}{
		{RefreshJWT, func(b string) bool { return strings.Count(b, ".") >= 2 }},
		{RefreshMissing, func(b string) bool { return !strings.Contains(b, "refresh_token") }},
		{RefreshEmpty, func(b string) bool { return strings.Contains(b, `"refresh_token":""`) }},
		{RefreshOpaque, func(b string) bool { return strings.Contains(b, "opaque-refresh-") }},
	} {
		s.SetRefreshTokenShape(tt.shape)
		st, body := post()
		if st != 200 || !tt.check(body) {
			t.Errorf("shape %d: %d %s", tt.shape, st, body)
		}
	}
	if got := s.Calls(Exchange); got != 6 {
		t.Errorf("exchange calls %d, want 6", got)
	}

	s.Hang(IMDS, true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://169.254.169.254/metadata/identity/oauth2/token?resource=x", nil)
	req.Header.Set("Metadata", "true")
	start := time.Now()
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("hung endpoint answered")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("hang outlived the client deadline: %v", d)
	}
}

func TestThrottleAndExpire(t *testing.T) {
	s := start(t, Options{})
	c := s.Client()
	s.Throttle(Challenge, 1, 2*time.Second)
	resp, err := c.Get("https://r.azurecr.io/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	aad, _ := s.issueAAD(DefaultTenantID, SystemAssignedClientID, "managed_identity", DefaultAudience)
	resp, err = c.PostForm("https://r.azurecr.io/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"r.azurecr.io"}, "access_token": {aad}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err := s.ValidateRefreshToken(body.RefreshToken); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	if err := s.ValidateRefreshToken(body.RefreshToken); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	resp, err = c.PostForm("https://r.azurecr.io/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {"r.azurecr.io"}, "access_token": {aad}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("expired AAD token exchanged: status %d", resp.StatusCode)
	}
}
