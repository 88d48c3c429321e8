package providers

import "context"

// CacheKey names one cached credential set. The on-disk cache hashes it; nothing in it
// is a secret (the service account token never is part of a key).
type CacheKey struct {
	Backend  string
	Identity string       // Cacheable.CacheIdentity
	Scope    CacheKeyType // which of the fields below take part
	Registry string       // host[:port], for Registry and Image scope
	Repo     string       // host[:port]/path, for Image scope
	// Pod identity in service-account-token mode: a token issued for one service
	// account is never served to another.
	SANamespace, SAName, SAUID string
}

// TokenCache keeps credentials between invocations of the plugin.
type TokenCache interface {
	// Fetch returns the fresh cached Result for key or, on a miss, calls fetch once
	// (across processes) and stores what it returns. When fetch fails and a cached entry
	// has not expired yet, Fetch may return that entry with a short CacheDuration.
	Fetch(ctx context.Context, key CacheKey, fetch func(context.Context) (*Result, error)) (*Result, error)
}
