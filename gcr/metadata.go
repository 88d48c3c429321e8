package gcr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"k8s.io/klog/v2"
)

// Scopes that let a metadata-server token read images: any Cloud Storage scope
// (devstorage.read_only, read_write, full_control) or cloud-platform.
const (
	storageScopePrefix       = "https://www.googleapis.com/auth/devstorage."
	cloudPlatformScopePrefix = "https://www.googleapis.com/auth/cloud-platform"
)

// metadataToken gets the configured service account's token from the metadata server,
// checks the account's scopes (concurrently, to save a round trip) and refuses a token
// within the safety margin of its expiry after asking once more.
func (p *Provider) metadataToken(ctx context.Context) (*oauth2.Token, error) {
	c := metadata.NewClient(p.mdsClient)
	acct := p.cfg.ServiceAccount
	type scopesResult struct {
		scopes []string
		err    error
	}
	sc := make(chan scopesResult, 1)
	go func() {
		s, err := c.ScopesWithContext(ctx, acct)
		sc <- scopesResult{s, err}
	}()
	tok, err := p.fetchMetadataToken(ctx, c, acct)
	s := <-sc
	var nd metadata.NotDefinedError
	if errors.As(s.err, &nd) || errors.As(err, &nd) {
		return nil, fmt.Errorf("the instance has no service account %q", acct)
	}
	if s.err != nil {
		return nil, fmt.Errorf("reading the account's scopes: %w", s.err)
	}
	if !hasRegistryScope(s.scopes) {
		have := strings.Join(s.scopes, " ")
		if have == "" {
			have = "none"
		}
		return nil, fmt.Errorf("the account's scopes (%s) include neither %s* nor %s: give the node a storage-read or cloud-platform scope",
			have, storageScopePrefix, cloudPlatformScopePrefix)
	}
	if err != nil {
		return nil, err
	}
	if p.checkFresh(tok) != nil {
		klog.V(2).InfoS("Metadata server token is about to expire; asking again", "backend", Name, "expiresIn", time.Until(tok.Expiry).Round(time.Second))
		if tok, err = p.fetchMetadataToken(ctx, c, acct); err != nil {
			return nil, err
		}
		if err := p.checkFresh(tok); err != nil {
			return nil, fmt.Errorf("the metadata server gave a stale token: %w", err)
		}
	}
	return tok, nil
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
