package acr

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// DropIn is what the anchor's command line (kubernetes-sigs/cloud-provider-azure
// cmd/acr-credential-provider) says, translated.
type DropIn struct {
	Config Config
	// Verbosity is the klog level from -v/--v (0 when absent).
	Verbosity int
}

// DropInConfig turns the anchor's arguments ("acr-credential-provider
// /etc/kubernetes/azure.json --registry-mirror mcr.microsoft.com:myacr.azurecr.io
// -v 2") into a Config. See ParseDropIn.
func DropInConfig(args []string) (Config, error) {
	d, err := ParseDropIn(args)
	return d.Config, err
}

// ParseDropIn parses the anchor's arguments: exactly one positional argument (the
// azure.json path); --registry-mirror/-r SRC:DST[,SRC:DST]; the logging flags
// -v/--v N, --vmodule, --log-flush-frequency and the --logging-format family
// (accepted, only -v is kept). Flags take "--name value", "--name=value" and, for
// -r and -v, "-r value". The identity-binding flags (--ib-*) are refused: that
// AKS preview mechanism is not supported. -h/--help returns flag.ErrHelp.
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
			return d, errors.New("flag --version is not handled by DropInConfig")
		default:
			if strings.HasPrefix(name, "ib-") {
				return d, fmt.Errorf("flag --%s: identity bindings are not supported by this provider", name)
			}
			return d, fmt.Errorf("unknown flag %s", a)
		}
	}
	switch len(positional) {
	case 0:
		return d, errors.New("the azure.json path argument is missing (acr-credential-provider CONFIG_FILE)")
	case 1:
		d.Config.AzureConfig = positional[0]
	default:
		return d, fmt.Errorf("expected exactly one argument (the azure.json path), got %d", len(positional))
	}
	return d, nil
}
