package acrtoken

import (
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
)

// The drop-in Config builds a working provider: acr-credential-provider's azure.json and mirror.
func TestDropInConfigBuildsProvider(t *testing.T) {
	path := writeFile(t, "azure.json", `{"cloud":"AzureChinaCloud","useManagedIdentityExtension":true}`)
	cfg, err := acr.DropInConfig([]string{path, "--registry-mirror", "mcr.microsoft.com:myacr.azurecr.cn"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, WithLookupEnv(envMap(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Serves(image("mcr.microsoft.com/a")) || !p.Serves(image("x.azurecr.cn/a")) {
		t.Fatal("drop-in provider does not serve the mirror or the cloud's registries")
	}
	if p.cloud.AuthorityHost != "https://login.chinacloudapi.cn/" {
		t.Fatalf("authority %s", p.cloud.AuthorityHost)
	}
}
