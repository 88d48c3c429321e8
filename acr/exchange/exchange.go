// Package exchange is the Azure Container Registry half of registry authentication:
// it reads a registry's Bearer challenge (GET /v2/) and trades a Microsoft Entra ID
// access token for an ACR refresh token (POST /oauth2/exchange), which the kubelet then
// uses as the password of the user 00000000-0000-0000-0000-000000000000.
//
// Requests go through an azcore pipeline, so they get the SDK's retry policy (5xx, 429
// and network errors; never 4xx), telemetry and context handling. AAD tokens
// themselves come from azidentity, not from here.
package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
)

// Username is the user name that goes with an ACR refresh token.
const Username = "00000000-0000-0000-0000-000000000000"

// maxBody bounds how much of a response is read.
const maxBody = 1 << 20

// Client talks to ACR login servers.
type Client struct {
	pl runtime.Pipeline
}

// NewClient builds a client whose requests go through an azcore pipeline with opts
// (transport, retry). nil means the SDK defaults.
func NewClient(opts *policy.ClientOptions) *Client {
	return &Client{pl: runtime.NewPipeline("imagecred/acr", "v1", runtime.PipelineOptions{}, opts)}
}

// Challenge asks https://<registry>/v2/ for its Bearer challenge. registry is a host
// with an optional port.
func (c *Client) Challenge(ctx context.Context, registry string) (Challenge, error) {
	u := (&url.URL{Scheme: "https", Host: registry, Path: "/v2/"}).String()
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return Challenge{}, fmt.Errorf("challenge request: %w", err)
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		return Challenge{}, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return Challenge{}, fmt.Errorf("GET %s: status %d, want 401 with a Bearer challenge", u, resp.StatusCode)
	}
	ch, err := ParseChallenge(resp.Header.Values("WWW-Authenticate")...)
	if err != nil {
		return Challenge{}, fmt.Errorf("GET %s: %w", u, err)
	}
	return ch, nil
}

// ExchangeURL is where a refresh token is asked for: /oauth2/exchange on the realm's
// host.
func (ch Challenge) ExchangeURL() string {
	return (&url.URL{Scheme: "https", Host: ch.Realm.Host, Path: "/oauth2/exchange"}).String()
}

// RefreshToken trades an AAD access token for an ACR refresh token at the challenge's
// realm host (grant_type=access_token). tenant may be empty. An answer without a
// refresh token is an error. Errors never contain the tokens.
func (c *Client) RefreshToken(ctx context.Context, ch Challenge, tenant, aadToken string) (string, error) {
	form := url.Values{
		"grant_type":   {"access_token"},
		"service":      {ch.Service},
		"access_token": {aadToken},
	}
	if tenant != "" {
		form.Set("tenant", tenant)
	}
	u := ch.ExchangeURL()
	req, err := runtime.NewRequest(ctx, http.MethodPost, u)
	if err != nil {
		return "", fmt.Errorf("exchange request: %w", err)
	}
	req.Raw().Header.Set("Accept", "application/json")
	body := []byte(form.Encode())
	if err := req.SetBody(streaming.NopCloser(bytes.NewReader(body)), "application/x-www-form-urlencoded"); err != nil {
		return "", fmt.Errorf("exchange request: %w", err)
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		return "", fmt.Errorf("POST %s: reading answer: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", &StatusError{URL: u, Status: resp.StatusCode, Detail: describeError(data)}
	}
	var out struct {
		RefreshToken *string `json:"refresh_token"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("POST %s: answer is not JSON", u)
	}
	switch {
	case out.RefreshToken == nil:
		return "", fmt.Errorf("POST %s: answer has no refresh_token", u)
	case strings.TrimSpace(*out.RefreshToken) == "":
		return "", fmt.Errorf("POST %s: answer has an empty refresh_token", u)
	}
	return *out.RefreshToken, nil
}

func readBody(resp *http.Response) ([]byte, error) {
	var b bytes.Buffer
	n, err := b.ReadFrom(http.MaxBytesReader(nil, resp.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("answer larger than %d bytes", maxBody)
		}
		return nil, err
	}
	return b.Bytes()[:n], nil
}

// describeError turns an ACR or OAuth error body into ": CODE: message" on one line,
// or "" when the body says nothing readable.
func describeError(data []byte) string {
	var acr struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(data, &acr) != nil {
		return ""
	}
	var parts []string
	if len(acr.Errors) > 0 {
		parts = append(parts, acr.Errors[0].Code, acr.Errors[0].Message)
	} else {
		parts = append(parts, acr.Error, acr.Description)
	}
	var out string
	for _, p := range parts {
		if p = OneLine(p, 200); p != "" {
			out += ": " + p
		}
	}
	return out
}

// OneLine collapses whitespace runs (newlines included) to single spaces and cuts the
// result to at most max bytes, marking a cut with "...".
func OneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// StatusError is the registry's refusal of an exchange.
type StatusError struct {
	// URL is the exchange endpoint.
	URL string
	// Status is the HTTP status of the answer.
	Status int
	// Detail is ": " and the registry's error, or empty.
	Detail string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("POST %s: status %d%s", e.URL, e.Status, e.Detail)
}
