// Command image-credential-provider-all links every backend: it answers kubelet
// requests for any image (those the front end sends no companion, and images several
// clouds serve), serves the drop-in names, and runs the commands for people (get,
// cache, install, check). image-credential-provider hands it those; run it by that name.
package main

import (
	"os"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/acrtoken"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/ecr/ecrtoken"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/gcr/gcrtoken"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/nodecmd"
	"github.com/imagecred/image-credential-provider/internal/plugin"
	"github.com/imagecred/image-credential-provider/providers"
)

func main() {
	os.Exit(plugin.Main(plugin.Binary{
		Name: binaries.All,
		Backends: map[string]plugin.Constructor{
			ecr.Name: func(cfg *config.Config) (providers.Provider, error) { return ecrtoken.New(cfg.ECR) },
			gcr.Name: func(cfg *config.Config) (providers.Provider, error) { return gcrtoken.New(cfg.GCR) },
			acr.Name: func(cfg *config.Config) (providers.Provider, error) { return acrtoken.New(cfg.ACR) },
		},
		Commands:     true,
		NodeCommands: nodecmd.Run,
	}, os.Args, os.Stdin, os.Stdout, os.Stderr))
}
