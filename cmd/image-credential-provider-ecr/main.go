// Command image-credential-provider-ecr answers kubelet credential requests for
// Amazon ECR and the static docker config.json backend. The front end,
// image-credential-provider, hands it the requests for ECR images; it takes the
// same arguments and configuration, and the name ecr-credential-provider.
package main

import (
	"os"

	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/ecr/ecrtoken"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/plugin"
	"github.com/imagecred/image-credential-provider/providers"
)

func main() {
	os.Exit(plugin.Main(plugin.Binary{
		Name: binaries.Companion(ecr.Name),
		Backends: map[string]plugin.Constructor{
			ecr.Name: func(cfg *config.Config) (providers.Provider, error) { return ecrtoken.New(cfg.ECR) },
		},
	}, os.Args, os.Stdin, os.Stdout, os.Stderr))
}
