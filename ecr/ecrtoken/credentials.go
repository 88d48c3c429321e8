package ecrtoken

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	ecrsdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/providers"
)

// Bounds of one Credentials call. A failing backend answers within Timeout, well under
// the kubelet's 60 s exec timeout.
const (
	// Timeout bounds the whole call: credential chain, STS, ECR with retries.
	Timeout = 20 * time.Second
	// CredentialsTimeout bounds finding the node's credentials through the SDK's
	// default chain (environment, shared files, web identity, container, IMDS).
	CredentialsTimeout = 10 * time.Second
	// MaxAttempts is how often an ECR, ECR Public or STS call is tried (throttling,
	// 5xx and connection errors are retried by the SDK's standard retryer).
	MaxAttempts = 5
	// MaxBackoff caps the SDK's jittered exponential backoff between attempts.
	MaxBackoff = time.Second
	// ChainMaxAttempts is how often the default credential chain's own calls are
	// tried; chiefly EC2 instance metadata, so that a node without it fails fast.
	ChainMaxAttempts = 1
)

// FallbackLifetime is assumed when an authorization token comes without expiresAt
// (ECR always sends it; its tokens live 12 h).
const FallbackLifetime = time.Hour

// apiRetryer is the SDK's standard retryer (throttling, 5xx, connection errors) with
// this package's bounds.
func (p *Provider) apiRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = p.maxBackoff
	})
}

func chainRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = ChainMaxAttempts
		o.MaxBackoff = 300 * time.Millisecond
	})
}

// Credentials implements providers.Provider: credentials of the chosen principal (the
// node's, a configured role's, or the role of the request's service account), then
// ecr:GetAuthorizationToken (ecr-public:GetAuthorizationToken for ECR Public) in the
// image host's region, partition and endpoint variant. The answer is keyed by the
// registry host as the image names it, cacheKeyType Registry, and expires with the
// token.
func (p *Provider) Credentials(ctx context.Context, req providers.Request) (*providers.Result, error) {
	host := req.Image.Host
	reg, ok := p.registry(host)
	if !ok {
		return nil, fmt.Errorf("ecr: registry %s is not an Amazon ECR registry (custom hosts need an entry in the ecr registries setting)", host)
	}
	var saToken string
	if req.ServiceAccount != nil {
		saToken = req.ServiceAccount.Token
	}
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf("ecr: registry %s (region %s): ", host, reg.Region) + fmt.Sprintf(format, args...)
		return errors.New(oneLine(redact(msg, saToken)))
	}
	id, err := p.identityFor(req)
	if err != nil {
		return nil, fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	start := time.Now()

	cfg, err := p.loadConfig(ctx, reg)
	if err != nil {
		return nil, fail("loading AWS configuration: %v", err)
	}
	var creds aws.CredentialsProvider
	var principal string // who calls ECR, for errors
	switch {
	case id.webIdentityRole != "":
		klog.V(loglevel.Decision).InfoS("Assuming role with the service account token", "registry", host, "role", id.webIdentityRole, "from", id.source, "serviceAccount", saName(req.ServiceAccount))
		stsc := p.stsClient(cfg, reg, aws.AnonymousCredentials{})
		creds = aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(webIdentityClient{stsc, p.apiRetryer}, id.webIdentityRole, identityToken(saToken), func(o *stscreds.WebIdentityRoleOptions) {
			o.RoleSessionName = sessionName(req.ServiceAccount)
		}))
		if _, err := creds.Retrieve(ctx); err != nil {
			return nil, fail("assuming role %s (from the %s) with the service account token: %s", id.webIdentityRole, roleSource(id.source),
				describe(ctx, start, err, webIdentityHint(id.webIdentityRole, req.ServiceAccount)))
		}
		principal = "role " + id.webIdentityRole + " (assumed with the service account token)"
	default:
		creds = cfg.Credentials
		if creds == nil {
			return nil, fail("no AWS credentials")
		}
		cctx, ccancel := context.WithTimeout(ctx, CredentialsTimeout)
		found, err := creds.Retrieve(cctx)
		ccancel()
		if err != nil {
			return nil, fail("no usable AWS credentials (looked in the environment, the shared config and credentials files%s, web identity, container credentials and EC2 instance metadata): %s", p.profileNote(), describe(ctx, start, err, ""))
		}
		principal = "the node's AWS credentials (" + found.Source + ")"
		klog.V(loglevel.Decision).InfoS("AWS credentials found", "registry", host, "source", found.Source)
		if p.cfg.RoleARN != "" {
			klog.V(loglevel.Decision).InfoS("Assuming the configured role", "registry", host, "role", p.cfg.RoleARN)
			creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(p.stsClient(cfg, reg, creds), p.cfg.RoleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = p.cfg.RoleSessionName
				if o.RoleSessionName == "" {
					o.RoleSessionName = ecr.DefaultSessionName
				}
				if p.cfg.ExternalID != "" {
					o.ExternalID = aws.String(p.cfg.ExternalID)
				}
			}))
			if _, err := creds.Retrieve(ctx); err != nil {
				return nil, fail("assuming role %s with %s: %s", p.cfg.RoleARN, principal, describe(ctx, start, err, assumeRoleHint(p.cfg.RoleARN, p.cfg.ExternalID != "")))
			}
			principal = "role " + p.cfg.RoleARN + " (roleARN, assumed with the node's credentials)"
		}
	}

	var encoded string
	var expiresAt *time.Time
	if reg.Public {
		out, err := ecrpublic.NewFromConfig(cfg, p.ecrPublicOptions(reg, creds)).GetAuthorizationToken(ctx, &ecrpublic.GetAuthorizationTokenInput{})
		if err != nil {
			return nil, fail("ecr-public:GetAuthorizationToken as %s: %s", principal, describe(ctx, start, err, "allow ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken for that principal in its IAM policies"))
		}
		if d := out.AuthorizationData; d != nil && d.AuthorizationToken != nil {
			encoded, expiresAt = *d.AuthorizationToken, d.ExpiresAt
		}
	} else {
		out, err := ecrsdk.NewFromConfig(cfg, p.ecrOptions(reg, creds)).GetAuthorizationToken(ctx, &ecrsdk.GetAuthorizationTokenInput{})
		if err != nil {
			return nil, fail("ecr:GetAuthorizationToken as %s: %s", principal, describe(ctx, start, err, "allow ecr:GetAuthorizationToken for that principal in its IAM policies (the AmazonEC2ContainerRegistryReadOnly managed policy has it, and ecr:BatchGetImage and ecr:GetDownloadUrlForLayer, which pulling needs too)"))
		}
		if len(out.AuthorizationData) > 0 && out.AuthorizationData[0].AuthorizationToken != nil {
			encoded, expiresAt = *out.AuthorizationData[0].AuthorizationToken, out.AuthorizationData[0].ExpiresAt
		}
	}
	user, password, err := decodeToken(encoded)
	if err != nil {
		return nil, fail("GetAuthorizationToken answer: %v", err)
	}
	now := time.Now()
	var expiry time.Time
	switch {
	case expiresAt == nil || expiresAt.IsZero():
		expiry = now.Add(FallbackLifetime)
		klog.V(loglevel.Decision).InfoS("ECR token has no expiresAt; assuming a short lifetime", "registry", host, "lifetime", FallbackLifetime)
	case !expiresAt.After(now.Add(providers.MinSafetyMargin)):
		return nil, fail("the token expires at %s, already past or about to be (is the node clock right?)", expiresAt.UTC().Format(time.RFC3339))
	default:
		expiry = *expiresAt
	}
	klog.V(loglevel.Wire).InfoS("GetAuthorizationToken answer", "registry", host, "region", reg.Region, "public", reg.Public,
		"authorizationToken", loglevel.Masked(encoded), "username", user, "expiresAt", expiry.UTC().Format(time.RFC3339), "elapsed", time.Since(start).Round(time.Millisecond).String())
	return &providers.Result{
		Auth:         map[string]providers.AuthConfig{host: {Username: user, Password: password}},
		CacheKeyType: providers.RegistryPluginCacheKeyType,
		Expiry:       expiry,
	}, nil
}

// loadConfig loads the SDK's shared configuration for reg's region: the profile, the
// endpoint overrides (AWS_ENDPOINT_URL_*), the credential chain. No network I/O.
func (p *Provider) loadConfig(ctx context.Context, reg ecrhost.Registry) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(reg.Region),
		config.WithRetryer(chainRetryer),
		config.WithAppID("image-credential-provider"),
	}
	opts = append(opts, logOptions()...)
	if p.cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(p.cfg.Profile))
	}
	if p.http != nil {
		opts = append(opts, config.WithHTTPClient(p.http))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}

// ecrOptions aims an ECR client at reg: its region (and so its partition), and the
// FIPS and dual-stack endpoint variants its host names. An endpoint override
// (AWS_ENDPOINT_URL_ECR) wins over the variants: the SDK refuses both at once.
func (p *Provider) ecrOptions(reg ecrhost.Registry, creds aws.CredentialsProvider) func(*ecrsdk.Options) {
	return func(o *ecrsdk.Options) {
		o.Region = reg.Region
		o.Retryer = p.apiRetryer()
		if creds != nil {
			o.Credentials = creds
		}
		if o.BaseEndpoint != nil {
			return
		}
		if reg.FIPS {
			o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
		}
		if reg.DualStack {
			o.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
		}
	}
}

// ecrPublicOptions aims an ECR Public client at us-east-1, on the dual-stack endpoint
// when the image names ECR Public's dual-stack host (ecr-public.aws.com).
func (p *Provider) ecrPublicOptions(reg ecrhost.Registry, creds aws.CredentialsProvider) func(*ecrpublic.Options) {
	return func(o *ecrpublic.Options) {
		o.Region = ecrhost.PublicRegion
		o.Retryer = p.apiRetryer()
		if creds != nil {
			o.Credentials = creds
		}
		if o.BaseEndpoint == nil && reg.DualStack {
			o.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
		}
	}
}

// stsClient is an STS client in reg's region (us-east-1 for ECR Public), on the FIPS
// and dual-stack endpoints when the registry host is a FIPS or dual-stack one: a node
// that reaches its registry over IPv6 reaches STS the same way (STS has regional
// dual-stack endpoints in every partition that has dual-stack registries).
func (p *Provider) stsClient(cfg aws.Config, reg ecrhost.Registry, creds aws.CredentialsProvider) *sts.Client {
	return sts.NewFromConfig(cfg, p.stsOptions(reg, creds))
}

func (p *Provider) stsOptions(reg ecrhost.Registry, creds aws.CredentialsProvider) func(*sts.Options) {
	return func(o *sts.Options) {
		o.Region = reg.Region
		o.Retryer = p.apiRetryer()
		o.Credentials = creds
		if o.BaseEndpoint != nil {
			return
		}
		if reg.FIPS {
			o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
		}
		if reg.DualStack {
			o.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
		}
	}
}

// decodeToken splits a base64 "user:password" authorization token at the first colon.
func decodeToken(encoded string) (user, password string, err error) {
	if encoded == "" {
		return "", "", errors.New("no authorization token")
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", errors.New("the authorization token is not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || password == "" {
		return "", "", errors.New("the authorization token is not user:password")
	}
	return user, password, nil
}

// webIdentityClient calls AssumeRoleWithWebIdentity with this package's retryer. The
// SDK's provider also retries InvalidIdentityToken, for identity providers created
// moments ago; a rejected service account token is a configuration error here (trust
// policy, audience), so it fails at once and the kubelet's own retries take over.
// IDPCommunicationError stays retried.
type webIdentityClient struct {
	c       *sts.Client
	retryer func() aws.Retryer
}

func (w webIdentityClient) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	optFns = append(optFns, func(o *sts.Options) {
		o.Retryer = retry.AddWithErrorCodes(w.retryer(), "IDPCommunicationError")
	})
	return w.c.AssumeRoleWithWebIdentity(ctx, in, optFns...)
}

// identityToken hands the request's service account token to the SDK.
type identityToken string

func (t identityToken) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

// sessionName names a web identity session after the service account
// ("<namespace>.<name>", cut to STS's 64 characters), so CloudTrail shows which pod
// identity pulled.
func sessionName(sa *providers.ServiceAccount) string {
	if sa == nil || sa.Namespace == "" || sa.Name == "" {
		return ecr.DefaultSessionName
	}
	n := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '.' || r == '-' || r == '_' || r == '@' || r == '=' || r == ',' || r == '+' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, sa.Namespace+"."+sa.Name)
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

func roleSource(s string) string {
	switch s {
	case "annotation":
		return ecr.RoleAnnotation + " annotation"
	case "default":
		return "default service account role"
	}
	return s
}

func (p *Provider) profileNote() string {
	if v := p.profile(); v != "" {
		return fmt.Sprintf(" (profile %q)", v)
	}
	return ""
}

// describe turns an SDK error into one readable cause (the service's error code and
// message, and its request id), with a hint for the usual mistakes, and says when the
// time ran out. accessHint is what to change when the service refused access.
func describe(ctx context.Context, start time.Time, err error, accessHint string) string {
	s := err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		s = ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			s += ": " + m
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			s = fmt.Sprintf("HTTP %d %s", re.HTTPStatusCode(), s)
			if id := re.ServiceRequestID(); id != "" {
				s += " (request id " + id + ")"
			}
		}
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			if accessHint != "" {
				s += "; " + accessHint
			}
		case "InvalidIdentityToken", "IDPRejectedClaim":
			s += "; the role's trust policy must trust the cluster's OIDC provider and the audience of the kubelet's service account tokens (tokenAttributes.serviceAccountTokenAudience)"
		case "ExpiredToken", "ExpiredTokenException":
			s += "; the credentials expired"
		}
	}
	if ctx.Err() != nil {
		return fmt.Sprintf("gave up after %s: %s", time.Since(start).Round(100*time.Millisecond), s)
	}
	return s
}

// webIdentityHint says what lets a service account assume role.
func webIdentityHint(role string, sa *providers.ServiceAccount) string {
	subject := "system:serviceaccount:NAMESPACE:NAME"
	if sa != nil && sa.Namespace != "" && sa.Name != "" {
		subject = "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
	}
	return "the trust policy of " + role + " must allow sts:AssumeRoleWithWebIdentity for the cluster's OIDC provider with subject " + subject
}

// assumeRoleHint says what lets the node's principal assume role.
func assumeRoleHint(role string, externalID bool) string {
	h := "the node's principal needs sts:AssumeRole on " + role + " in its IAM policies, and the role's trust policy must allow that principal"
	if externalID {
		h += " with the externalID set here"
	}
	return h
}

// redact removes secrets from s.
func redact(s string, secrets ...string) string {
	for _, x := range secrets {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
