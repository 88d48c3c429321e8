package gcr

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/quote"
)

// auth-provider-gcp's --authFlow values.
const (
	AuthFlowGCR          = "gcr"
	AuthFlowDockerCfg    = "dockercfg"
	AuthFlowDockerCfgURL = "dockercfg-url"
)

// DropInConfig turns the arguments of kubernetes/cloud-provider-gcp's auth-provider-gcp
// (os.Args[1:], as a kubelet CredentialProviderConfig written for it passes them) into
// a Config, so this binary can be installed under that name. The accepted invocation is
//
//	[klog flags] get-credentials [--authFlow|-a gcr|dockercfg|dockercfg-url]
//	    [--identity-provider URL --project-id ID] [--v N] [klog flags]
//
// and the flows map to:
//
//   - gcr: Google tokens from DefaultSources (a key file when one is named, else the
//     metadata server). With --identity-provider, service account tokens of service
//     accounts annotated iam.gke.io/enable-wi-image-pull: "true" are exchanged through
//     STS with audience identitynamespace:<project-id>.svc.id.goog:<identity-provider>,
//     impersonating the iam.gke.io/gcp-service-account annotation when present.
//   - dockercfg, dockercfg-url: the docker config of instance attribute
//     google-dockercfg, or at the URL in google-dockercfg-url, for any registry the
//     kubelet asks about.
//
// --v is returned in Config.Verbosity; klog's other flags are accepted and ignored.
// -h/--help returns flag.ErrHelp and --version cliargs.ErrVersion.
// auth-provider-gcp's KUBE_SIDECAR_CACHE_TYPE / KUBE_SIDECAR_CACHE_DURATION are not read: the
// answer's cacheKeyType is Registry and its cacheDuration follows the token's expiry.
func DropInConfig(args []string) (Config, error) {
	var cfg Config
	var version bool
	global := dropInFlagSet(&cfg.Verbosity, &version)
	if err := global.Parse(args); err != nil {
		return Config{}, dropInError(err)
	}
	if version {
		return Config{}, cliargs.ErrVersion
	}
	rest := global.Args()
	if len(rest) == 0 {
		return Config{}, errors.New("missing the get-credentials command")
	}
	if rest[0] != "get-credentials" {
		return Config{}, fmt.Errorf("unknown command %s: the only command is get-credentials", quote.String(rest[0]))
	}
	cmd := dropInFlagSet(&cfg.Verbosity, &version)
	authFlow := AuthFlowGCR
	var identityProvider, projectID string
	cmd.StringVar(&authFlow, "authFlow", authFlow, "authentication flow")
	cmd.StringVar(&authFlow, "a", authFlow, "authentication flow")
	cmd.StringVar(&identityProvider, "identity-provider", "", "identity provider for workload identity")
	cmd.StringVar(&projectID, "project-id", "", "project id for workload identity")
	if err := cmd.Parse(rest[1:]); err != nil {
		return Config{}, dropInError(err)
	}
	if version {
		return Config{}, cliargs.ErrVersion
	}
	if cmd.NArg() > 0 {
		return Config{}, fmt.Errorf("get-credentials takes no arguments, got %s", quote.String(cmd.Arg(0)))
	}
	switch authFlow {
	case AuthFlowGCR:
	case AuthFlowDockerCfg:
		cfg.Sources, cfg.DockerConfigAnyHost = []string{SourceDockerCfg}, true
	case AuthFlowDockerCfgURL:
		cfg.Sources, cfg.DockerConfigAnyHost = []string{SourceDockerCfgURL}, true
	default:
		return Config{}, fmt.Errorf("invalid value %s for --authFlow: want %s, %s or %s", quote.String(authFlow), AuthFlowGCR, AuthFlowDockerCfg, AuthFlowDockerCfgURL)
	}
	if identityProvider != "" {
		if projectID == "" {
			return Config{}, errors.New("--project-id is required when --identity-provider is set")
		}
		if authFlow != AuthFlowGCR {
			klog.Warningf("auth-provider-gcp: --identity-provider has no effect with --authFlow %s", authFlow)
		} else {
			cfg.WorkloadIdentity = WorkloadIdentity{ProjectID: projectID, IdentityProvider: identityProvider, RequireOptIn: true}
		}
	}
	return cfg, nil
}

// dropInFlagSet is a flag set that knows --v and --version and accepts (and ignores)
// klog's other flags, which auth-provider-gcp takes both before and after its command.
func dropInFlagSet(verbosity *int, version *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("auth-provider-gcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.IntVar(verbosity, "v", *verbosity, "log verbosity")
	fs.BoolVar(version, "version", *version, "print the version")
	var ignoredBool bool
	for _, name := range []string{"logtostderr", "alsologtostderr", "add_dir_header", "skip_headers", "skip_log_headers", "one_output", "legacy_stderr_threshold_behavior"} {
		fs.BoolVar(&ignoredBool, name, false, "klog flag (ignored)")
	}
	var ignored string
	for _, name := range []string{"log_dir", "log_file", "log_file_max_size", "stderrthreshold", "alsologtostderrthreshold", "vmodule", "log_backtrace_at"} {
		fs.StringVar(&ignored, name, "", "klog flag (ignored)")
	}
	return fs
}

// dropInError is a flag parsing error, flag.ErrHelp kept as it is.
func dropInError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return flag.ErrHelp
	}
	return errors.New(strings.TrimSpace(err.Error()))
}

// DropInUsage is the help printed under the name prog of Google's credential provider.
func DropInUsage(prog string) string {
	return prog + ` is image-credential-provider, installed under the name of Google's
credential provider so that a kubelet configuration written for that plugin works
unchanged. It answers the kubelet's requests for Google Container Registry and Artifact
Registry images.

Usage:
  ` + prog + ` get-credentials [flags]     a CredentialProviderRequest on stdin, the response on stdout

Flags of get-credentials:
  -a, --authFlow FLOW              gcr (the default): the node's Google credentials (a key file
                                   named by GOOGLE_APPLICATION_CREDENTIALS, else the metadata
                                   server's service account), for Google registries only;
                                   dockercfg, dockercfg-url: the docker config in the instance
                                   attribute google-dockercfg, or at the URL in
                                   google-dockercfg-url, for any registry
      --identity-provider URL      with --project-id: workload identity; the token of a service
                                   account annotated iam.gke.io/enable-wi-image-pull: "true" is
                                   exchanged for a Google token (impersonating the account in
                                   iam.gke.io/gcp-service-account, when set)
      --project-id ID              the project of the workload identity pool
  -v, --v N                        log verbosity (1: one line per request; 2: each decision;
                                   4: the shape of each exchange)
  -h, --help                       print this help
      --version                    print the version

klog's other flags (--logtostderr, --stderrthreshold, ...) are accepted and ignored.
To see what the kubelet would get for an image: image-credential-provider get IMAGE
`
}
