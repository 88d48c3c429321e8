package acrtoken

import (
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/providers"
)

// BenchmarkCacheHitPath is what the backend costs on every invocation, cache hits
// included: New (reading azure.json), Serves and CacheIdentity. No SDK work, no I/O
// beyond the config file.
func BenchmarkCacheHitPath(b *testing.B) {
	dir := b.TempDir()
	path := dir + "/azure.json"
	if err := writeFileB(path, `{"cloud":"AzurePublicCloud","tenantId":"t","subscriptionId":"s","resourceGroup":"rg","location":"westeurope","vmType":"vmss","useManagedIdentityExtension":true,"userAssignedIdentityID":"11111111-2222-3333-4444-555555555555"}`); err != nil {
		b.Fatal(err)
	}
	cfg := acr.Config{AzureConfig: path, RegistryMirror: "mcr.microsoft.com:myacr.azurecr.io"}
	req := providers.Request{Image: providers.Image{Host: "myacr.azurecr.io", Path: "team/app"}}
	env := envMap(nil)
	b.ReportAllocs()
	for b.Loop() {
		p, err := New(cfg, WithLookupEnv(env))
		if err != nil {
			b.Fatal(err)
		}
		if !p.Serves(req.Image) {
			b.Fatal("not served")
		}
		if id, _ := p.CacheIdentity(req); id == "" {
			b.Fatal("no identity")
		}
	}
}
