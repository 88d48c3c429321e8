package plugin

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/imagecred/image-credential-provider/internal/check"
	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/install"
	"github.com/imagecred/image-credential-provider/providers"
)

// nodeCommand runs install or check, which take flags of their own.
func (b Binary) nodeCommand(name string, args []string, stdout io.Writer) error {
	switch name {
	case "install":
		return install.Command(args, stdout)
	case "check":
		build := map[string]func(*config.Config) (providers.Provider, error){}
		for n, c := range b.Backends {
			build[n] = c
		}
		return check.Command(args, stdout, parseKubeletArgs, build)
	}
	return fmt.Errorf("unknown command %q", name)
}

// parseKubeletArgs reads a provider's args as this plugin reads them in kubelet mode:
// its configuration, with the flags applied over the --config file.
func parseKubeletArgs(args []string) (*config.Config, error) {
	cfg, err := config.FromArgs(args)
	if err != nil {
		return nil, err
	}
	opts := &options{cfg: cfg}
	fs := newFlags("plugin", opts)
	pos, err := cliargs.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errors.New("they ask for the help, not for credentials")
	}
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("they run the command %q, not kubelet mode", pos[0])
	}
	return cfg, nil
}
