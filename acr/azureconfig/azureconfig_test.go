package azureconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    File
		wantErr string
	}{
		{"aks node json with unknown fields", `{
			"cloud": "AzurePublicCloud", "tenantId": "t1", "subscriptionId": "s", "resourceGroup": "rg",
			"aadClientId": "msi", "aadClientSecret": "msi", "useManagedIdentityExtension": true,
			"userAssignedIdentityID": "ua-1", "vmType": "vmss", "loadBalancerSku": "Standard"}`,
			File{Cloud: "AzurePublicCloud", TenantID: "t1", AADClientID: "msi", AADClientSecret: "msi", UseManagedIdentityExtension: true, UserAssignedIdentityID: "ua-1"}, ""},
		{"service principal with certificate", `{"tenantId":"t","aadClientId":"c","aadClientCertPath":"/etc/kubernetes/sp.pfx","aadClientCertPassword":"pw"}`,
			File{TenantID: "t", AADClientID: "c", AADClientCertPath: "/etc/kubernetes/sp.pfx", AADClientCertPassword: "pw"}, ""},
		{"workload identity", `{"aadFederatedTokenFile":"/var/run/token","useFederatedWorkloadIdentityExtension":true,"aadClientId":"c","tenantId":"t"}`,
			File{AADFederatedTokenFile: "/var/run/token", UseFederatedWorkloadIdentityExtension: true, AADClientID: "c", TenantID: "t"}, ""},
		{"yaml", "cloud: AzureChinaCloud\ntenantId: t2\naadClientId: c\naadClientSecret: s3cr3t\n",
			File{Cloud: "AzureChinaCloud", TenantID: "t2", AADClientID: "c", AADClientSecret: "s3cr3t"}, ""},
		{"empty", "  \n", File{}, ""},
		{"numbers are text", `{"aadClientId": 1234, "tenantId": "t"}`, File{AADClientID: "1234", TenantID: "t"}, ""},
		{"broken json with a secret", `{"aadClientSecret": "hunter2-very-secret", "tenantId": [`, File{}, "1:57: malformed JSON: it ends too early"},
		{"wrong type", "{\n\t\"cloud\": \"AzurePublicCloud\",\n\t\"useManagedIdentityExtension\": \"hunter2-very-secret\"\n}", File{}, "3:33: useManagedIdentityExtension: want true or false, got text"},
		{"wrong type in YAML", "useManagedIdentityExtension: hunter2-very-secret\n", File{}, "1:30: useManagedIdentityExtension: want true or false, got text"},
		{"secret of the wrong kind", `{"aadClientSecret": {"value": "hunter2-very-secret"}}`, File{}, "1:21: aadClientSecret: want text, got a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error quotes the file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "azure.json")
	if err := os.WriteFile(p, []byte(`{"tenantId":"t"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := Load(p); err != nil || f.TenantID != "t" {
		t.Fatalf("Load = %+v, %v", f, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file loaded")
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, maxFile+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestKnownCloud(t *testing.T) {
	tests := []struct {
		name       string
		wantSuffix string
		wantAuth   string
		ok         bool
	}{
		{"", "azurecr.io", "https://login.microsoftonline.com/", true},
		{"AzurePublicCloud", "azurecr.io", "https://login.microsoftonline.com/", true},
		{"azurecloud", "azurecr.io", "https://login.microsoftonline.com/", true},
		{"AzureChinaCloud", "azurecr.cn", "https://login.chinacloudapi.cn/", true},
		{" AZUREUSGOVERNMENTCLOUD ", "azurecr.us", "https://login.microsoftonline.us/", true},
		{"AzureUSGovernment", "azurecr.us", "https://login.microsoftonline.us/", true},
		{"AzureStackCloud", "", "", false},
		{"AzurePublicClod", "", "", false},
	}
	for _, tt := range tests {
		c, ok := KnownCloud(tt.name)
		if ok != tt.ok || c.RegistrySuffix != tt.wantSuffix || c.AuthorityHost != tt.wantAuth {
			t.Errorf("KnownCloud(%q) = %+v, %v", tt.name, c, ok)
		}
		if ok && c.Scope() != "https://containerregistry.azure.net/.default" {
			t.Errorf("%q scope %q", tt.name, c.Scope())
		}
	}
}

func TestParseEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		audience string
		want     Cloud
		wantErr  string
	}{
		{"azure stack", `{"name":"AzureStackCloud","activeDirectoryEndpoint":"https://login.stack.example/adfs/","containerRegistryDNSSuffix":".azurecr.stack.example","resourceManagerEndpoint":"https://management.stack.example/"}`, "",
			Cloud{Name: "AzureStackCloud", AuthorityHost: "https://login.stack.example/adfs/", Audience: DefaultAudience, RegistrySuffix: "azurecr.stack.example"}, ""},
		{"audience override and no name", `{"activeDirectoryEndpoint":"https://LOGIN.Stack.Example","containerRegistryDNSSuffix":"cr.stack.example"}`, "https://management.stack.example/",
			Cloud{Name: "AzureStackCloud", AuthorityHost: "https://login.stack.example/", Audience: "https://management.stack.example/", RegistrySuffix: "cr.stack.example"}, ""},
		{"no registry suffix", `{"activeDirectoryEndpoint":"https://login.stack.example/"}`, "",
			Cloud{Name: "AzureStackCloud", AuthorityHost: "https://login.stack.example/", Audience: DefaultAudience}, ""},
		{"http authority", `{"activeDirectoryEndpoint":"http://login.stack.example/"}`, "", Cloud{}, "not https"},
		{"no authority", `{"containerRegistryDNSSuffix":"x.example"}`, "", Cloud{}, "no activeDirectoryEndpoint"},
		{"bad suffix", `{"activeDirectoryEndpoint":"https://l.example/","containerRegistryDNSSuffix":"bad_suffix.example"}`, "", Cloud{}, "invalid label"},
		{"single label suffix", `{"activeDirectoryEndpoint":"https://l.example/","containerRegistryDNSSuffix":"local"}`, "", Cloud{}, "two labels"},
		{"not json", `{"name": "x",`, "", Cloud{}, "1:14: malformed JSON: it ends too early"},
		{"wrong type", "{\n  \"activeDirectoryEndpoint\": [\"https://l.example/\"]\n}", "", Cloud{}, "2:30: activeDirectoryEndpoint: want text, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvironment([]byte(tt.in), tt.audience)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"cloud":"AzurePublicCloud","useManagedIdentityExtension":true}`))
	f.Add([]byte("cloud: x\n"))
	f.Add([]byte(`{"aadClientSecret":"s3cr3t-fuzz",`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(data)
		if err != nil && strings.Contains(string(data), "s3cr3t-fuzz") && strings.Contains(err.Error(), "s3cr3t-fuzz") {
			t.Fatalf("error quotes a secret: %v", err)
		}
	})
}

func FuzzParseEnvironment(f *testing.F) {
	f.Add([]byte(`{"activeDirectoryEndpoint":"https://l.example/","containerRegistryDNSSuffix":"cr.example"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseEnvironment(data, "")
		if err != nil {
			return
		}
		if !strings.HasPrefix(c.AuthorityHost, "https://") || !strings.HasSuffix(c.AuthorityHost, "/") {
			t.Fatalf("authority %q", c.AuthorityHost)
		}
		if c.RegistrySuffix != "" {
			if s, err := NormalizeSuffix(c.RegistrySuffix); err != nil || s != c.RegistrySuffix {
				t.Fatalf("suffix %q not normalized", c.RegistrySuffix)
			}
		}
	})
}
