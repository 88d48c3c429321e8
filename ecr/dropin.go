package ecr

import (
	"flag"
	"fmt"
	"strings"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/quote"
)

// DropInConfig turns the command line of ecr-credential-provider (the AWS plugin of
// kubernetes/cloud-provider-aws, a cobra command with no flags of its own) into a
// Config, so a kubelet CredentialProviderConfig written for it works unchanged. That
// plugin ignores positional arguments and knows only -h/--help; so does this:
// positional arguments are ignored (kubelet configs usually pass none), -h/--help
// returns flag.ErrHelp, --version returns cliargs.ErrVersion, and any other flag is an
// error, as it is for ecr-credential-provider. Everything else comes from the
// environment the kubelet passes (AWS_* variables, AWS_ECR_ROLE_ARN), exactly as for
// ecr-credential-provider.
func DropInConfig(args []string) (Config, error) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		switch name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name {
		case "h", "help":
			return Config{}, flag.ErrHelp
		case "version":
			return Config{}, cliargs.ErrVersion
		default:
			return Config{}, fmt.Errorf("unknown flag %s: ecr-credential-provider takes no flags; it is configured through the environment (AWS_* variables, AWS_ECR_ROLE_ARN)", quote.String(a))
		}
	}
	return Config{}, nil
}

// DropInUsage is the help printed under the name prog of the Amazon ECR credential
// provider.
func DropInUsage(prog string) string {
	return prog + ` is image-credential-provider, installed under the name of the
Amazon ECR credential provider so that a kubelet configuration written for that plugin
works unchanged. It answers the kubelet's requests for Amazon ECR and ECR Public images
with the node's AWS credentials, or, for a service account annotated
eks.amazonaws.com/ecr-role-arn (or with AWS_ECR_ROLE_ARN set), with that role, assumed
with the pod's token.

Usage:
  ` + prog + ` [flags]     a CredentialProviderRequest on stdin, the response on stdout

Flags:
  -h, --help      print this help
      --version   print the version

Settings come from the environment the kubelet passes (AWS_* variables, AWS_ECR_ROLE_ARN).
To see what the kubelet would get for an image: image-credential-provider get IMAGE
`
}
