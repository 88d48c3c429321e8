// Package plugin is the plugin itself, as every binary but the front end runs it: the
// configuration and flags, kubelet mode (one CredentialProviderRequest on stdin, one
// CredentialProviderResponse on stdout), the drop-in modes, and the commands for people.
//
// A binary links the static backend and some cloud backends (see Binary). In kubelet
// mode it works out, from the configuration alone and without any SDK, which enabled
// backends serve the image; when one of them is not linked in, it hands the request to
// the binary that links every backend, installed beside it (internal/handoff), so that
// the answer never depends on which binary the front end picked. Only the backends
// that serve the image are built.
package plugin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/tty"
	"github.com/imagecred/image-credential-provider/internal/version"
	"github.com/imagecred/image-credential-provider/providers"
)

// Constructor builds a backend from the configuration.
type Constructor func(cfg *config.Config) (providers.Provider, error)

// Binary describes the executable that runs the plugin.
type Binary struct {
	// Name is the binary's own name (binaries.All, binaries.Companion("ecr"), ...).
	Name string
	// Backends builds the cloud backends this binary links, by backend name. The static
	// backend is always linked.
	Backends map[string]Constructor
	// Commands is set in the binary that serves the commands for people (get, cache,
	// install, check); the others hand them to it.
	Commands bool
	// NodeCommands runs install and check in that binary (internal/nodecmd.Run). It is
	// passed in rather than called from here so that the binaries that hand the
	// commands over do not link what those need.
	NodeCommands NodeCommands
}

const usage = `image-credential-provider: a kubelet image credential provider for static docker
config.json credentials, Amazon ECR, Google Container/Artifact Registry and Azure
Container Registry.

Usage:
  image-credential-provider [flags]                 kubelet mode: CredentialProviderRequest on stdin,
                                                    CredentialProviderResponse on stdout
  image-credential-provider get IMAGE [flags]       show the credentials the kubelet would get
  image-credential-provider cache list|purge        show or empty the on-disk token cache
  image-credential-provider install [flags]         put the plugin on this node and into the kubelet's
                                                    config (see install --help)
  image-credential-provider check [flags] [IMAGE...]  what will the kubelet do on this node?
                                                    (see check --help)
  image-credential-provider version                 print the version

Examples:
  # What would the kubelet get for this image? (passwords masked)
  image-credential-provider --dockercfg examples/dockercfg/config.json get my-registry.example/images/app:1.0

  # The exact kubelet response, secrets included
  image-credential-provider get -o json --show-secrets 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app

  # Speak the kubelet protocol by hand
  echo '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"gcr.io/p/app"}' \
    | image-credential-provider --config /etc/kubernetes/image-credential-provider.yaml

Flags:
`

// Main runs the plugin as binary b with argv args and returns the exit code.
func Main(b Binary, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	prog := binaries.Name(args[0])
	routeStandardLog()
	if err := b.run(prog, args[1:], stdin, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var code exitCode
		if errors.As(err, &code) {
			klog.Flush()
			return int(code)
		}
		klog.Flush()
		fmt.Fprintf(stderr, "%s: %s\n", prog, oneLine(err.Error()))
		return 1
	}
	klog.Flush()
	return 0
}

// oneLine keeps an error on one line, as the kubelet logs it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

type options struct {
	cfg *config.Config
	// args are the command-line arguments (argv[0] excluded) in kubelet mode, for the
	// fingerprint of recorded answers and for hand-overs.
	args []string
	// dropIn is the single-cloud plugin's name the binary serves as, "" for its own;
	// args are then in that plugin's syntax.
	dropIn      string
	output      string
	showSecrets bool
	// cache is the token cache, opened on first use, once per invocation.
	cache *lazyCache
	// prog is the name the binary was invoked under.
	prog string
	// saTokenFile and saAnnotations make get ask as a service account would.
	saTokenFile   string
	saAnnotations map[string]string
}

func (b Binary) run(prog string, args []string, stdin io.Reader, stdout io.Writer) error {
	if backend, ok := binaries.DropIn(prog); ok {
		return b.runDropIn(prog, backend, args, stdin, stdout)
	}
	if len(args) > 0 && (args[0] == "install" || args[0] == "check") {
		if !b.Commands {
			return b.handOverCommand(prog, args)
		}
		if b.NodeCommands == nil {
			return fmt.Errorf("%s was built without %s", b.Name, args[0])
		}
		return b.NodeCommands(args[0], args[1:], stdout, b.Backends)
	}
	cfg, err := config.FromArgs(args)
	if err != nil {
		return err
	}
	opts := &options{cfg: cfg, args: args, cache: &lazyCache{cfg: cfg}, prog: prog}
	fs := newFlags(prog, opts)

	pos, err := cliargs.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return printHelp(fs, stdout)
	}
	if err != nil {
		return fmt.Errorf("%v (see --help)", err)
	}
	logConfig(cfg)
	if len(pos) == 0 {
		return b.kubeletMode(opts, stdin, stdout)
	}
	switch pos[0] {
	case "version":
		fmt.Fprintln(stdout, version.Line(prog))
		return nil
	case "help":
		return printHelp(fs, stdout)
	}
	if !b.Commands {
		return b.handOverCommand(prog, args)
	}
	switch pos[0] {
	case "get":
		if len(pos) != 2 {
			return errors.New("get takes exactly one image, e.g. `get gcr.io/project/app:1.0` (see --help)")
		}
		return b.getCmd(opts, pos[1], stdout)
	case "cache":
		if len(pos) != 2 {
			return errors.New("cache takes list or purge (see --help)")
		}
		return cacheCmd(opts, pos[1], stdout)
	default:
		return fmt.Errorf("unknown command %q: want get, cache, check, install, version, or no command for kubelet mode (see --help)", pos[0])
	}
}

// newFlags binds the plugin's flags to opts (whose configuration was loaded from the
// --config file, so that flags override it).
func newFlags(prog string, opts *options) *flag.FlagSet {
	cfg := opts.cfg
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.String("config", cfg.Path, "YAML config file (kind "+config.Kind+"); flags override it")
	fs.StringVar(&opts.output, "o", "table", "get: output format, table or json (the exact kubelet response)")
	fs.BoolVar(&opts.showSecrets, "show-secrets", false, "get: print passwords instead of masking them")
	opts.addServiceAccountFlags(fs)
	cfg.AddFlags(fs)
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	// klog's file-output flags are of no use to a plugin; -v gets its levels' meaning.
	fs.Var(klogFlags.Lookup("v").Value, "v", "log `LEVEL` on stderr: 1 one line per request, 2 each decision, 4 the shape of each exchange; no level shows a secret (default 0: warnings and errors only)")
	fs.Var(klogFlags.Lookup("vmodule").Value, "vmodule", "per-file log levels, comma-separated `FILE=LEVEL` settings")
	return fs
}

func printHelp(fs *flag.FlagSet, stdout io.Writer) error {
	fmt.Fprint(stdout, usage)
	fs.SetOutput(stdout)
	fs.PrintDefaults()
	return flag.ErrHelp
}

// isTerminal reports whether r is a terminal, where no kubelet request will come from.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && tty.IsTerminal(f)
}
