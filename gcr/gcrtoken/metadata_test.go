package gcrtoken

import (
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

func TestParseMetadataToken(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		body    string
		expiry  time.Time
		wantErr string
	}{
		{`{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}`, now.Add(3599 * time.Second), ""},
		{`{"access_token":"ya29.x","expires_in":0}`, time.Time{}, "invalid expires_in"},
		{`{"access_token":"ya29.x","expires_in":-5}`, time.Time{}, "invalid expires_in"},
		{`{"access_token":"ya29.x"}`, time.Time{}, "invalid expires_in"},
		{`{"expires_in":10}`, time.Time{}, "no access_token"},
		{`{"access_token":"ya29.x","expires_in":"3600"}`, time.Time{}, "not the expected JSON"},
		{`<html>`, time.Time{}, "not the expected JSON"},
	}
	for _, tt := range tests {
		tok, err := parseMetadataToken(tt.body, now)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.body, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "ya29") {
				t.Errorf("%s: error leaks the token", tt.body)
			}
			continue
		}
		if err != nil || !tok.Expiry.Equal(tt.expiry) || tok.AccessToken != "ya29.x" {
			t.Errorf("%s: %v, %v", tt.body, tok, err)
		}
	}
}

func FuzzParseMetadataToken(f *testing.F) {
	f.Add(`{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}`)
	f.Add(`{"access_token":"","expires_in":1}`)
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, body string) {
		tok, err := parseMetadataToken(body, now)
		if err != nil {
			return
		}
		if tok.AccessToken == "" || !tok.Expiry.After(now) {
			t.Fatalf("accepted %q as %+v", body, tok)
		}
	})
}

// TestMetadataOutageRequests counts the requests that reach the metadata server when it
// fails. The token and the scopes are asked for at once; only the token is retried (the
// library tries a request 6 times: 1 + 5 retries). Bounds:
//   - a steady outage (every request 503) costs 7 requests: 6 token, 1 scopes. When the
//     two were retried separately it cost 12;
//   - whatever the server does, one credential fetch sends at most 12 requests
//     (metadataRequestBudget);
//   - a request failing for good cancels its sibling at once.
func TestMetadataOutageRequests(t *testing.T) {
	tests := []struct {
		name              string
		setup             func(*gcpfake.Server)
		token, scopes     [2]int // least and most requests reaching each endpoint
		want              string
		within            time.Duration // the fetch ends within this
		wantNoCredentials bool
	}{
		{"steady outage", func(f *gcpfake.Server) {
			f.FailNext(gcpfake.MetadataToken, 100, 503)
			f.FailNext(gcpfake.MetadataScopes, 100, 503)
		}, [2]int{6, 6}, [2]int{1, 1}, "503", 8 * time.Second, true},
		{"scopes outage", func(f *gcpfake.Server) {
			f.FailNext(gcpfake.MetadataScopes, 100, 503)
		}, [2]int{1, 1}, [2]int{7, 7}, "reading the account's scopes", 8 * time.Second, true},
		// The server recovers for the token, then fails the scopes asked again: the
		// budget ends it at 12 requests.
		{"flapping", func(f *gcpfake.Server) {
			f.FailNext(gcpfake.MetadataToken, 5, 503)
			f.FailNext(gcpfake.MetadataScopes, 100, 503)
		}, [2]int{6, 6}, [2]int{6, 6}, "gave up after 12 metadata server requests", 8 * time.Second, true},
		{"a brief outage is ridden out", func(f *gcpfake.Server) {
			f.FailNext(gcpfake.MetadataToken, 2, 503)
			f.FailNext(gcpfake.MetadataScopes, 2, 503)
		}, [2]int{3, 3}, [2]int{3, 3}, "", 8 * time.Second, false},
		// A refusal cancels the sibling, which the server holds for 10 s (or which is
		// cancelled before it is sent).
		{"token refused, scopes slow", func(f *gcpfake.Server) {
			f.FailNext(gcpfake.MetadataToken, 100, 403)
			f.SetDelay(gcpfake.MetadataScopes, 10*time.Second)
		}, [2]int{1, 1}, [2]int{0, 1}, "403", 5 * time.Second, true},
		{"scopes refused, token slow", func(f *gcpfake.Server) {
			f.FailNext(gcpfake.MetadataScopes, 100, 403)
			f.SetDelay(gcpfake.MetadataToken, 10*time.Second)
		}, [2]int{0, 1}, [2]int{1, 1}, "reading the account's scopes", 5 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			tt.setup(f)
			p := newProvider(t, gcr.Config{Timeout: duration.Of(15 * time.Second)})
			start := time.Now()
			res, err := fetch(t, p, request("gcr.io"))
			if el := time.Since(start); el > tt.within {
				t.Errorf("took %v, want within %v", el, tt.within)
			}
			tok, sc := f.Calls(gcpfake.MetadataToken), f.Calls(gcpfake.MetadataScopes)
			if tok < tt.token[0] || tok > tt.token[1] || sc < tt.scopes[0] || sc > tt.scopes[1] {
				t.Errorf("%d token and %d scopes requests, want %v and %v", tok, sc, tt.token, tt.scopes)
			}
			if n := f.TotalCalls(); n > metadataRequestBudget {
				t.Errorf("%d requests, more than the budget of %d", n, metadataRequestBudget)
			}
			if !tt.wantNoCredentials {
				if err != nil {
					t.Fatal(err)
				}
				tokenOf(t, res, "gcr.io")
				return
			}
			if res != nil {
				t.Fatal("got credentials from a failing metadata server")
			}
			checkOneLine(t, err, "gcr.io", "metadata server", tt.want)
		})
	}
}
