package acrtoken

import (
	"context"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

func TestServiceAccountTokenMode(t *testing.T) {
	clearManagedIdentityEnv(t)
	s := startFake(t, azurefake.Options{})
	const (
		annTenant  = "tenant-workload"
		fileTenant = "tenant-from-azure-json"
	)
	s.AddFederatedPrincipal(annTenant, "app-team-a", "system:serviceaccount:team-a:puller")
	s.AddFederatedPrincipal(fileTenant, "app-team-b", "system:serviceaccount:team-b:puller")
	s.AddUserAssignedIdentity("ua-node-fallback", "")
	// The node is configured for managed identity: SA-token mode must not care.
	azureJSON := writeFile(t, "azure.json", `{"tenantId":"`+fileTenant+`","useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-node-fallback"}`)

	tests := []struct {
		name         string
		ns, sa       string
		ann          map[string]string
		fallback     bool
		wantErr      string
		wantMethod   string
		wantClientID string
		wantTenant   string
	}{
		{name: "client and tenant annotations; the annotation tenant wins over azure.json",
			ns: "team-a", sa: "puller", ann: map[string]string{acr.ClientIDAnnotation: "app-team-a", acr.TenantIDAnnotation: annTenant},
			wantMethod: "federated", wantClientID: "app-team-a", wantTenant: annTenant},
		{name: "client annotation only: tenant from azure.json",
			ns: "team-b", sa: "puller", ann: map[string]string{acr.ClientIDAnnotation: "app-team-b"},
			wantMethod: "federated", wantClientID: "app-team-b", wantTenant: fileTenant},
		{name: "no annotations: a clear error",
			ns: "team-c", sa: "puller", ann: nil, wantErr: "without the kubernetes.azure.com/acr-client-id annotation"},
		{name: "no annotations with nodeIdentityFallback: the node identity",
			ns: "team-c", sa: "puller", ann: map[string]string{}, fallback: true,
			wantMethod: "managed_identity", wantClientID: "ua-node-fallback", wantTenant: azurefake.DefaultTenantID},
		{name: "a federated credential for another service account is refused by AAD",
			ns: "team-x", sa: "intruder", ann: map[string]string{acr.ClientIDAnnotation: "app-team-a", acr.TenantIDAnnotation: annTenant},
			wantErr: "AADSTS700213"},
		{name: "odd client id annotation",
			ns: "team-a", sa: "puller", ann: map[string]string{acr.ClientIDAnnotation: "app team a"}, wantErr: "letters, digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, s, acr.Config{AzureConfig: azureJSON, NodeIdentityFallback: tt.fallback}, nil)
			req := saRequest("myacr.azurecr.io/team/app", tt.ns, tt.sa, tt.ann)
			before := len(s.TokenRequests())
			res, err := p.Credentials(context.Background(), req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), req.ServiceAccount.Token) {
					t.Fatal("the error contains the service account token")
				}
				if !strings.Contains(err.Error(), "myacr.azurecr.io") {
					t.Fatalf("error does not name the registry: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, s, res, "myacr.azurecr.io")
			if res.Auth["myacr.azurecr.io"].Password == req.ServiceAccount.Token {
				t.Fatal("the service account token was handed out as the password")
			}
			reqs := s.TokenRequests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("token requests %+v", reqs)
			}
			if tr := reqs[0]; tr.Method != tt.wantMethod || tr.ClientID != tt.wantClientID {
				t.Errorf("token request %+v", tr)
			}
			if ex := lastExchange(t, s); ex.Tenant != tt.wantTenant {
				t.Errorf("exchange tenant %q, want %q", ex.Tenant, tt.wantTenant)
			}
		})
	}
}

func TestServiceAccountCacheIdentity(t *testing.T) {
	s := startFake(t, azurefake.Options{})
	p := newProvider(t, s, acr.Config{}, map[string]string{"AZURE_TENANT_ID": "env-tenant"})
	a1 := saRequest("myacr.azurecr.io/app", "ns", "sa", map[string]string{acr.ClientIDAnnotation: "client-1"})
	a2 := saRequest("myacr.azurecr.io/app", "ns", "sa", map[string]string{acr.ClientIDAnnotation: "client-1"}) // new token, same identity
	b := saRequest("myacr.azurecr.io/app", "ns", "sa", map[string]string{acr.ClientIDAnnotation: "client-2"})
	c := saRequest("myacr.azurecr.io/app", "ns", "sa", map[string]string{acr.ClientIDAnnotation: "client-1", acr.TenantIDAnnotation: "other-tenant"})
	node := request("myacr.azurecr.io/app")

	id := func(r providers.Request) string { k, _ := p.CacheIdentity(r); return k }
	if a2.ServiceAccount.Token == a1.ServiceAccount.Token {
		t.Fatal("test needs two different tokens")
	}
	if id(a1) != id(a2) {
		t.Error("a new token for the same service account identity changed the cache identity")
	}
	for name, other := range map[string]providers.Request{"other client id": b, "other tenant": c, "node identity": node} {
		if id(a1) == id(other) {
			t.Errorf("%s: same cache identity %q", name, id(a1))
		}
	}
	for _, r := range []providers.Request{a1, b, c} {
		if k := id(r); strings.Contains(k, r.ServiceAccount.Token) {
			t.Errorf("cache identity contains the token: %q", k)
		}
	}
	if k := id(a1); !strings.Contains(k, "client=client-1") || !strings.Contains(k, "tenant=env-tenant") {
		t.Errorf("cache identity %q lacks the client id or tenant", k)
	}
}
