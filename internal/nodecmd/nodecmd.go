// Package nodecmd runs the commands that act on a node, install and check, for the
// binary that serves the commands for people (image-credential-provider-all). It is
// its own package so that the companions, which hand these commands over, link nothing
// they need: the kubelet config's YAML and the kubelet's own validation rules.
package nodecmd

import (
	"fmt"
	"io"

	"github.com/imagecred/image-credential-provider/internal/check"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/install"
	"github.com/imagecred/image-credential-provider/internal/plugin"
	"github.com/imagecred/image-credential-provider/providers"
)

// Run runs install or check (name) with its arguments; check builds the backends
// from backends, the ones the binary links.
func Run(name string, args []string, stdout io.Writer, backends map[string]plugin.Constructor) error {
	switch name {
	case "install":
		return install.Command(args, stdout)
	case "check":
		build := map[string]func(*config.Config) (providers.Provider, error){}
		for n, c := range backends {
			build[n] = c
		}
		return check.Command(args, stdout, plugin.ParseKubeletArgs, build)
	}
	return fmt.Errorf("unknown command %q", name)
}
