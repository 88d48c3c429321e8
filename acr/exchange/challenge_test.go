package exchange

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name        string
		values      []string
		wantRealm   string
		wantService string
		wantErr     string
	}{
		{"acr", []string{`Bearer realm="https://myacr.azurecr.io/oauth2/token",service="myacr.azurecr.io"`}, "https://myacr.azurecr.io/oauth2/token", "myacr.azurecr.io", ""},
		{"spaces and case", []string{`bearer  Realm = "https://r.azurecr.io/oauth2/token" , SERVICE="r.azurecr.io"`}, "https://r.azurecr.io/oauth2/token", "r.azurecr.io", ""},
		{"unquoted token values", []string{`Bearer realm=https://r.azurecr.io/oauth2/token,service=r.azurecr.io`}, "https://r.azurecr.io/oauth2/token", "r.azurecr.io", ""},
		{"extra scope param", []string{`Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io",scope="repository:a:pull"`}, "https://r.azurecr.io/oauth2/token", "r.azurecr.io", ""},
		{"basic first in same value", []string{`Basic realm="Azure Container Registry", Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io"`}, "https://r.azurecr.io/oauth2/token", "r.azurecr.io", ""},
		{"basic in separate header", []string{`Basic realm="x"`, `Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io"`}, "https://r.azurecr.io/oauth2/token", "r.azurecr.io", ""},
		{"escaped quote", []string{`Bearer realm="https://r.azurecr.io/oauth2/token",service="r\"x"`}, "https://r.azurecr.io/oauth2/token", `r"x`, ""},
		{"geo replica with port", []string{`Bearer realm="https://r.eastus.geo.azurecr.io:8443/oauth2/token",service="r.eastus.geo.azurecr.io:8443"`}, "https://r.eastus.geo.azurecr.io:8443/oauth2/token", "r.eastus.geo.azurecr.io:8443", ""},
		{"no header", nil, "", "", "no Bearer challenge"},
		{"basic only", []string{`Basic realm="x"`}, "", "", "no Bearer challenge"},
		{"no realm", []string{`Bearer service="r.azurecr.io"`}, "", "", "has no realm"},
		{"no service", []string{`Bearer realm="https://r.azurecr.io/oauth2/token"`}, "", "", "has no service"},
		{"http realm", []string{`Bearer realm="http://r.azurecr.io/oauth2/token",service="r"`}, "", "", "not https"},
		{"relative realm", []string{`Bearer realm="/oauth2/token",service="r"`}, "", "", "not an absolute URL"},
		{"garbage", []string{`=,,"Bearer`}, "", "", "no Bearer challenge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := ParseChallenge(tt.values...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ch.Realm.String() != tt.wantRealm || ch.Service != tt.wantService {
				t.Fatalf("got realm %q service %q", ch.Realm, ch.Service)
			}
		})
	}
}

func TestExchangeURLUsesRealmHost(t *testing.T) {
	ch, err := ParseChallenge(`Bearer realm="https://r.azurecr.io:8443/oauth2/token?x=1",service="r.azurecr.io"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := ch.ExchangeURL(); got != "https://r.azurecr.io:8443/oauth2/exchange" {
		t.Fatalf("ExchangeURL = %q", got)
	}
}

// FuzzParseChallenge: never panics, always ends, and a well-formed challenge built
// from the fuzzed realm host and service always parses back to them.
func FuzzParseChallenge(f *testing.F) {
	f.Add(`Bearer realm="https://a.azurecr.io/oauth2/token",service="a.azurecr.io"`, "a.azurecr.io", "svc")
	f.Add(`Basic realm="x", Bearer realm=y`, "h", "s")
	f.Add(`=,,"\`, "", "")
	f.Fuzz(func(t *testing.T, header, host, service string) {
		_, _ = ParseChallenge(header)
		_ = parseChallenges(header)
		if host == "" || service == "" || strings.ContainsAny(host, "\"\\/?#@%[]: \t\r\n") || strings.ContainsAny(service, "\"\\\r\n") {
			return
		}
		h := fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, host, service)
		ch, err := ParseChallenge(h)
		if err != nil {
			return // host not a valid URL host (url.Parse rejects it); fine
		}
		if ch.Service != service || !strings.EqualFold(ch.Realm.Host, host) {
			t.Fatalf("round trip of %q gave realm host %q service %q", h, ch.Realm.Host, ch.Service)
		}
	})
}
