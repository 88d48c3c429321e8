package ecrtoken

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/providers"
)

// Option adjusts a Provider.
type Option func(*Provider)

// WithHTTPClient sends every AWS call (STS, ECR, ECR Public, the credential chain's
// own calls) through c instead of the SDK's default client.
func WithHTTPClient(c aws.HTTPClient) Option { return func(p *Provider) { p.http = c } }

// WithLookupEnv replaces os.LookupEnv for the variables this package reads itself
// ($AWS_ECR_ROLE_ARN and those of the cache identity). The SDK still reads the
// process environment.
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(p *Provider) { p.env = f }
}

// Provider is the Amazon ECR and ECR Public backend. It implements providers.Provider
// and providers.Cacheable. New does no I/O; Serves and CacheIdentity are string work;
// only Credentials loads the SDK configuration and calls AWS.
type Provider struct {
	cfg    ecr.Config
	saRole string // ecr.Config.ServiceAccountRoleARN or $AWS_ECR_ROLE_ARN
	hosts  *ecr.Hosts
	http   aws.HTTPClient
	env    func(string) (string, bool)
	// maxBackoff is MaxBackoff; tests shorten it.
	maxBackoff time.Duration
}

var (
	_ providers.Provider   = (*Provider)(nil)
	_ providers.Cacheable  = (*Provider)(nil)
	_ providers.Hosts      = (*Provider)(nil)
	_ providers.Identifier = (*Provider)(nil)
)

// New validates cfg and returns the backend. It does no I/O and loads no SDK
// configuration.
func New(cfg ecr.Config, opts ...Option) (*Provider, error) {
	hosts, err := ecr.NewHosts(cfg)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, hosts: hosts, env: os.LookupEnv, maxBackoff: MaxBackoff}
	for _, o := range opts {
		o(p)
	}
	p.saRole = cfg.ServiceAccountRoleARN
	if p.saRole == "" {
		p.saRole, _ = p.env(ecr.RoleEnv)
		p.saRole = strings.TrimSpace(p.saRole)
		if err := ecr.ValidateRoleARN(ecr.RoleEnv, p.saRole); err != nil {
			return nil, fmt.Errorf("ecr: %w", err)
		}
	}
	return p, nil
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return ecr.Name }

// Serves reports whether img is on an ECR or ECR Public registry host, or on a host
// mapped in ecr.Config.Registries (ecr.Hosts). No I/O.
func (p *Provider) Serves(img providers.Image) bool { return p.hosts.Serves(img) }

// MatchImages implements providers.Hosts (ecr.Hosts).
func (p *Provider) MatchImages() []string { return p.hosts.MatchImages() }

// registry says what registry host (as the image names it) is.
func (p *Provider) registry(host string) (ecrhost.Registry, bool) { return p.hosts.Registry(host) }

// identity is the AWS principal chosen for one request.
type identity struct {
	// webIdentityRole is the role assumed with the request's service account token;
	// empty means the node's credentials (then ecr.Config.RoleARN, if set).
	webIdentityRole string
	// source says where webIdentityRole came from (annotation, config, env).
	source string
}

// identityFor picks the principal for req: in service-account-token mode the
// annotation's role, else the configured default, else the node's credentials unless
// a role is required.
func (p *Provider) identityFor(req providers.Request) (identity, error) {
	sa := req.ServiceAccount
	if sa == nil || sa.Token == "" {
		return identity{}, nil
	}
	if arn := strings.TrimSpace(sa.Annotations[ecr.RoleAnnotation]); arn != "" {
		if err := ecr.ValidateRoleARN("annotation "+ecr.RoleAnnotation, arn); err != nil {
			return identity{}, err
		}
		return identity{webIdentityRole: arn, source: "annotation"}, nil
	}
	if p.saRole != "" {
		return identity{webIdentityRole: p.saRole, source: "default"}, nil
	}
	if p.cfg.RequireServiceAccountRole {
		return identity{}, fmt.Errorf("service account %s has no %s annotation and no default role is configured (serviceAccountRoleARN or $%s), and requireServiceAccountRole refuses the node's credentials", saName(sa), ecr.RoleAnnotation, ecr.RoleEnv)
	}
	return identity{}, nil
}

// Identity implements providers.Identifier: the role assumed with the service account
// token, or the node's credentials (and the configured role), and, for a
// service-account request answered with the node's credentials, why.
func (p *Provider) Identity(req providers.Request) providers.Identity {
	id, err := p.identityFor(req)
	switch {
	case err != nil:
		return providers.Identity{Who: "none: " + err.Error()}
	case id.webIdentityRole != "":
		return providers.Identity{Who: fmt.Sprintf("role %s, assumed with the service account token (from the %s)", id.webIdentityRole, roleSource(id.source))}
	}
	who := "the node's AWS credentials" + p.profileNote()
	if p.cfg.RoleARN != "" {
		who += ", then role " + p.cfg.RoleARN
	}
	out := providers.Identity{Who: who}
	if sa := req.ServiceAccount; sa != nil && sa.Token != "" {
		out.NodeFallback = fmt.Sprintf("service account %s has no %s annotation and no default role is set (serviceAccountRoleARN or $%s; requireServiceAccountRole refuses the node's credentials instead)", saName(sa), ecr.RoleAnnotation, ecr.RoleEnv)
	}
	return out
}

func saName(sa *providers.ServiceAccount) string {
	if sa.Namespace == "" && sa.Name == "" {
		return "(unknown)"
	}
	return sa.Namespace + "/" + sa.Name
}

// identityEnv are the environment variables that choose which principal the SDK's
// default chain finds, or where its calls go: none holds a secret.
var identityEnv = []string{
	"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ECR_PUBLIC", "AWS_ENDPOINT_URL_STS",
}

// CacheIdentity implements providers.Cacheable. It names everything that decides which
// credentials come back, apart from the registry host the cache adds itself: the
// registry's region, partition suffix and endpoint variant, the profile and the files
// and variables that choose the node's principal, the roles (node and service
// account), the endpoint overrides. Never a secret or a token. Of the credentials
// themselves only a static $AWS_ACCESS_KEY_ID counts, as a digest (it is an id, not a
// secret, and stable; the key ids of assumed-role sessions change at every refresh
// and are not looked at).
func (p *Provider) CacheIdentity(req providers.Request) (string, providers.CacheKeyType) {
	var b strings.Builder
	b.WriteString("ecr/2")
	if r, ok := p.registry(req.Image.Host); ok {
		fmt.Fprintf(&b, "|region=%s|suffix=%s|account=%s|public=%t|fips=%t|dualstack=%t", r.Region, r.Suffix, r.Account, r.Public, r.FIPS, r.DualStack)
	}
	fmt.Fprintf(&b, "|profile=%s|role=%s|external-id=%t", p.profile(), p.cfg.RoleARN, p.cfg.ExternalID != "")
	for _, v := range identityEnv {
		if s := p.getenv(v); s != "" {
			fmt.Fprintf(&b, "|%s=%s", v, s)
		}
	}
	if id := p.getenv("AWS_ACCESS_KEY_ID"); id != "" {
		sum := sha256.Sum256([]byte(id))
		fmt.Fprintf(&b, "|static-key=%x", sum[:12])
	}
	switch id, err := p.identityFor(req); {
	case err != nil:
		b.WriteString("|sa=unresolved")
	case id.webIdentityRole != "":
		b.WriteString("|sa-role=" + id.webIdentityRole)
	case req.ServiceAccount != nil && req.ServiceAccount.Token != "":
		b.WriteString("|sa=node")
	}
	return b.String(), providers.RegistryPluginCacheKeyType
}

// profile is the shared config profile the SDK will use: ecr.Config.Profile, else
// $AWS_PROFILE, else $AWS_DEFAULT_PROFILE (the SDK's own order); empty means "default".
func (p *Provider) profile() string {
	for _, v := range []string{p.cfg.Profile, p.getenv("AWS_PROFILE"), p.getenv("AWS_DEFAULT_PROFILE")} {
		if v != "" {
			return v
		}
	}
	return ""
}

func (p *Provider) getenv(name string) string {
	v, _ := p.env(name)
	return v
}
