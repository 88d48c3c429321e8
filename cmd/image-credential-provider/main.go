// Command image-credential-provider is a kubelet image credential provider plugin that
// serves static docker config.json credentials, Amazon ECR, Google Container/Artifact
// Registry and Azure Container Registry from one binary.
//
// Run with no subcommand, it speaks the kubelet's protocol: one CredentialProviderRequest
// on stdin, one CredentialProviderResponse on stdout. The subcommands are for people:
// `get IMAGE` shows what the kubelet would receive, `cache list|purge` manage the token
// cache, `version` prints the build.
package main

import "os"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
