package check

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/providers"
)

// Usage is the command's help, before its flags.
const Usage = `Usage: image-credential-provider check [--kubelet-config FILE] [--bin-dir DIR] [-o json] [IMAGE...]

What will the kubelet do on this node? In the kubelet's order, one line per finding,
each ok, warn or fail:
  1. its credential provider configuration, read and validated as the kubelet does,
     each error with its file and field path;
  2. each provider's binary in the bin dir, executable by the kubelet's user;
  3. for this plugin's providers: their args and env give a valid configuration, and
     their matchImages reach every registry host family the enabled backends serve,
     name none they do not, and no provider before them matches the same images;
  4. for each IMAGE (default: one per enabled backend): the providers the kubelet runs
     for it, and this plugin run exactly as the kubelet runs it (its args, env,
     working directory, apiVersion, request on stdin, one-minute limit), with the
     backends and identities used, the keys, cacheKeyType and cacheDuration
     (passwords masked).
The two paths default to the running kubelet's flags. Exit status 0 when nothing
fails, 1 with the failures listed last. It changes nothing.

Flags:
`

// Failed is the error of a check that found failures.
type Failed int

func (f Failed) Error() string { return fmt.Sprintf("check: %d failed (listed last)", int(f)) }

// Command runs `check` with args (the arguments after the command word), writing the
// report to stdout. It returns Failed when something fails, flag.ErrHelp when the
// help was printed. parse reads a provider's args as the plugin does; build, when
// set, builds the token backends to name their identities.
func Command(args []string, stdout io.Writer, parse func([]string) (*config.Config, error), build map[string]func(*config.Config) (providers.Provider, error)) error {
	o := Options{ParseArgs: parse, Backends: build}
	var output string
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.KubeletConfig, "kubelet-config", "", "the kubelet's --image-credential-provider-config, a file or a directory (default: the running kubelet's; needed on Windows, where it is not read)")
	fs.StringVar(&o.BinDir, "bin-dir", "", "the kubelet's --image-credential-provider-bin-dir (default: the running kubelet's; needed on Windows, where it is not read)")
	fs.StringVar(&output, "o", "text", "output format: text or json")
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "limit on each plugin run (the kubelet's is one minute)")
	fs.StringVar(&o.Proc, "proc", "/proc", "where to find the running kubelet's process (not read on Windows)")
	pos, err := cliargs.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, Usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		return fmt.Errorf("check: %v (see check --help)", err)
	}
	if output != "text" && output != "json" {
		return fmt.Errorf("check: unknown output format %q: want text or json", output)
	}
	o.Images = pos
	r := Run(o)
	if output == "json" {
		if err := r.WriteJSON(stdout); err != nil {
			return err
		}
	} else {
		r.WriteText(stdout)
	}
	if n := r.Failed(); n > 0 {
		return Failed(n)
	}
	return nil
}
