// Command image-credential-provider-gcr answers kubelet credential requests for
// Google Container Registry and Artifact Registry and the static docker config.json
// backend. The front end, image-credential-provider, hands it the requests for Google
// images; it takes the same arguments and configuration, and the name
// auth-provider-gcp.
package main

import (
	"os"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/gcr/gcrtoken"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/plugin"
	"github.com/imagecred/image-credential-provider/providers"
)

func main() {
	os.Exit(plugin.Main(plugin.Binary{
		Name: binaries.Companion(gcr.Name),
		Backends: map[string]plugin.Constructor{
			gcr.Name: func(cfg *config.Config) (providers.Provider, error) { return gcrtoken.New(cfg.GCR) },
		},
	}, os.Args, os.Stdin, os.Stdout, os.Stderr))
}
