package acr

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/quote"
)

// DropIn is what acr-credential-provider's command line (the Azure plugin of
// kubernetes-sigs/cloud-provider-azure) says, translated.
type DropIn struct {
	Config Config
	// Verbosity is the klog level from -v/--v (0 when absent).
	Verbosity int
}

// DropInConfig turns the Azure plugin's arguments ("acr-credential-provider
// /etc/kubernetes/azure.json --registry-mirror mcr.microsoft.com:myacr.azurecr.io
// -v 2") into a Config. See ParseDropIn.
func DropInConfig(args []string) (Config, error) {
	d, err := ParseDropIn(args)
	return d.Config, err
}

// ParseDropIn parses acr-credential-provider's arguments: exactly one positional argument (the
// azure.json path); --registry-mirror/-r SRC:DST[,SRC:DST]; the logging flags
// -v/--v N, --vmodule, --log-flush-frequency and the --logging-format family
// (accepted, only -v is kept). Flags take "--name value", "--name=value" and, for
// -r and -v, "-r value". The identity-binding flags (--ib-*) are refused: that
// AKS preview mechanism is not supported. -h/--help returns flag.ErrHelp, --version
// cliargs.ErrVersion.
func ParseDropIn(args []string) (DropIn, error) {
	var d DropIn
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takeValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "h", "help":
			return d, flag.ErrHelp
		case "registry-mirror", "r":
			v, err := takeValue()
			if err != nil {
				return d, err
			}
			if _, err := ParseRegistryMirror(v); err != nil {
				return d, err
			}
			d.Config.RegistryMirror = v
		case "v":
			v, err := takeValue()
			if err != nil {
				return d, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return d, fmt.Errorf("flag -v: %q is not a verbosity level", v)
			}
			d.Verbosity = n
		case "vmodule", "log-flush-frequency", "logging-format", "log-json-info-buffer-size", "log-text-info-buffer-size":
			if _, err := takeValue(); err != nil {
				return d, err
			}
		case "log-json-split-stream", "log-text-split-stream":
			// booleans: a value only in the --name=value form
		case "version":
			return d, cliargs.ErrVersion
		default:
			if strings.HasPrefix(name, "ib-") {
				return d, fmt.Errorf("flag --%s: identity bindings are not supported by this provider", name)
			}
			return d, fmt.Errorf("unknown flag %s", quote.String(a))
		}
	}
	switch len(positional) {
	case 0:
		return d, errors.New("the azure.json path argument is missing: acr-credential-provider AZURE_JSON [flags]")
	case 1:
		d.Config.AzureConfig = positional[0]
	default:
		return d, fmt.Errorf("expected exactly one argument (the azure.json path), got %d", len(positional))
	}
	return d, nil
}

// DropInUsage is the help printed under the name prog of the Azure Container Registry
// credential provider.
func DropInUsage(prog string) string {
	return prog + ` is image-credential-provider, installed under the name of the
Azure Container Registry credential provider so that a kubelet configuration written for
that plugin works unchanged. It answers the kubelet's requests for Azure Container Registry images
with the identity azure.json names (a managed identity, workload identity or service
principal), or, for a service account annotated ` + ClientIDAnnotation + `,
that application, with the pod's token.

Usage:
  ` + prog + ` AZURE_JSON [flags]     a CredentialProviderRequest on stdin, the response on stdout

Flags:
  -r, --registry-mirror SRC:DST[,SRC:DST]  images of registry SRC get the credentials of the ACR
                                           registry DST (hosts without ports)
  -v, --v N                                log verbosity (1: one line per request; 2: each
                                           decision; 4: the shape of each exchange)
  -h, --help                               print this help
      --version                            print the version

--vmodule, --log-flush-frequency and the --logging-format flags are accepted and
ignored; the identity-binding flags (--ib-*) are not supported.
To see what the kubelet would get for an image: image-credential-provider get IMAGE
`
}
