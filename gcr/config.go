package gcr

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/internal/duration"
)

// Name is the backend's name in errors, logs and cache keys.
const Name = "gcr"

// Credential sources, tried in the configured order; the first one that is available
// answers, and its failure is the answer (no silent fall-through to another identity).
const (
	// SourceKeyFile is a credentials JSON file: Config.KeyFile, else the file named by
	// GOOGLE_APPLICATION_CREDENTIALS. Types service_account, external_account (workload
	// identity federation), impersonated_service_account and authorized_user. Unavailable
	// when neither is set.
	SourceKeyFile = "keyfile"
	// SourceMetadata is the GCE/GKE metadata server's access token for
	// Config.ServiceAccount. Unavailable when not on GCE.
	SourceMetadata = "metadata"
	// SourceDockerCfg is the docker config in instance attribute google-dockercfg.
	// Unavailable when not on GCE or when the attribute is not set.
	SourceDockerCfg = "dockercfg"
	// SourceDockerCfgURL is the docker config at the URL in instance attribute
	// google-dockercfg-url (https, or the metadata server itself).
	SourceDockerCfgURL = "dockercfg-url"
)

// DefaultSources is the order used when Config.Sources is empty: an explicitly named
// key file first (as Google's Application Default Credentials do), then the metadata
// server.
var DefaultSources = []string{SourceKeyFile, SourceMetadata}

// DefaultScopes are requested for key-file and workload-identity tokens. Artifact
// Registry needs cloud-platform.
var DefaultScopes = []string{"https://www.googleapis.com/auth/cloud-platform"}

// Defaults for the endpoints and time bounds.
const (
	DefaultTokenURL          = "https://sts.googleapis.com/v1/token"
	DefaultIAMCredentialsURL = "https://iamcredentials.googleapis.com"
	DefaultTimeout           = 15 * time.Second
	DefaultDetectTimeout     = 2 * time.Second
)

// Config is the "gcr:" section of the plugin's configuration file.
type Config struct {
	// Sources lists the credential sources to try, in order (SourceKeyFile,
	// SourceMetadata, SourceDockerCfg, SourceDockerCfgURL). Empty means DefaultSources.
	Sources []string `json:"sources,omitempty"`
	// KeyFile is a Google credentials JSON file; empty means GOOGLE_APPLICATION_CREDENTIALS.
	KeyFile string `json:"keyFile,omitempty"`
	// ServiceAccount is the metadata server's service account to use: "default" (the
	// default when empty) or an email of an account attached to the instance.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Scopes requested for key-file and workload-identity tokens; empty means DefaultScopes.
	Scopes []string `json:"scopes,omitempty"`
	// DockerConfigAnyHost lets the dockercfg sources answer for any registry their docker
	// config names, not only Google's (the auth-provider-gcp drop-in sets it, because
	// auth-provider-gcp's dockercfg flows serve whatever the kubelet's matchImages send).
	DockerConfigAnyHost bool `json:"dockerConfigAnyHost,omitempty"`
	// WorkloadIdentity configures the service-account-token mode.
	WorkloadIdentity WorkloadIdentity `json:"workloadIdentity,omitzero"`
	// Timeout bounds one credential fetch (default 15s).
	Timeout duration.Duration `json:"timeout,omitzero"`
	// DetectTimeout bounds the "are we on GCE" probe when the machine's DMI product
	// name cannot be read (default 2s).
	DetectTimeout duration.Duration `json:"detectTimeout,omitzero"`
	// Verbosity is the --v the auth-provider-gcp drop-in was invoked with; the caller
	// applies it to klog. Not part of the configuration file.
	Verbosity int `json:"-"`
}

// WorkloadIdentity configures the exchange of the pod's service account token (the
// kubelet's service-account-token mode) for a Google access token through STS.
//
// It is enabled when Audience or IdentityProvider is set. A request without a service
// account token, or (with RequireOptIn) whose service account lacks the annotation
// iam.gke.io/enable-wi-image-pull: "true", uses the node's credentials instead.
type WorkloadIdentity struct {
	// Audience is the STS audience, either the GKE form
	// identitynamespace:<project>.svc.id.goog:<provider> or a workload identity pool
	// provider resource name
	// //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.
	Audience string `json:"audience,omitempty"`
	// ProjectID and IdentityProvider build the GKE-form audience (auth-provider-gcp's
	// --project-id and --identity-provider); use them or Audience, not both.
	ProjectID        string `json:"projectID,omitempty"`
	IdentityProvider string `json:"identityProvider,omitempty"`
	// ServiceAccount is the Google service account to impersonate with the federated
	// token when the Kubernetes service account has no iam.gke.io/gcp-service-account
	// annotation. Empty (and no annotation) means the federated token is used directly.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// RequireOptIn uses workload identity only for service accounts annotated
	// iam.gke.io/enable-wi-image-pull: "true" (auth-provider-gcp's behaviour).
	RequireOptIn bool `json:"requireOptIn,omitempty"`
	// TokenURL is the STS endpoint (default DefaultTokenURL).
	TokenURL string `json:"tokenURL,omitempty"`
	// IAMCredentialsURL is the IAM credentials API base URL (default
	// DefaultIAMCredentialsURL).
	IAMCredentialsURL string `json:"iamCredentialsURL,omitempty"`
}

// Annotations of the Kubernetes service account that the service-account-token mode reads.
const (
	// AnnotationServiceAccount names the Google service account to impersonate.
	AnnotationServiceAccount = "iam.gke.io/gcp-service-account"
	// AnnotationEnableImagePull opts a service account in when RequireOptIn is set.
	AnnotationEnableImagePull = "iam.gke.io/enable-wi-image-pull"
)

// Enabled reports whether the service-account-token mode is configured.
func (w WorkloadIdentity) Enabled() bool { return w.Audience != "" || w.IdentityProvider != "" }

// STSAudience is the audience sent to STS.
func (w WorkloadIdentity) STSAudience() string {
	if w.Audience != "" {
		return w.Audience
	}
	return "identitynamespace:" + w.ProjectID + ".svc.id.goog:" + w.IdentityProvider
}

// IsServiceAccountEmail reports whether s can be a service account email, and so is
// safe to put into a URL path: [A-Za-z0-9._%+-]+ "@" then two or more dot-separated
// labels of [A-Za-z0-9-], at most 254 bytes. Hand-written rather than a regexp, which
// every process would compile at start.
func IsServiceAccountEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !allIn(local, "._%+-") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || !allIn(l, "-") {
			return false
		}
	}
	return true
}

// allIn reports whether s has only ASCII letters, digits and bytes of extra.
func allIn(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// Validated returns a copy of c with the defaults filled in (sources, service account,
// scopes, time bounds, workload identity endpoints), or what is wrong with c. No I/O.
func (c Config) Validated() (Config, error) {
	c.Sources = append([]string(nil), c.Sources...)
	c.Scopes = append([]string(nil), c.Scopes...)
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validate checks the configuration and fills in defaults.
func (c *Config) validate() error {
	if len(c.Sources) == 0 {
		c.Sources = append([]string(nil), DefaultSources...)
	}
	seen := map[string]bool{}
	for _, s := range c.Sources {
		switch s {
		case SourceKeyFile, SourceMetadata, SourceDockerCfg, SourceDockerCfgURL:
		default:
			return fmt.Errorf("gcr: unknown credential source %q (want %s, %s, %s or %s)", s, SourceKeyFile, SourceMetadata, SourceDockerCfg, SourceDockerCfgURL)
		}
		if seen[s] {
			return fmt.Errorf("gcr: credential source %q listed twice", s)
		}
		seen[s] = true
	}
	if c.ServiceAccount == "" {
		c.ServiceAccount = "default"
	}
	if c.ServiceAccount != "default" && !IsServiceAccountEmail(c.ServiceAccount) {
		return fmt.Errorf("gcr: serviceAccount %q is neither \"default\" nor a service account email", c.ServiceAccount)
	}
	if len(c.Scopes) == 0 {
		c.Scopes = append([]string(nil), DefaultScopes...)
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n,") {
			return fmt.Errorf("gcr: invalid scope %q", s)
		}
	}
	if c.Timeout.Duration == 0 {
		c.Timeout.Duration = DefaultTimeout
	}
	if c.DetectTimeout.Duration == 0 {
		c.DetectTimeout.Duration = DefaultDetectTimeout
	}
	if c.Timeout.Duration < 0 || c.DetectTimeout.Duration < 0 {
		return errors.New("gcr: timeouts must be positive")
	}
	w := &c.WorkloadIdentity
	switch {
	case w.Audience != "" && (w.IdentityProvider != "" || w.ProjectID != ""):
		return errors.New("gcr: workloadIdentity: set audience, or projectID with identityProvider, not both")
	case w.IdentityProvider != "" && w.ProjectID == "":
		return errors.New("gcr: workloadIdentity: projectID is required with identityProvider")
	case w.ProjectID != "" && w.IdentityProvider == "":
		return errors.New("gcr: workloadIdentity: identityProvider is required with projectID")
	case strings.ContainsAny(w.STSAudience(), " \t\r\n"):
		return errors.New("gcr: workloadIdentity: the audience must not contain spaces")
	case w.ServiceAccount != "" && !IsServiceAccountEmail(w.ServiceAccount):
		return fmt.Errorf("gcr: workloadIdentity: serviceAccount %q is not a service account email", w.ServiceAccount)
	}
	if w.TokenURL == "" {
		w.TokenURL = DefaultTokenURL
	}
	if w.IAMCredentialsURL == "" {
		w.IAMCredentialsURL = DefaultIAMCredentialsURL
	}
	w.IAMCredentialsURL = strings.TrimRight(w.IAMCredentialsURL, "/")
	return nil
}

// AddFlags registers the backend's command-line flags (prefixed gcr-) on fs; they set
// the fields of c.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.Var((*listFlag)(&c.Sources), "gcr-sources", "Google credential sources in order, comma-separated: keyfile, metadata, dockercfg, dockercfg-url (default keyfile,metadata)")
	fs.StringVar(&c.KeyFile, "gcr-key-file", c.KeyFile, "Google credentials JSON file (default $GOOGLE_APPLICATION_CREDENTIALS)")
	fs.StringVar(&c.ServiceAccount, "gcr-service-account", c.ServiceAccount, `metadata server service account: "default" or an email`)
	fs.Var((*listFlag)(&c.Scopes), "gcr-scopes", "OAuth scopes for key-file and workload identity tokens, comma-separated (default cloud-platform)")
	fs.BoolVar(&c.DockerConfigAnyHost, "gcr-dockercfg-any-host", c.DockerConfigAnyHost, "let the dockercfg sources answer for any registry their docker config names")
	fs.DurationVar(&c.Timeout.Duration, "gcr-timeout", c.Timeout.Duration, "time bound of one Google credential fetch (default 15s)")
	fs.DurationVar(&c.DetectTimeout.Duration, "gcr-detect-timeout", c.DetectTimeout.Duration, "time bound of the on-GCE probe (default 2s)")
	w := &c.WorkloadIdentity
	fs.StringVar(&w.Audience, "gcr-wi-audience", w.Audience, "STS audience for service account tokens (workload identity pool provider or identitynamespace:…)")
	fs.StringVar(&w.ProjectID, "gcr-wi-project-id", w.ProjectID, "project id for the GKE-form audience (with --gcr-wi-identity-provider)")
	fs.StringVar(&w.IdentityProvider, "gcr-wi-identity-provider", w.IdentityProvider, "identity provider for the GKE-form audience (with --gcr-wi-project-id)")
	fs.StringVar(&w.ServiceAccount, "gcr-wi-service-account", w.ServiceAccount, "Google service account to impersonate when the Kubernetes service account has no "+AnnotationServiceAccount+" annotation")
	fs.BoolVar(&w.RequireOptIn, "gcr-wi-require-opt-in", w.RequireOptIn, "use workload identity only for service accounts annotated "+AnnotationEnableImagePull+`: "true"`)
	fs.StringVar(&w.TokenURL, "gcr-wi-token-url", w.TokenURL, "STS token endpoint (default "+DefaultTokenURL+")")
	fs.StringVar(&w.IAMCredentialsURL, "gcr-wi-iam-credentials-url", w.IAMCredentialsURL, "IAM credentials API base URL (default "+DefaultIAMCredentialsURL+")")
}

// listFlag is a comma-separated list flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
