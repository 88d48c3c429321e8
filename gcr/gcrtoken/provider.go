// Package gcrtoken fetches Google registry credentials: Container Registry (gcr.io)
// and Artifact Registry (*.pkg.dev) credentials from the GCE/GKE metadata server, a
// Google credentials file (service-account key, workload identity federation,
// impersonation), the pod's service account token exchanged through STS (workload
// identity), or the docker config in the instance attributes google-dockercfg /
// google-dockercfg-url. It is the token half of the Google backend, whose configuration
// and host tables are package gcr.
//
// The answer for a Google registry is username "oauth2accesstoken" with an access token
// as password, keyed to the image's own host, cacheKeyType Registry, and an expiry taken
// from the token. Any failure to get credentials is an error naming the registry and the
// cause; the backend never answers "no credentials" for a Google registry.
package gcrtoken

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/internal/wirelog"
	"github.com/imagecred/image-credential-provider/providers"
)

// Username is the registry username that goes with a Google access token.
const Username = "oauth2accesstoken"

// dockerConfigCacheDuration caps how long an answer from the dockercfg sources is kept
// (the attributes can change at any time; the kubelet's own config.json cache is 5 min).
const dockerConfigCacheDuration = 5 * time.Minute

// metadataRequestTimeout bounds one request to the metadata server; the library
// retries transient failures within the overall deadline.
const metadataRequestTimeout = 5 * time.Second

const defaultProductNameFile = "/sys/class/dmi/id/product_name"

// Option changes how New builds the provider.
type Option func(*Provider)

// WithHTTPTransport sets the transport for calls to Google APIs (STS, IAM credentials,
// OAuth 2.0 token endpoints) and to https google-dockercfg-url locations. The default
// is a clone of http.DefaultTransport (proxies from the environment). Metadata server
// calls never go through a proxy.
func WithHTTPTransport(rt http.RoundTripper) Option { return func(p *Provider) { p.api = rt } }

// WithProductNameFile sets the DMI product-name file read to tell whether the machine is
// a GCE VM (default /sys/class/dmi/id/product_name).
func WithProductNameFile(path string) Option { return func(p *Provider) { p.productFile = path } }

// Provider is the Google backend. It implements providers.Provider and
// providers.Cacheable.
type Provider struct {
	cfg         gcr.Config // validated, defaults filled in
	hosts       *gcr.Hosts
	api         http.RoundTripper
	mdsClient   *http.Client
	productFile string
	now         func() time.Time

	gceOnce sync.Once
	gce     bool
}

var (
	_ providers.Cacheable  = (*Provider)(nil)
	_ providers.Hosts      = (*Provider)(nil)
	_ providers.Identifier = (*Provider)(nil)
)

// New validates cfg and returns the backend. It does no I/O.
func New(cfg gcr.Config, opts ...Option) (*Provider, error) {
	cfg, err := cfg.Validated()
	if err != nil {
		return nil, err
	}
	hosts, err := gcr.NewHosts(cfg)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, hosts: hosts, productFile: defaultProductNameFile, now: time.Now}
	for _, o := range opts {
		o(p)
	}
	if p.api == nil {
		p.api = http.DefaultTransport.(*http.Transport).Clone()
	}
	p.api = wirelog.Transport(gcr.Name, p.api)
	// The metadata library is given no logger (it logs nothing then): its debug lines
	// carry response bodies, access tokens among them. wirelog logs its calls instead.
	p.mdsClient = &http.Client{
		Transport: wirelog.Transport(gcr.Name, &http.Transport{
			Proxy:                 nil, // the metadata server is link-local: never via a proxy
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			ResponseHeaderTimeout: metadataRequestTimeout,
			MaxIdleConnsPerHost:   4,
		}),
		Timeout:       metadataRequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return p, nil
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return gcr.Name }

// Serves implements providers.Provider: Google registry hosts (see gcr.IsRegistryHost),
// and any host when DockerConfigAnyHost is set with a dockercfg source (gcr.Hosts).
func (p *Provider) Serves(img providers.Image) bool { return p.hosts.Serves(img) }

// ServesAnyHost reports whether every host is served (gcr.Hosts).
func (p *Provider) ServesAnyHost() bool { return p.hosts.ServesAnyHost() }

// MatchImages implements providers.Hosts (gcr.Hosts).
func (p *Provider) MatchImages() []string { return p.hosts.MatchImages() }

// wiPlan is the workload identity decision for one request.
type wiPlan struct {
	audience    string
	impersonate string // Google service account email, or "" for the federated token
}

// workloadPlan decides whether req is served with workload identity: nil means the
// node's credentials. It is pure (no network), so CacheIdentity can use it.
func (p *Provider) workloadPlan(req providers.Request) (*wiPlan, error) {
	w := p.cfg.WorkloadIdentity
	sa := req.ServiceAccount
	if !w.Enabled() || sa == nil {
		return nil, nil
	}
	if w.RequireOptIn && sa.Annotations[gcr.AnnotationEnableImagePull] != "true" {
		return nil, nil
	}
	if sa.Token == "" {
		if w.RequireOptIn {
			return nil, errors.New("workload identity: the service account opted in with " + gcr.AnnotationEnableImagePull + " but the kubelet sent no service account token")
		}
		return nil, nil
	}
	plan := &wiPlan{audience: w.STSAudience(), impersonate: w.ServiceAccount}
	if v, ok := sa.Annotations[gcr.AnnotationServiceAccount]; ok {
		v = strings.TrimSpace(v)
		if !gcr.IsServiceAccountEmail(v) {
			return nil, errors.New("workload identity: annotation " + gcr.AnnotationServiceAccount + " is not a service account email")
		}
		plan.impersonate = v
	}
	return plan, nil
}

// Identity implements providers.Identifier: workload identity federation (and the
// service account impersonated), or the node's credential sources, and, for a
// service-account request answered with the node's credentials, why.
func (p *Provider) Identity(req providers.Request) providers.Identity {
	plan, err := p.workloadPlan(req)
	switch {
	case err != nil:
		return providers.Identity{Who: "none: " + err.Error()}
	case plan != nil && plan.impersonate != "":
		return providers.Identity{Who: "service account " + plan.impersonate + ", impersonated with the pod's token through workload identity federation (audience " + plan.audience + ")"}
	case plan != nil:
		return providers.Identity{Who: "the pod's federated identity, through workload identity federation (audience " + plan.audience + ")"}
	}
	out := providers.Identity{Who: "the node's credentials (" + p.describeSources() + ")"}
	sa := req.ServiceAccount
	if sa == nil || sa.Token == "" {
		return out
	}
	if !p.cfg.WorkloadIdentity.Enabled() {
		out.NodeFallback = "workload identity is not configured (gcr.workloadIdentity in the config file, --gcr-wi-audience, or --identity-provider and --project-id for auth-provider-gcp)"
	} else {
		out.NodeFallback = "the service account is not annotated " + gcr.AnnotationEnableImagePull + `: "true", which requireOptIn asks for`
	}
	return out
}

// describeSources names the configured node credential sources, in order.
func (p *Provider) describeSources() string {
	var out []string
	for _, src := range p.cfg.Sources {
		switch src {
		case gcr.SourceKeyFile:
			if path := p.keyFilePath(); path != "" {
				out = append(out, "key file "+path)
			}
		case gcr.SourceMetadata:
			out = append(out, "metadata server account "+p.cfg.ServiceAccount)
		default:
			out = append(out, "metadata attribute "+attributeFor(src))
		}
	}
	return strings.Join(out, ", then ")
}

// CacheIdentity implements providers.Cacheable. In service-account-token mode it is the
// STS audience, endpoint and target service account; otherwise the configured sources
// with the key file path and metadata account. It never contains a token.
func (p *Provider) CacheIdentity(req providers.Request) (string, providers.CacheKeyType) {
	plan, err := p.workloadPlan(req)
	if err != nil {
		return "invalid", providers.RegistryPluginCacheKeyType
	}
	scopes := strings.Join(p.cfg.Scopes, ",")
	if plan != nil {
		return "wi|aud=" + plan.audience + "|sts=" + p.cfg.WorkloadIdentity.TokenURL +
			"|iam=" + p.cfg.WorkloadIdentity.IAMCredentialsURL + "|sa=" + plan.impersonate +
			"|scopes=" + scopes, providers.RegistryPluginCacheKeyType
	}
	return "node|sources=" + strings.Join(p.cfg.Sources, ",") + "|keyfile=" + p.keyFilePath() +
		"|mds=" + os.Getenv("GCE_METADATA_HOST") + "|sa=" + p.cfg.ServiceAccount +
		"|scopes=" + scopes, providers.RegistryPluginCacheKeyType
}

// keyFilePath is the configured key file, else GOOGLE_APPLICATION_CREDENTIALS.
func (p *Provider) keyFilePath() string {
	if p.cfg.KeyFile != "" {
		return p.cfg.KeyFile
	}
	return os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
}

// errNotAvailable marks a source that does not apply here (not on GCE, nothing set).
type errNotAvailable struct{ why string }

func (e errNotAvailable) Error() string { return e.why }

// Credentials implements providers.Provider.
func (p *Provider) Credentials(ctx context.Context, req providers.Request) (*providers.Result, error) {
	host := req.Image.Host
	if !p.Serves(req.Image) {
		return nil, registryError(host, "not a Google registry host (gcr.io, *.gcr.io, container.cloud.google.com, *.pkg.dev, docker.<region>.rep.pkg.dev)")
	}
	bound := p.cfg.Timeout.Duration
	if d, ok := ctx.Deadline(); ok && time.Until(d) < bound {
		bound = time.Until(d).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.Duration)
	defer cancel()
	var secrets []string
	if req.ServiceAccount != nil {
		secrets = append(secrets, req.ServiceAccount.Token)
	}
	fail := func(what string, err error) (*providers.Result, error) {
		return nil, registryError(host, what+": "+describe(err, bound, secrets...))
	}

	plan, err := p.workloadPlan(req)
	if err != nil {
		return fail("service account token", err)
	}
	if plan != nil {
		if !gcr.IsRegistryHost(host) {
			return nil, registryError(host, "workload identity tokens are only sent to Google registries")
		}
		klog.V(loglevel.Decision).InfoS("Exchanging the service account token through STS", "backend", gcr.Name, "registry", host, "audience", plan.audience, "impersonate", plan.impersonate)
		what := "workload identity (audience " + plan.audience + ")"
		if plan.impersonate != "" {
			what = "workload identity as " + plan.impersonate
		}
		tok, err := p.workloadToken(ctx, req.ServiceAccount.Token, plan)
		if err != nil {
			res, ferr := fail(what, err)
			if h := workloadHint(plan, req.ServiceAccount, err); h != "" && ferr != nil {
				ferr = errors.New(ferr.Error() + h)
			}
			return res, ferr
		}
		logToken(host, what, tok)
		return p.tokenResult(host, tok), nil
	}

	google := gcr.IsRegistryHost(host)
	var skipped []string
	for _, src := range p.cfg.Sources {
		var (
			tok  *oauth2.Token
			cfg  *dockercfg.File
			err  error
			what string
		)
		switch src {
		case gcr.SourceKeyFile:
			if !google {
				continue
			}
			path := p.keyFilePath()
			if path == "" {
				skipped = append(skipped, "no key file (GOOGLE_APPLICATION_CREDENTIALS is not set)")
				klog.V(loglevel.Decision).InfoS("Credential source skipped", "backend", gcr.Name, "registry", host, "source", src, "why", "no key file (keyFile, GOOGLE_APPLICATION_CREDENTIALS)")
				continue
			}
			what = "key file " + path
			tok, err = p.keyFileToken(ctx, path)
		case gcr.SourceMetadata:
			if !google {
				continue
			}
			if !p.onGCE(ctx) {
				skipped = append(skipped, "not on GCE (no metadata server; set GCE_METADATA_HOST to name one)")
				klog.V(loglevel.Decision).InfoS("Credential source skipped", "backend", gcr.Name, "registry", host, "source", src, "why", "not on GCE: no metadata server")
				continue
			}
			what = "metadata server (service account " + p.cfg.ServiceAccount + ")"
			tok, err = p.metadataToken(ctx)
		case gcr.SourceDockerCfg, gcr.SourceDockerCfgURL:
			if !p.onGCE(ctx) {
				skipped = append(skipped, "not on GCE (no metadata server for "+src+")")
				klog.V(loglevel.Decision).InfoS("Credential source skipped", "backend", gcr.Name, "registry", host, "source", src, "why", "not on GCE: no metadata server")
				continue
			}
			what = "metadata attribute " + attributeFor(src)
			cfg, err = p.dockerConfig(ctx, src)
		}
		var na errNotAvailable
		if errors.As(err, &na) {
			skipped = append(skipped, na.why)
			klog.V(loglevel.Decision).InfoS("Credential source skipped", "backend", gcr.Name, "registry", host, "source", what, "why", na.why)
			continue
		}
		if err != nil {
			return fail(what, err)
		}
		klog.V(loglevel.Decision).InfoS("Credential source answered", "backend", gcr.Name, "registry", host, "source", what)
		if tok != nil {
			logToken(host, what, tok)
			return p.tokenResult(host, tok), nil
		}
		return dockerConfigResult(host, src, cfg)
	}
	if len(skipped) == 0 {
		return nil, registryError(host, "no credential source applies to this registry")
	}
	return nil, registryError(host, "no Google credentials: "+strings.Join(skipped, "; "))
}

// logToken shows, at loglevel.Wire, the shape of an access token: masked.
func logToken(host, source string, tok *oauth2.Token) {
	klog.V(loglevel.Wire).InfoS("Google access token", "backend", gcr.Name, "registry", host, "source", source,
		"accessToken", loglevel.Masked(tok.AccessToken), "tokenType", tok.TokenType, "expiry", tok.Expiry.UTC().Format(time.RFC3339))
}

func (p *Provider) tokenResult(host string, tok *oauth2.Token) *providers.Result {
	return &providers.Result{
		Auth:         map[string]providers.AuthConfig{host: {Username: Username, Password: tok.AccessToken}},
		CacheKeyType: providers.RegistryPluginCacheKeyType,
		Expiry:       tok.Expiry,
	}
}

func dockerConfigResult(host, src string, cfg *dockercfg.File) (*providers.Result, error) {
	auth := dockerConfigAuth(cfg, host)
	if len(auth) == 0 {
		return nil, registryError(host, "metadata attribute "+attributeFor(src)+": the docker config has no entry for this registry")
	}
	return &providers.Result{Auth: auth, CacheKeyType: providers.RegistryPluginCacheKeyType, CacheDuration: dockerConfigCacheDuration}, nil
}

// onGCE tells whether a metadata server is there, without the network when it can:
// GCE_METADATA_HOST set means yes; a readable DMI product name decides; otherwise the
// metadata library's probe, bounded by DetectTimeout.
func (p *Provider) onGCE(ctx context.Context) bool {
	p.gceOnce.Do(func() {
		if os.Getenv("GCE_METADATA_HOST") != "" {
			p.gce = true
			return
		}
		if b, err := os.ReadFile(p.productFile); err == nil {
			name := strings.TrimSpace(string(b))
			p.gce = name == "Google" || name == "Google Compute Engine"
			return
		}
		dctx, cancel := context.WithTimeout(ctx, p.cfg.DetectTimeout.Duration)
		defer cancel()
		p.gce = metadata.NewClient(p.mdsClient).OnGCEWithContext(dctx)
	})
	return p.gce
}

// checkFresh refuses a token that is empty, has no expiry, or expires within the
// safety margin.
func (p *Provider) checkFresh(tok *oauth2.Token) error {
	if tok == nil || tok.AccessToken == "" {
		return errors.New("empty access token")
	}
	if tok.Expiry.IsZero() {
		return errors.New("the token has no expiry")
	}
	if left := tok.Expiry.Sub(p.now()); left < providers.MinSafetyMargin {
		return errors.New("the token expires in " + left.Round(time.Second).String() + ", within the " + providers.MinSafetyMargin.String() + " safety margin")
	}
	return nil
}

// tokenWithin runs ts.Token() and gives up when ctx ends (some oauth2 token sources do
// not pass a context to their HTTP requests).
func tokenWithin(ctx context.Context, ts oauth2.TokenSource) (*oauth2.Token, error) {
	type result struct {
		tok *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		t, err := ts.Token()
		ch <- result{t, err}
	}()
	select {
	case r := <-ch:
		return r.tok, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// apiContext returns ctx carrying an HTTP client for the oauth2 libraries, bounded by
// ctx's deadline. The client's own bound is a little later than the deadline, so that
// the deadline (which tokenWithin reports as a time-out) is what ends a slow call,
// also for libraries that do not pass ctx to their requests.
func (p *Provider) apiContext(ctx context.Context) context.Context {
	hc := &http.Client{Transport: p.api}
	if d, ok := ctx.Deadline(); ok {
		hc.Timeout = time.Until(d) + 100*time.Millisecond
	}
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}
