package acrtoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/azureconfig"
	"github.com/imagecred/image-credential-provider/acr/exchange"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/providers"
)

// FallbackLifetime is how long a refresh token is assumed to live when it carries no
// readable exp claim (ACR's are JWTs that live about 3 h; acr-credential-provider caches for 1 h).
const FallbackLifetime = time.Hour

// Option adjusts a Provider.
type Option func(*Provider)

// WithHTTPClient sends every request (AAD, managed identity, registry) through c
// instead of a client built from the environment (HTTPS_PROXY, SSL_CERT_FILE).
// Redirects are never followed, whatever c says.
func WithHTTPClient(c *http.Client) Option { return func(p *Provider) { p.http = noRedirects(c) } }

// WithLookupEnv replaces os.LookupEnv for the AZURE_* variables this package reads
// (azidentity itself still reads IDENTITY_ENDPOINT and friends from the process).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(p *Provider) { p.env = f }
}

// Provider is the Azure Container Registry backend. It implements
// providers.Provider and providers.Cacheable.
type Provider struct {
	cloud             azureconfig.Cloud
	hosts             *acr.Hosts
	file              azureconfig.File
	node              identity
	nodeErr           error // why the node identity could not be resolved
	nodeFallback      bool
	instanceDiscovery bool
	azureConfig       string // the azure.json path, or "" when none is given
	env               lookupFunc

	mu       sync.Mutex
	http     *http.Client     // built on first use unless WithHTTPClient
	exchange *exchange.Client // built on first use
	nodeCred azcore.TokenCredential
}

var (
	_ providers.Provider   = (*Provider)(nil)
	_ providers.Cacheable  = (*Provider)(nil)
	_ providers.Hosts      = (*Provider)(nil)
	_ providers.Identifier = (*Provider)(nil)
)

// New reads the configuration (azure.json, environment file, AZURE_* variables) and
// returns the backend. It does no network I/O and builds no SDK credential.
func New(cfg acr.Config, opts ...Option) (*Provider, error) {
	routeSDKLogs()
	p := &Provider{env: os.LookupEnv, nodeFallback: cfg.NodeIdentityFallback, azureConfig: cfg.AzureConfig}
	for _, o := range opts {
		o(p)
	}
	if cfg.AzureConfig != "" {
		f, err := azureconfig.Load(cfg.AzureConfig)
		if err != nil {
			return nil, fmt.Errorf("acr: azure config: %w", err)
		}
		p.file = f
	}
	c, err := acr.ResolveCloud(cfg, p.file, p.env)
	if err != nil {
		return nil, err
	}
	p.cloud = c
	host := strings.TrimSuffix(strings.TrimPrefix(c.AuthorityHost, "https://"), "/")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	p.instanceDiscovery = !cfg.DisableInstanceDiscovery && trustedAuthorities[host]
	if p.hosts, err = acr.NewHostsForCloud(cfg, c); err != nil {
		return nil, err
	}
	p.node, p.nodeErr = resolveNode(p.file, p.env)
	return p, nil
}

// clients builds the HTTP and exchange clients on first use: cache hits never need them.
func (p *Provider) clients() *exchange.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.http == nil {
		p.http = noRedirects(defaultHTTPClient())
	}
	if p.exchange == nil {
		p.exchange = exchange.NewClient(&policy.ClientOptions{
			Retry:     retryOptions,
			Transport: p.http,
			Telemetry: policy.TelemetryOptions{ApplicationID: "image-credential-provider"},
		})
	}
	return p.exchange
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return acr.Name }

// Serves reports whether img is on an ACR login server (<name>.azurecr.io/.cn/.us/.de,
// geo-replicas <name>.<region>.geo.azurecr.io, the cloud's and configured suffixes) or
// on a configured mirror source (acr.Hosts). No I/O.
func (p *Provider) Serves(img providers.Image) bool { return p.hosts.Serves(img) }

// MatchImages implements providers.Hosts (acr.Hosts).
func (p *Provider) MatchImages() []string { return p.hosts.MatchImages() }

// target returns the registry to authenticate to and whether it is a mirror's.
func (p *Provider) target(img providers.Image) (string, bool) { return p.hosts.Target(img.Host) }

// identityFor picks the identity for req: the service account's when the request
// carries a token (and the image is not a mirror's: mirrors are node configuration
// and use the node identity), the node's otherwise.
func (p *Provider) identityFor(req providers.Request, mirrored bool) (identity, error) {
	if sa := req.ServiceAccount; sa != nil && sa.Token != "" && !mirrored {
		id, ok, err := resolveServiceAccount(sa.Annotations, p.file, p.env)
		switch {
		case err != nil:
			return identity{}, err
		case ok:
			return id, nil
		case !p.nodeFallback:
			return identity{}, fmt.Errorf("service account token without the %s annotation (annotate the service account, or set nodeIdentityFallback to use the node identity)", acr.ClientIDAnnotation)
		}
	}
	if p.nodeErr != nil {
		return identity{}, p.nodeErr
	}
	return p.node, nil
}

// Identity implements providers.Identifier: the identity resolved for req (without
// network or SDK work), and, for a service-account request answered with the node's
// identity, why.
func (p *Provider) Identity(req providers.Request) providers.Identity {
	_, mirrored := p.target(req.Image)
	id, err := p.identityFor(req, mirrored)
	if err != nil {
		return providers.Identity{Who: "none: " + err.Error()}
	}
	out := providers.Identity{Who: id.String()}
	if sa := req.ServiceAccount; sa != nil && sa.Token != "" && id.kind != serviceAccountToken {
		if mirrored {
			out.NodeFallback = "the image is on a mirror source (" + req.Image.Host + "), which uses the node's identity"
		} else {
			out.NodeFallback = "the service account has no " + acr.ClientIDAnnotation + " annotation and nodeIdentityFallback is set"
		}
	}
	return out
}

// CacheIdentity implements providers.Cacheable: the cloud, the mirror target and the
// identity (kind, client id, tenant, resource id, files), never a secret or a token.
func (p *Provider) CacheIdentity(req providers.Request) (string, providers.CacheKeyType) {
	target, mirrored := p.target(req.Image)
	var b strings.Builder
	b.WriteString("acr/1|authority=" + p.cloud.AuthorityHost + "|audience=" + p.cloud.Audience)
	if mirrored {
		b.WriteString("|mirror=" + target)
	}
	if id, err := p.identityFor(req, mirrored); err != nil {
		b.WriteString("|unresolved")
	} else {
		b.WriteString("|" + id.cacheKey())
	}
	return b.String(), providers.RegistryPluginCacheKeyType
}

// Credentials implements providers.Provider: an AAD token for the identity (managed,
// workload, service principal or the request's service account token), exchanged at
// the registry for an ACR refresh token. The answer is keyed by the registry host
// (and the mirror source host for a mirrored image), cacheKeyType Registry, and expires
// with the refresh token.
func (p *Provider) Credentials(ctx context.Context, req providers.Request) (*providers.Result, error) {
	registry, mirrored := p.target(req.Image)
	if !p.hosts.IsLoginServer(registry) {
		return nil, fmt.Errorf("acr: registry %s is not an Azure Container Registry login server", registry)
	}
	id, err := p.identityFor(req, mirrored)
	if err != nil {
		return nil, fmt.Errorf("acr: registry %s: %s", registry, err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	start := time.Now()
	var saToken string
	if req.ServiceAccount != nil && id.kind == serviceAccountToken {
		saToken = req.ServiceAccount.Token
	}
	fail := func(step string, cause string, secrets ...string) error {
		secrets = append(secrets, saToken, id.secret, id.certPassword)
		msg := fmt.Sprintf("acr: registry %s: %s: %s: %s", registry, id, step, cause)
		return errors.New(exchange.OneLine(redact(msg, secrets...), 1000))
	}
	klog.V(loglevel.Decision).InfoS("Fetching ACR credentials", "registry", registry, "identity", id.String(), "mirrorOf", mirrorOf(req.Image.Host, mirrored))
	xc := p.clients()

	cred, err := p.credentialFor(id, saToken)
	if err != nil {
		return nil, fail("identity", err.Error())
	}

	// The registry challenge does not depend on the AAD token: ask for both at once.
	type challenged struct {
		ch  exchange.Challenge
		err error
	}
	chc := make(chan challenged, 1)
	go func() {
		ch, err := xc.Challenge(ctx, registry)
		chc <- challenged{ch, err}
	}()

	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{p.cloud.Scope()}})
	if err != nil {
		cause := timedOut(ctx, start, describeAADError(err)) + p.aadHint(id, registry, req.ServiceAccount, err)
		cancel()
		<-chc
		return nil, fail("AAD token", cause)
	}
	klog.V(loglevel.Decision).InfoS("Microsoft Entra token acquired", "registry", registry, "identity", id.String())
	klog.V(loglevel.Wire).InfoS("Microsoft Entra token", "registry", registry, "accessToken", loglevel.Masked(tok.Token), "expiresOn", tok.ExpiresOn.UTC().Format(time.RFC3339))
	c := <-chc
	if c.err != nil {
		return nil, fail("registry challenge", timedOut(ctx, start, c.err.Error()), tok.Token)
	}
	if realm := c.ch.Realm.Host; !strings.EqualFold(realm, registry) && !p.hosts.IsLoginServer(realm) {
		return nil, fail("registry challenge", fmt.Sprintf("realm host %s is not an ACR login server; not sending it an AAD token", realm))
	}
	tenant := id.tenantID
	if tenant == "" {
		tenant = exchange.TenantID(tok.Token)
	}
	refresh, err := xc.RefreshToken(ctx, c.ch, tenant, tok.Token)
	if err != nil {
		return nil, fail("token exchange", timedOut(ctx, start, err.Error())+p.exchangeHint(id, registry, err), tok.Token)
	}

	now := time.Now()
	expiry, ok := exchange.Expiry(refresh)
	switch {
	case !ok:
		expiry = now.Add(FallbackLifetime)
		klog.V(loglevel.Decision).InfoS("ACR refresh token has no readable expiry; assuming a short lifetime", "registry", registry, "lifetime", FallbackLifetime)
	case !expiry.After(now.Add(providers.MinSafetyMargin)):
		return nil, fail("token exchange", fmt.Sprintf("the refresh token expires at %s, already past or about to be (is the node clock right?)", expiry.UTC().Format(time.RFC3339)), tok.Token, refresh)
	}
	auth := providers.AuthConfig{Username: exchange.Username, Password: refresh}
	res := &providers.Result{
		Auth:         map[string]providers.AuthConfig{registry: auth},
		CacheKeyType: providers.RegistryPluginCacheKeyType,
		Expiry:       expiry,
	}
	if mirrored {
		res.Auth[req.Image.Host] = auth
	}
	klog.V(loglevel.Wire).InfoS("ACR refresh token", "registry", registry, "username", exchange.Username, "refreshToken", loglevel.Masked(refresh),
		"expiry", expiry.UTC().Format(time.RFC3339), "elapsed", time.Since(start).Round(time.Millisecond).String())
	return res, nil
}

// credentialFor builds the azidentity credential; the node's is built once per
// Provider, a service account's per request (its token is the assertion).
func (p *Provider) credentialFor(id identity, saToken string) (azcore.TokenCredential, error) {
	if id.kind == serviceAccountToken {
		return p.credential(id, saToken)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nodeCred == nil || id != p.node {
		c, err := p.credential(id, "")
		if err != nil {
			return nil, err
		}
		if id != p.node {
			return c, nil
		}
		p.nodeCred = c
	}
	return p.nodeCred, nil
}

func timedOut(ctx context.Context, start time.Time, cause string) string {
	if ctx.Err() != nil {
		return fmt.Sprintf("gave up after %s: %s", time.Since(start).Round(100*time.Millisecond), cause)
	}
	return cause
}

func mirrorOf(host string, mirrored bool) string {
	if mirrored {
		return host
	}
	return ""
}
