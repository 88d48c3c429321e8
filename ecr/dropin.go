package ecr

import (
	"flag"
	"fmt"
	"strings"
)

// DropInConfig turns the command line of the anchor (kubernetes/cloud-provider-aws
// cmd/ecr-credential-provider, a cobra command with no flags of its own) into a Config,
// so a kubelet CredentialProviderConfig written for it works unchanged. The anchor
// ignores positional arguments and knows only -h/--help; so does this: positional
// arguments are ignored (kubelet configs usually pass none), -h/--help returns
// flag.ErrHelp, and any other flag is an error, as it is for the anchor. Everything
// else comes from the environment the kubelet passes (AWS_* variables, AWS_ECR_ROLE_ARN),
// exactly as for the anchor.
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
		default:
			return Config{}, fmt.Errorf("unknown flag %s (ecr-credential-provider takes no flags; configure it through AWS_* environment variables)", a)
		}
	}
	return Config{}, nil
}
