package gcr

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"k8s.io/klog/v2"
)

// The anchor's --authFlow values.
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
// The anchor's KUBE_SIDECAR_CACHE_TYPE / KUBE_SIDECAR_CACHE_DURATION are not read: the
// answer's cacheKeyType is Registry and its cacheDuration follows the token's expiry.
func DropInConfig(args []string) (Config, error) {
	var cfg Config
	global := dropInFlagSet(&cfg.Verbosity)
	if err := global.Parse(args); err != nil {
		return Config{}, dropInError(err)
	}
	rest := global.Args()
	if len(rest) == 0 {
		return Config{}, errors.New("auth-provider-gcp: missing the get-credentials command")
	}
	if rest[0] != "get-credentials" {
		return Config{}, fmt.Errorf("auth-provider-gcp: unknown command %q (only get-credentials is supported)", rest[0])
	}
	cmd := dropInFlagSet(&cfg.Verbosity)
	authFlow := AuthFlowGCR
	var identityProvider, projectID string
	cmd.StringVar(&authFlow, "authFlow", authFlow, "authentication flow")
	cmd.StringVar(&authFlow, "a", authFlow, "authentication flow")
	cmd.StringVar(&identityProvider, "identity-provider", "", "identity provider for workload identity")
	cmd.StringVar(&projectID, "project-id", "", "project id for workload identity")
	if err := cmd.Parse(rest[1:]); err != nil {
		return Config{}, dropInError(err)
	}
	if cmd.NArg() > 0 {
		return Config{}, fmt.Errorf("auth-provider-gcp: get-credentials takes no arguments, got %q", cmd.Arg(0))
	}
	switch authFlow {
	case AuthFlowGCR:
	case AuthFlowDockerCfg:
		cfg.Sources, cfg.DockerConfigAnyHost = []string{SourceDockerCfg}, true
	case AuthFlowDockerCfgURL:
		cfg.Sources, cfg.DockerConfigAnyHost = []string{SourceDockerCfgURL}, true
	default:
		return Config{}, fmt.Errorf("auth-provider-gcp: invalid value %q for --authFlow (want %s, %s or %s)", authFlow, AuthFlowGCR, AuthFlowDockerCfg, AuthFlowDockerCfgURL)
	}
	if identityProvider != "" {
		if projectID == "" {
			return Config{}, errors.New("auth-provider-gcp: --project-id is required when --identity-provider is set")
		}
		if authFlow != AuthFlowGCR {
			klog.Warningf("auth-provider-gcp: --identity-provider has no effect with --authFlow %s", authFlow)
		} else {
			cfg.WorkloadIdentity = WorkloadIdentity{ProjectID: projectID, IdentityProvider: identityProvider, RequireOptIn: true}
		}
	}
	return cfg, nil
}

// dropInFlagSet is a flag set that knows --v and accepts (and ignores) klog's other
// flags, which the anchor takes both before and after its command.
func dropInFlagSet(verbosity *int) *flag.FlagSet {
	fs := flag.NewFlagSet("auth-provider-gcp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(verbosity, "v", *verbosity, "log verbosity")
	var ignoredBool bool
	for _, name := range []string{"logtostderr", "alsologtostderr", "add_dir_header", "skip_headers", "skip_log_headers", "one_output", "legacy_stderr_threshold_behavior"} {
		fs.BoolVar(&ignoredBool, name, false, "klog flag (ignored)")
	}
	var ignored string
	for _, name := range []string{"log_dir", "log_file", "log_file_max_size", "stderrthreshold", "vmodule", "log_backtrace_at"} {
		fs.StringVar(&ignored, name, "", "klog flag (ignored)")
	}
	return fs
}

func dropInError(err error) error {
	msg := strings.TrimSpace(err.Error())
	if errors.Is(err, flag.ErrHelp) {
		msg = "help is not available in drop-in mode"
	}
	return errors.New("auth-provider-gcp: " + msg)
}
