// Command image-credential-provider-acr answers kubelet credential requests for Azure
// Container Registry and the static docker config.json backend. The front end,
// image-credential-provider, hands it the requests for ACR images; it takes the same
// arguments and configuration, and the name acr-credential-provider.
package main

import (
	"os"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/acrtoken"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/plugin"
	"github.com/imagecred/image-credential-provider/providers"
)

func main() {
	os.Exit(plugin.Main(plugin.Binary{
		Name: binaries.Companion(acr.Name),
		Backends: map[string]plugin.Constructor{
			acr.Name: func(cfg *config.Config) (providers.Provider, error) { return acrtoken.New(cfg.ACR) },
		},
	}, os.Args, os.Stdin, os.Stdout, os.Stderr))
}
