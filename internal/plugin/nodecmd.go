package plugin

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/config"
)

// NodeCommands runs a command that acts on the node (install or check) with the
// backends the binary links; internal/nodecmd.Run is the one.
type NodeCommands func(name string, args []string, stdout io.Writer, backends map[string]Constructor) error

// ParseKubeletArgs reads a provider's args as this plugin reads them in kubelet mode:
// its configuration, with the flags applied over the --config file.
func ParseKubeletArgs(args []string) (*config.Config, error) {
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
