package gcpfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, u string, flavor bool) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if flavor {
		req.Header.Set("Metadata-Flavor", "Google")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestMetadataNeedsFlavorHeader(t *testing.T) {
	s := New()
	defer s.Close()
	u := s.URL + "/computeMetadata/v1/instance/service-accounts/default/token"
	resp, _ := get(t, u, false)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Metadata-Flavor") != "Google" {
		t.Errorf("without the header: %d, flavor %q", resp.StatusCode, resp.Header.Get("Metadata-Flavor"))
	}
	if s.Calls(MetadataRejected) != 1 || s.Calls(MetadataToken) != 0 || len(s.Issued()) != 0 {
		t.Errorf("rejected %d, token calls %d, issued %d", s.Calls(MetadataRejected), s.Calls(MetadataToken), len(s.Issued()))
	}
	resp, body := get(t, u, true)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &tok) != nil || !s.Valid(tok.AccessToken) || tok.ExpiresIn != 3600 {
		t.Errorf("with the header: %d %q", resp.StatusCode, body)
	}
}

func TestMetadataKnobs(t *testing.T) {
	s := New()
	defer s.Close()
	base := s.URL + "/computeMetadata/v1/"
	s.SetTokenLifetimes(30*time.Second, 2*time.Hour)
	var lifetimes []int
	for range 3 {
		_, body := get(t, base+"instance/service-accounts/default/token", true)
		var tok struct {
			ExpiresIn int `json:"expires_in"`
		}
		_ = json.Unmarshal([]byte(body), &tok)
		lifetimes = append(lifetimes, tok.ExpiresIn)
	}
	if lifetimes[0] != 30 || lifetimes[1] != 7200 || lifetimes[2] != 7200 {
		t.Errorf("lifetimes %v, want [30 7200 7200]", lifetimes)
	}
	s.SetScopes("default", ScopeLogging)
	if _, body := get(t, base+"instance/service-accounts/default/scopes", true); body != ScopeLogging+"\n" {
		t.Errorf("scopes %q", body)
	}
	if _, body := get(t, base+"instance/service-accounts/default/email", true); body != DefaultEmail {
		t.Errorf("email %q", body)
	}
	if resp, _ := get(t, base+"instance/attributes/google-dockercfg", true); resp.StatusCode != 404 {
		t.Errorf("undefined attribute: %d", resp.StatusCode)
	}
	s.SetAttribute("google-dockercfg", "{}")
	if _, body := get(t, base+"instance/attributes/google-dockercfg", true); body != "{}" {
		t.Errorf("attribute %q", body)
	}
	s.FailNext(MetadataToken, 2, 503)
	for i, want := range []int{503, 503, 200} {
		if resp, _ := get(t, base+"instance/service-accounts/default/token", true); resp.StatusCode != want {
			t.Errorf("call %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	if s.Calls(MetadataToken) != 6 {
		t.Errorf("token calls %d, want 6", s.Calls(MetadataToken))
	}
	if _, body := get(t, base+"project/project-id", true); body != DefaultProjectID {
		t.Errorf("project %q", body)
	}
}

func TestSTSAndImpersonation(t *testing.T) {
	s := New()
	defer s.Close()
	s.AcceptSubjectTokens("pod-token")
	exchange := func(subject string) (int, string) {
		resp, err := http.PostForm(s.STSURL, url.Values{
			"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"audience":             {"aud"},
			"subject_token":        {subject},
			"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
			"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.AccessToken
	}
	if code, _ := exchange("other"); code != 400 {
		t.Errorf("unaccepted subject token: %d", code)
	}
	code, fed := exchange("pod-token")
	if code != 200 || !s.Valid(fed) || s.LastSTSRequest().SubjectToken != "pod-token" {
		t.Fatalf("exchange: %d", code)
	}
	impersonate := func(bearer string) int {
		req, _ := http.NewRequest(http.MethodPost, s.ImpersonationURL("t@p.iam.gserviceaccount.com"), strings.NewReader(`{"scope":["x"],"lifetime":"600s"}`))
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := impersonate("not-issued"); code != 401 {
		t.Errorf("unknown bearer: %d", code)
	}
	if code := impersonate(fed); code != 200 {
		t.Errorf("federated bearer: %d", code)
	}
	last := s.Issued()[len(s.Issued())-1]
	if last.Source != IAMCredentials || last.Identity != "t@p.iam.gserviceaccount.com" || time.Until(last.Expiry) > 601*time.Second {
		t.Errorf("impersonated token %+v", last)
	}
	if s.LastImpersonation().Caller != "federated:aud" {
		t.Errorf("caller %q", s.LastImpersonation().Caller)
	}
}

func TestOAuth2RejectsUnknownKeys(t *testing.T) {
	s := New()
	defer s.Close()
	resp, err := http.PostForm(s.OAuth2TokenURL, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || len(s.Issued()) != 0 {
		t.Errorf("bad assertion: %d, issued %d", resp.StatusCode, len(s.Issued()))
	}
}

func TestListenOnlyLoopback(t *testing.T) {
	if _, err := Listen("0.0.0.0:0"); err == nil {
		t.Error("Listen accepted a non-loopback address")
	}
}
