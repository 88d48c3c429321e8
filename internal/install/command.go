package install

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
)

// Usage is the command's help, before its flags.
const Usage = `Usage: image-credential-provider install [flags]

Puts the plugin on this node: copies every binary of the release into the kubelet's
credential provider bin dir, the plugin's configuration into place, and writes the
plugin's provider into the kubelet's CredentialProviderConfig, with matchImages that
reach every registry host the enabled backends serve. An existing kubelet config keeps
its other providers. Every file is replaced atomically and only when it changes; a
second run changes nothing. Nothing is written when anything is invalid.

The kubelet reads its credential provider configuration at start only, and install
never restarts it: the report says whether the running kubelet uses these files, and
the flags to start it with when it does not.

Every plugin flag (--backends, --dockercfg, --ecr-role-arn, ...) given here is passed
on to the plugin in the provider's args, and decides its matchImages.

Examples:
  # What would change? (a diff; nothing is written)
  image-credential-provider install --config ./image-credential-provider.yaml --dry-run

  # From a DaemonSet pod that mounts the host at /host (hostPID to see the kubelet)
  image-credential-provider install --root /host --config /etc/icp/config.yaml \
    --file /etc/icp/docker/config.json:/etc/kubernetes/docker-config.json --stay

Flags:
`

// Command runs `install` with args (the arguments after the command word) and writes
// its report to stdout. flag.ErrHelp means the help was printed.
func Command(args []string, stdout io.Writer) error {
	var o Options
	var stay bool
	var cacheDuration, saAudience, saCacheType string
	var saRequire bool
	var copies []string
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Root, "root", "", "the node's root directory as this process sees it (e.g. /host in a container that mounts the host there; on Windows, the node's drive, whose letter the paths below lose under it); every path below is a path on the node")
	fs.StringVar(&o.BinDir, "bin-dir", "", "the kubelet's --image-credential-provider-bin-dir (default: the running kubelet's, else "+DefaultBinDir+")")
	fs.StringVar(&o.KubeletConfig, "kubelet-config", "", "the kubelet's --image-credential-provider-config, a file or a directory (default: the running kubelet's, else "+DefaultKubeletConfig+")")
	fs.StringVar(&o.ConfigSource, "config", "", "the plugin's configuration file to install (a path here, not under --root); it is checked, copied to --config-dest and named in the provider's args")
	fs.StringVar(&o.ConfigDest, "config-dest", "", "where --config is installed on the node (default "+DefaultConfigDest+")")
	fs.Func("file", "`SRC:DEST` copies SRC (a path here) to DEST on the node, mode 0600: e.g. a docker config.json from a Secret, which --dockercfg DEST names (on Windows with drives: C:\\src.json:C:\\k\\config.json); repeatable", func(s string) error {
		copies = append(copies, s)
		return nil
	})
	fs.StringVar(&o.Name, "name", binaries.FrontEnd, "the provider's name in the kubelet config, its binary in the bin dir")
	fs.StringVar(&o.APIVersion, "api-version", kubeletconfig.RequestV1, "the CredentialProviderRequest apiVersion the kubelet speaks to the plugin ("+strings.Join(kubeletconfig.RequestVersions(), ", ")+")")
	fs.StringVar(&cacheDuration, "default-cache-duration", DefaultCacheDuration.String(), "the provider's defaultCacheDuration (the plugin's answers always give their own)")
	fs.Func("match-image", "`PATTERN` is added to the generated matchImages, for registries no backend can list (a Google backend with --gcr-dockercfg-any-host); repeatable", func(s string) error {
		o.MatchImages = append(o.MatchImages, s)
		return nil
	})
	fs.StringVar(&saAudience, "service-account-audience", "", "per-pod identity: the kubelet passes each pod's service account token, for this audience, to the plugin (tokenAttributes; kubelet 1.34+ or the feature gate KubeletServiceAccountTokenForCredentialProviders)")
	fs.BoolVar(&saRequire, "require-service-account", false, "with --service-account-audience: do not run the plugin for a pod without a service account (static pods have none)")
	fs.StringVar(&saCacheType, "service-account-cache-type", kubeletconfig.CacheTypeServiceAccount, "with --service-account-audience: how the kubelet keeps answers, per ServiceAccount or per Token")
	fs.BoolVar(&o.DryRun, "dry-run", false, "show what would change, as a diff, and change nothing")
	fs.BoolVar(&stay, "stay", false, "after installing, keep running, idle, until SIGTERM or SIGINT (for a DaemonSet container, which has no shell to sleep with)")
	fs.StringVar(&o.Proc, "proc", "/proc", "where to find the running kubelet's process (not read on Windows: give the kubelet's paths)")

	own := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { own[f.Name] = true })

	// The plugin's own flags: checked as they are parsed, recorded in order, to be
	// applied over the configuration file and passed on to the plugin.
	type setting struct{ name, value string }
	var settings []setting
	pluginFlags := flag.NewFlagSet("plugin", flag.ContinueOnError)
	(&config.Config{}).AddFlags(pluginFlags)
	pluginFlags.VisitAll(func(f *flag.Flag) {
		fs.Var(recorder{f.Value, func(v string) {
			arg := "--" + f.Name + "=" + v
			if isBool(f.Value) && v == "true" {
				arg = "--" + f.Name
			}
			o.PluginArgs = append(o.PluginArgs, arg)
			settings = append(settings, setting{f.Name, v})
		}}, f.Name, "plugin flag: "+f.Usage)
	})

	pos, err := cliargs.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, fs, own)
		return flag.ErrHelp
	}
	if err != nil {
		return fmt.Errorf("install: %v (see install --help)", err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("install takes no arguments, got %q (see install --help)", pos[0])
	}

	// The plugin's configuration as it will run: the file, then the flags on top.
	plugin := &config.Config{}
	if o.ConfigSource != "" {
		if plugin, err = config.Load(o.ConfigSource); err != nil {
			return fmt.Errorf("plugin configuration: %w", err)
		}
	}
	apply := flag.NewFlagSet("plugin", flag.ContinueOnError)
	apply.SetOutput(io.Discard)
	plugin.AddFlags(apply)
	for _, s := range settings {
		if err := apply.Set(s.name, s.value); err != nil {
			return fmt.Errorf("--%s: %v", s.name, err)
		}
	}
	o.Plugin = plugin

	d, err := time.ParseDuration(cacheDuration)
	if err != nil {
		return fmt.Errorf("--default-cache-duration %q: want a duration such as 5m", cacheDuration)
	}
	o.DefaultCacheDuration = &d
	for _, c := range copies {
		cp, err := parseCopy(c)
		if err != nil {
			return err
		}
		o.Files = append(o.Files, cp)
	}
	if saAudience != "" {
		o.ServiceAccount = &ServiceAccount{Audience: saAudience, Require: saRequire, CacheType: saCacheType}
	} else if saRequire || saCacheType != kubeletconfig.CacheTypeServiceAccount {
		return errors.New("--require-service-account and --service-account-cache-type need --service-account-audience")
	}

	if err := Run(o, stdout); err != nil {
		return err
	}
	if stay {
		stop := stopSignal()
		fmt.Fprintln(stdout, "staying until SIGTERM or SIGINT")
		<-stop
	}
	return nil
}

// parseCopy reads a --file SRC:DEST. On Windows a drive letter's colon at the start of
// SRC is part of it, so that C:\src.json:C:\k\config.json copies C:\src.json.
func parseCopy(s string) (Copy, error) {
	from := 0
	if runtime.GOOS == "windows" && len(s) > 2 && isLetter(s[0]) && s[1] == ':' && (s[2] == '\\' || s[2] == '/') {
		from = 2
	}
	i := strings.IndexByte(s[from:], ':')
	if i < 0 || from+i == 0 || from+i == len(s)-1 {
		return Copy{}, fmt.Errorf("--file %q: want SRC:DEST", s)
	}
	return Copy{Source: s[:from+i], Dest: s[from+i+1:]}, nil
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// stopSignal receives SIGTERM or SIGINT from now on, instead of the process dying of
// it: a signal sent as soon as the "staying" line is seen ends the process with status 0.
func stopSignal() <-chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	return ch
}

// recorder is a flag value that reports each value it is set to.
type recorder struct {
	flag.Value
	set func(string)
}

func (r recorder) Set(s string) error {
	if err := r.Value.Set(s); err != nil {
		return err
	}
	r.set(s)
	return nil
}

func (r recorder) IsBoolFlag() bool { return isBool(r.Value) }

func isBool(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// printHelp writes the usage, install's own flags, and the names of the plugin's.
func printHelp(w io.Writer, fs *flag.FlagSet, own map[string]bool) {
	fmt.Fprint(w, Usage)
	mine := flag.NewFlagSet("install", flag.ContinueOnError)
	var plugin []string
	fs.VisitAll(func(f *flag.Flag) {
		if own[f.Name] {
			mine.Var(f.Value, f.Name, f.Usage)
			mine.Lookup(f.Name).DefValue = f.DefValue
		} else {
			plugin = append(plugin, "--"+f.Name)
		}
	})
	mine.SetOutput(w)
	mine.PrintDefaults()
	fmt.Fprintln(w, "\nPlugin flags, passed on to the plugin in the provider's args (see image-credential-provider --help):")
	line := " "
	for _, p := range plugin {
		if len(line)+len(p)+1 > 88 {
			fmt.Fprintln(w, line)
			line = " "
		}
		line += " " + p
	}
	fmt.Fprintln(w, line)
}
