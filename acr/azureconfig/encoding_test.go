package azureconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files saved on Windows: azure.json (JSON or YAML) and the environment file read the
// same with CRLF line ends and a UTF-8 byte order mark.
func TestWindowsFileEncodings(t *testing.T) {
	encodings := []struct {
		name   string
		encode func(string) string
	}{
		{"LF", func(s string) string { return s }},
		{"CRLF", crlf},
		{"BOM", func(s string) string { return "\xef\xbb\xbf" + s }},
		{"BOM and CRLF", func(s string) string { return "\xef\xbb\xbf" + crlf(s) }},
	}
	const jsonFile = "{\n  \"cloud\": \"AzureChinaCloud\",\n  \"tenantId\": \"t\",\n  \"useManagedIdentityExtension\": true\n}\n"
	const yamlFile = "cloud: AzureChinaCloud\ntenantId: t\nuseManagedIdentityExtension: true\n"
	const envFile = "{\n  \"name\": \"AzureStackCloud\",\n  \"activeDirectoryEndpoint\": \"https://login.stack.example/\",\n  \"containerRegistryDNSSuffix\": \"azurecr.stack.example\"\n}\n"
	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, content := range []string{jsonFile, yamlFile} {
				p := filepath.Join(dir, "azure.json")
				if err := os.WriteFile(p, []byte(enc.encode(content)), 0o600); err != nil {
					t.Fatal(err)
				}
				f, err := Load(p)
				if err != nil || f.Cloud != "AzureChinaCloud" || f.TenantID != "t" || !f.UseManagedIdentityExtension {
					t.Fatalf("Load(%q) = %+v, %v", enc.encode(content), f, err)
				}
			}
			p := filepath.Join(dir, "environment.json")
			if err := os.WriteFile(p, []byte(enc.encode(envFile)), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadEnvironment(p, "")
			if err != nil || c.AuthorityHost != "https://login.stack.example/" || c.RegistrySuffix != "azurecr.stack.example" {
				t.Fatalf("LoadEnvironment = %+v, %v", c, err)
			}
		})
	}
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
