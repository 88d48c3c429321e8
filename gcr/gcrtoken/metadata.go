package gcrtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
)

// Scopes that let a metadata-server token read images: any Cloud Storage scope
// (devstorage.read_only, read_write, full_control) or cloud-platform.
const (
	storageScopePrefix       = "https://www.googleapis.com/auth/devstorage."
	cloudPlatformScopePrefix = "https://www.googleapis.com/auth/cloud-platform"
)

// metadataRequestBudget bounds the metadata server requests of one metadataToken call:
// the token and the scopes, each tried up to 6 times by the library (1 + 5 retries),
// as many as when both were retried on their own.
const metadataRequestBudget = 12

// metadataToken gets the configured service account's token from the metadata server,
// checks the account's scopes, and refuses a token within the safety margin of its
// expiry after asking once more.
//
// The token and the scopes are asked for at once, to save a round trip, but only the
// token request is retried (by the library: 1 + 5 attempts, about 3 s of backoff). The
// scopes request runs beside the token's first attempt; a failure worth retrying (5xx,
// 429, a network error) cuts it short, and it is asked again, with the library's
// retries, once the token has arrived. When either request fails for good, the other is
// cancelled. So a metadata server answering 503 costs 7 requests (6 token, 1 scopes)
// instead of 12; and whatever the server does, one call sends at most
// metadataRequestBudget requests, all within the caller's deadline (Config.Timeout).
func (p *Provider) metadataToken(ctx context.Context) (*oauth2.Token, error) {
	acct := p.cfg.ServiceAccount
	budget := &requestBudget{left: metadataRequestBudget}
	tokenCtx, cancelToken := context.WithCancel(ctx)
	defer cancelToken()
	scopesCtx, cancelScopes := context.WithCancel(ctx)
	defer cancelScopes()
	cut := &cutShort{cancel: cancelScopes}

	type scopesResult struct {
		scopes []string
		err    error
	}
	sc := make(chan scopesResult, 1)
	go func() {
		s, err := metadata.NewClient(p.metadataClient(budget, cut)).ScopesWithContext(scopesCtx, acct)
		if err != nil && !cut.happened() {
			cancelToken() // the scopes failed for good: the token is of no use
		}
		sc <- scopesResult{s, err}
	}()
	c := metadata.NewClient(p.metadataClient(budget, nil))
	tok, err := p.fetchMetadataToken(tokenCtx, c, acct)
	if err != nil {
		cancelScopes()
	}
	s := <-sc
	if cut.happened() {
		if err != nil {
			// The server failed both; the token's error is the one tried to the end.
			return nil, err
		}
		s.scopes, s.err = c.ScopesWithContext(ctx, acct)
	}
	var nd metadata.NotDefinedError
	if errors.As(s.err, &nd) || errors.As(err, &nd) {
		return nil, fmt.Errorf("the instance has no service account %q", acct)
	}
	if errors.Is(s.err, context.Canceled) && ctx.Err() == nil {
		// The token failed for good, and the scopes request was cancelled for it.
		return nil, err
	}
	if s.err != nil {
		return nil, fmt.Errorf("reading the account's scopes: %w", s.err)
	}
	if !hasRegistryScope(s.scopes) {
		have := strings.Join(s.scopes, " ")
		if have == "" {
			have = "none"
		}
		return nil, fmt.Errorf("the account's access scopes (%s) let it read no images: give the node (its VM or node pool) the cloud-platform scope, or a %s* scope such as devstorage.read_only, or set gcr.serviceAccount to an account that has one",
			have, storageScopePrefix)
	}
	if err != nil {
		return nil, err
	}
	if p.checkFresh(tok) != nil {
		klog.V(loglevel.Decision).InfoS("Metadata server token is about to expire; asking again", "backend", gcr.Name, "expiresIn", time.Until(tok.Expiry).Round(time.Second))
		if tok, err = p.fetchMetadataToken(ctx, c, acct); err != nil {
			return nil, err
		}
		if err := p.checkFresh(tok); err != nil {
			return nil, fmt.Errorf("the metadata server gave a stale token: %w", err)
		}
	}
	return tok, nil
}

// metadataClient is the metadata server client with every request counted against
// budget and, when cut is not nil, a request cut short at its first failure worth
// retrying instead of retried.
func (p *Provider) metadataClient(budget *requestBudget, cut *cutShort) *http.Client {
	c := *p.mdsClient
	c.Transport = guardedTransport{next: p.mdsClient.Transport, budget: budget, cut: cut}
	return &c
}

// requestBudget is how many more requests one metadataToken call may send.
type requestBudget struct {
	mu   sync.Mutex
	left int
}

func (b *requestBudget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		return false
	}
	b.left--
	return true
}

// cutShort ends a request at its first failure worth retrying.
type cutShort struct {
	cancel context.CancelFunc
	done   atomic.Bool
}

func (c *cutShort) happened() bool { return c.done.Load() }

// guardedTransport sends the metadata requests of one metadataToken call.
type guardedTransport struct {
	next   http.RoundTripper
	budget *requestBudget
	cut    *cutShort
}

func (g guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !g.budget.take() {
		return nil, fmt.Errorf("gave up after %d metadata server requests", metadataRequestBudget)
	}
	resp, err := g.next.RoundTrip(req)
	if g.cut != nil && req.Context().Err() == nil &&
		(err != nil || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests) {
		g.cut.done.Store(true)
		g.cut.cancel()
	}
	return resp, err
}

func (p *Provider) fetchMetadataToken(ctx context.Context, c *metadata.Client, acct string) (*oauth2.Token, error) {
	start := p.now()
	body, err := c.GetWithContext(ctx, "instance/service-accounts/"+acct+"/token")
	if err != nil {
		return nil, err
	}
	return parseMetadataToken(body, start)
}

// parseMetadataToken decodes the metadata server's token JSON; the expiry counts from
// issued, the time the request was sent, so it is never later than the server meant.
func parseMetadataToken(body string, issued time.Time) (*oauth2.Token, error) {
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, errors.New("the token response is not the expected JSON")
	}
	if t.AccessToken == "" {
		return nil, errors.New("the token response has no access_token")
	}
	if t.ExpiresIn <= 0 || t.ExpiresIn > 1<<31 {
		return nil, fmt.Errorf("the token response has an invalid expires_in (%d)", t.ExpiresIn)
	}
	return &oauth2.Token{
		AccessToken: t.AccessToken,
		TokenType:   t.TokenType,
		Expiry:      issued.Add(time.Duration(t.ExpiresIn) * time.Second),
	}, nil
}

func hasRegistryScope(scopes []string) bool {
	for _, s := range scopes {
		if strings.HasPrefix(s, storageScopePrefix) || strings.HasPrefix(s, cloudPlatformScopePrefix) {
			return true
		}
	}
	return false
}
