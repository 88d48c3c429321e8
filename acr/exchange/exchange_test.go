package exchange

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

func newFake(t *testing.T) (*azurefake.Server, *Client) {
	t.Helper()
	s, err := azurefake.Start(azurefake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := NewClient(&policy.ClientOptions{
		Transport: s.Client(),
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond},
	})
	return s, c
}

// aadToken gets a real managed-identity-style token from the fake over HTTP.
func aadToken(t *testing.T, s *azurefake.Server, audience string) string {
	t.Helper()
	u := "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + url.QueryEscape(audience)
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Metadata", "true")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := jsonDecode(resp, &body); err != nil || body.AccessToken == "" {
		t.Fatalf("fake IMDS: %v", err)
	}
	return body.AccessToken
}

func TestChallengeAndRefreshToken(t *testing.T) {
	s, c := newFake(t)
	ctx := context.Background()
	tok := aadToken(t, s, azurefake.DefaultAudience)

	for _, reg := range []string{"myacr.azurecr.io", "myacr.westeurope.geo.azurecr.io", "myacr.azurecr.io:8443"} {
		t.Run(reg, func(t *testing.T) {
			ch, err := c.Challenge(ctx, reg)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Service != reg || ch.Realm.Host != reg {
				t.Fatalf("challenge %+v", ch)
			}
			rt, err := c.RefreshToken(ctx, ch, TenantID(tok), tok)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ValidateRefreshToken(rt); err != nil {
				t.Fatal(err)
			}
			exp, ok := Expiry(rt)
			if !ok || time.Until(exp) < 2*time.Hour+50*time.Minute {
				t.Fatalf("expiry %v %v, want about 3h ahead", exp, ok)
			}
			ex := s.Exchanges()
			last := ex[len(ex)-1]
			if last.GrantType != "access_token" || last.Tenant != azurefake.DefaultTenantID || last.Host != reg {
				t.Fatalf("exchange sent %+v", last)
			}
		})
	}
}

func TestRefreshTokenFailures(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*azurefake.Server)
		token   func(t *testing.T, s *azurefake.Server) string
		wantErr string
		calls   int // exchange requests the fake should see
	}{
		{"401 for a token the registry does not accept", nil,
			func(t *testing.T, s *azurefake.Server) string { return aadToken(t, s, "https://management.azure.com") },
			"status 401: UNAUTHORIZED: the AAD access token's audience", 1},
		{"missing refresh_token", func(s *azurefake.Server) { s.SetRefreshTokenShape(azurefake.RefreshMissing) },
			func(t *testing.T, s *azurefake.Server) string { return aadToken(t, s, azurefake.DefaultAudience) },
			"no refresh_token", 1},
		{"empty refresh_token", func(s *azurefake.Server) { s.SetRefreshTokenShape(azurefake.RefreshEmpty) },
			func(t *testing.T, s *azurefake.Server) string { return aadToken(t, s, azurefake.DefaultAudience) },
			"empty refresh_token", 1},
		{"5xx retried then given up", func(s *azurefake.Server) { s.FailNext(azurefake.Exchange, 10, 503) },
			func(t *testing.T, s *azurefake.Server) string { return aadToken(t, s, azurefake.DefaultAudience) },
			"status 503", 3},
		{"one 5xx then success", func(s *azurefake.Server) { s.FailNext(azurefake.Exchange, 1, 500) },
			func(t *testing.T, s *azurefake.Server) string { return aadToken(t, s, azurefake.DefaultAudience) },
			"", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newFake(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			tok := tt.token(t, s)
			ch, err := c.Challenge(context.Background(), "myacr.azurecr.io")
			if err != nil {
				t.Fatal(err)
			}
			rt, err := c.RefreshToken(context.Background(), ch, "", tok)
			if got := s.Calls(azurefake.Exchange); got != tt.calls {
				t.Errorf("exchange calls %d, want %d", got, tt.calls)
			}
			if tt.wantErr == "" {
				if err != nil || rt == "" {
					t.Fatalf("rt %q err %v", rt, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error leaks the token or spans lines: %q", err)
			}
		})
	}
}

func TestChallengeFailures(t *testing.T) {
	s, c := newFake(t)
	s.FailNext(azurefake.Challenge, 10, 503)
	if _, err := c.Challenge(context.Background(), "myacr.azurecr.io"); err == nil || !strings.Contains(err.Error(), "status 503, want 401") {
		t.Fatalf("err = %v", err)
	}
	if got := s.Calls(azurefake.Challenge); got != 3 {
		t.Errorf("challenge calls %d, want 3 (retried)", got)
	}

	s.Hang(azurefake.Challenge, true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Challenge(ctx, "myacr.azurecr.io")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("hung challenge: err %v after %v", err, time.Since(start))
	}
}

func jsonDecode(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
