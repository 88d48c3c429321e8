package connectproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/test/fake/testca"
)

func TestProxySplicesAllowedHostsToTarget(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "host="+r.Host)
	}))
	target.TLS = ca.ServerConfig()
	target.StartTLS()
	defer target.Close()

	p, err := Start(target.Listener.Addr().String(), "myacr.azurecr.io", "login.microsoftonline.com:443")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	proxyURL, _ := url.Parse(p.URL)
	client := &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxyURL),
		TLSClientConfig: ca.ClientConfig(),
	}}

	tests := []struct {
		url      string
		wantBody string // empty: the request must fail
	}{
		{"https://myacr.azurecr.io/v2/", "host=myacr.azurecr.io"},
		{"https://myacr.azurecr.io:8443/v2/", "host=myacr.azurecr.io:8443"},
		{"https://login.microsoftonline.com/common/discovery/instance", "host=login.microsoftonline.com"},
		{"https://login.microsoftonline.com:8443/x", ""}, // only :443 allowed for this host
		{"https://example.com/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			resp, err := client.Get(tt.url)
			if tt.wantBody == "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request went through, want refusal")
				}
				if !strings.Contains(err.Error(), "Forbidden") {
					t.Fatalf("error %v, want a 403 from the proxy", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tt.wantBody {
				t.Fatalf("body %q, want %q", body, tt.wantBody)
			}
		})
	}
	got := p.Connects()
	if got["myacr.azurecr.io:443"] != 1 || got["myacr.azurecr.io:8443"] != 1 || got["login.microsoftonline.com:443"] != 1 {
		t.Errorf("connects = %v", got)
	}
	if r := p.Refused(); r["example.com:443"] != 1 || r["login.microsoftonline.com:8443"] != 1 {
		t.Errorf("refused = %v", r)
	}
}

func TestStartRefusesNonLoopbackTarget(t *testing.T) {
	for _, target := range []string{"10.0.0.1:443", "example.com:443", "127.0.0.1", ""} {
		if p, err := Start(target); err == nil {
			p.Close()
			t.Errorf("Start(%q) succeeded, want error", target)
		}
	}
}

func TestPlainRequestsAreRefused(t *testing.T) {
	p, err := Start("127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	resp, err := http.Get(p.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405", resp.StatusCode)
	}
}
