// Package providers is the plugin core: it turns one kubelet CredentialProviderRequest
// into one response by asking every backend that serves the image's registry host.
//
// The data flows request in → image parsed → backends chosen by host → credentials
// fetched (or read from the on-disk cache) → responses merged → response out.
package providers

import (
	"context"
	"time"
)

// CacheKeyType is the kubelet's cacheKeyType: how widely the kubelet may reuse an answer.
type CacheKeyType string

// The kubelet's cache key types, narrowest first.
const (
	ImagePluginCacheKeyType    CacheKeyType = "Image"
	RegistryPluginCacheKeyType CacheKeyType = "Registry"
	GlobalPluginCacheKeyType   CacheKeyType = "Global"
)

// Narrower reports whether k reuses an answer for fewer images than other.
func (k CacheKeyType) Narrower(other CacheKeyType) bool { return k.rank() < other.rank() }

func (k CacheKeyType) rank() int {
	switch k {
	case ImagePluginCacheKeyType:
		return 0
	case RegistryPluginCacheKeyType:
		return 1
	default:
		return 2
	}
}

// Image is an image reference reduced to what credential matching needs.
type Image struct {
	// Host is the registry host, with the port when the reference has one
	// ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "localhost:5000", "docker.io").
	Host string
	// Path is the repository path below the host ("library/nginx", "team/app").
	Path string
}

// Repository is the kubelet's repoToPull: host and path, no tag or digest.
func (i Image) Repository() string { return i.Host + "/" + i.Path }

// HostName is Host without the port.
func (i Image) HostName() string {
	for j := len(i.Host) - 1; j >= 0; j-- {
		switch i.Host[j] {
		case ':':
			return i.Host[:j]
		case ']':
			return i.Host
		}
	}
	return i.Host
}

// ServiceAccount is the pod identity the kubelet sends in service-account-token mode.
type ServiceAccount struct {
	// Token is the projected service account token. It is a secret: never log it,
	// never put it in an error, never use it (or a hash of it) as a cache key.
	Token string
	// Annotations are the service account annotations the kubelet passed on.
	Annotations map[string]string
	// Namespace, Name and UID come from the token's claims (read, not verified:
	// the cloud verifies the token when it is exchanged).
	Namespace, Name, UID string
}

// Request is one credential request after decoding and image parsing.
type Request struct {
	Image Image
	// ServiceAccount is nil unless the kubelet sent a service account token.
	ServiceAccount *ServiceAccount
}

// AuthConfig is one username/password pair, the only fields the kubelet accepts.
type AuthConfig struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Result is what one backend contributes for one request.
type Result struct {
	// Auth maps kubelet match patterns (host[:port][/path], globs allowed) to credentials.
	Auth map[string]AuthConfig
	// CacheKeyType is how widely the kubelet may reuse this answer.
	CacheKeyType CacheKeyType
	// Expiry is when the credentials stop working; zero when they do not expire
	// (static credentials). The kubelet's cacheDuration never reaches past it.
	Expiry time.Time
	// CacheDuration, when non-zero, caps how long the kubelet may keep the answer
	// (static backends use it; token backends leave it zero and let Expiry decide).
	CacheDuration time.Duration
	// Inputs, on an answer recorded for replay, holds the state of every local file
	// the answer was derived from (path → internal/filestate state): it is replayed
	// only while each is unchanged. Backends leave it nil.
	Inputs map[string]string
	// Problems are parts of the backend's configuration it could not use for this
	// answer and answered without (a docker config file that does not parse, a
	// credential helper that fails), one line each, naming the backend, what and why,
	// never a secret. Auth is what remains usable. The dispatcher gives an answer with
	// problems cacheDuration 0 and reports them, and such an answer is never recorded
	// for replay, so that once the problem is fixed the next pull sees it. The token
	// cache does not keep them: a Cacheable backend should not return problems.
	Problems []string
}

// Provider is one credential backend (static config.json, ECR, GCR, ACR).
type Provider interface {
	// Name is the backend's short name ("static", "ecr", "gcr", "acr"), used in
	// errors, logs and cache keys.
	Name() string
	// Serves reports whether the backend issues credentials for the image's registry.
	// It must be cheap and must not touch the network.
	Serves(img Image) bool
	// Credentials fetches credentials for the request. ctx carries the deadline.
	// Errors should name the registry and the cause, never a secret.
	Credentials(ctx context.Context, req Request) (*Result, error)
}

// Cacheable is implemented by backends whose credentials are worth keeping on disk
// between invocations (every token-issuing backend).
type Cacheable interface {
	Provider
	// CacheIdentity returns everything that changes which credentials come back for
	// req, apart from the registry and the repository (the cache adds those from the
	// scope): the backend's configuration such as credential source, role ARN, client
	// id, tenant, service account email, endpoint, and for service-account requests the
	// cloud identity selected by the annotations. It must be stable across runs and
	// must not contain secrets in clear (the cache hashes it, but keep it clean).
	// scope is the cacheKeyType the credentials are valid for.
	CacheIdentity(req Request) (identity string, scope CacheKeyType)
}

// Identifier is implemented by backends that can say which identity answers a
// request, for logs and the get command.
type Identifier interface {
	Provider
	// Identity says who answers req. It must be cheap, do no I/O and never contain a
	// secret; it is asked on cache hits too.
	Identity(req Request) Identity
}

// Identity is who answers a request, for people.
type Identity struct {
	// Who names the identity: "the node's AWS credentials", "role arn:... assumed
	// with the service account token (from its eks.amazonaws.com/ecr-role-arn
	// annotation)", "managed identity (client id ...)".
	Who string
	// NodeFallback, when not empty, says why a request that carries a service account
	// token is answered with the node's identity instead of the pod's, and what to set
	// to change that.
	NodeFallback string
}
