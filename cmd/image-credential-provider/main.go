// Command image-credential-provider is a kubelet image credential provider plugin that
// serves static docker config.json credentials, Amazon ECR, Google Container/Artifact
// Registry and Azure Container Registry.
//
// This is the binary the kubelet's CredentialProviderConfig names. It replays answers
// recorded on disk and hands everything else to its companions, installed beside it:
// image-credential-provider-ecr, -gcr, -acr and -all (see internal/frontend).
package main

import (
	"os"

	"github.com/imagecred/image-credential-provider/internal/frontend"
)

func main() {
	os.Exit(frontend.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
