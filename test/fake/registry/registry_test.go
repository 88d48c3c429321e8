package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imagecred/image-credential-provider/test/fake/testca"
)

// issued is a stand-in for a cloud fake: it knows the tokens it issued and can expire them.
type issued struct {
	token   string
	expired atomic.Bool
}

func (i *issued) valid(secret string) error {
	if secret != i.token {
		return errors.New("not a token this fake issued")
	}
	if i.expired.Load() {
		return errors.New("token expired")
	}
	return nil
}

func startTLS(t *testing.T, auth Auth) (*Server, *http.Transport) {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(Config{Auth: auth, TLS: ca.ServerConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = ca.ClientConfig()
	return s, tr
}

// pull fetches the manifest and every blob, verifying digests, and returns the status
// code of a transport error (0 on success).
func pull(t *testing.T, s *Server, tr http.RoundTripper, repo string, auth authn.Authenticator) (int, error) {
	t.Helper()
	ref, err := name.NewTag(s.Addr + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithTransport(tr), remote.WithAuth(auth))
	if err == nil {
		if _, cerr := img.RawConfigFile(); cerr != nil {
			err = cerr
		}
		ls, lerr := img.Layers()
		if lerr != nil {
			err = lerr
		}
		for _, l := range ls {
			rc, cerr := l.Compressed()
			if cerr != nil {
				err = cerr
				break
			}
			_, cerr = io.Copy(io.Discard, rc) // remote layers verify their digest at EOF
			rc.Close()
			if cerr != nil {
				err = cerr
				break
			}
		}
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode, err
	}
	return 0, err
}

func TestPullsEnforceEachCloudsAuth(t *testing.T) {
	tok := &issued{token: "issued-token-1"}
	static := StaticAuth(
		User{Name: "alice", Password: "alice-pw"},
		User{Name: "sub", Password: "sub-pw", Repos: []string{"images/subpath"}},
	)
	cases := []struct {
		name    string
		auth    Auth
		repo    string
		creds   authn.Authenticator
		expire  bool
		wantErr int // 0 = pull succeeds
	}{
		{"ecr good", ECRAuth(tok.valid), "team/app", &authn.Basic{Username: "AWS", Password: tok.token}, false, 0},
		{"ecr wrong token", ECRAuth(tok.valid), "team/app", &authn.Basic{Username: "AWS", Password: "forged"}, false, 401},
		{"ecr wrong user", ECRAuth(tok.valid), "team/app", &authn.Basic{Username: "aws", Password: tok.token}, false, 401},
		{"ecr expired", ECRAuth(tok.valid), "team/app", &authn.Basic{Username: "AWS", Password: tok.token}, true, 401},
		{"ecr anonymous", ECRAuth(tok.valid), "team/app", authn.Anonymous, false, 401},
		{"ecr public good", ECRPublicAuth(tok.valid), "alias/app", &authn.Basic{Username: "AWS", Password: tok.token}, false, 0},
		{"ecr public wrong token", ECRPublicAuth(tok.valid), "alias/app", &authn.Basic{Username: "AWS", Password: "forged"}, false, 401},
		{"ecr public expired", ECRPublicAuth(tok.valid), "alias/app", &authn.Basic{Username: "AWS", Password: tok.token}, true, 401},
		{"ecr public anonymous", ECRPublicAuth(tok.valid), "alias/app", authn.Anonymous, false, 401},
		{"google good", GoogleAuth(tok.valid), "proj/repo/app", &authn.Basic{Username: "oauth2accesstoken", Password: tok.token}, false, 0},
		{"google wrong token", GoogleAuth(tok.valid), "proj/repo/app", &authn.Basic{Username: "oauth2accesstoken", Password: "forged"}, false, 401},
		{"google expired", GoogleAuth(tok.valid), "proj/repo/app", &authn.Basic{Username: "oauth2accesstoken", Password: tok.token}, true, 401},
		{"google wrong user", GoogleAuth(tok.valid), "proj/repo/app", &authn.Basic{Username: "_json_key", Password: tok.token}, false, 401},
		{"google anonymous", GoogleAuth(tok.valid), "proj/repo/app", authn.Anonymous, false, 401},
		{"acr refresh token basic", ACRAuth(tok.valid), "app", &authn.Basic{Username: ACRRefreshTokenUsername, Password: tok.token}, false, 0},
		{"acr refresh token oauth POST", ACRAuth(tok.valid), "app", authn.FromConfig(authn.AuthConfig{IdentityToken: tok.token}), false, 0},
		{"acr wrong refresh token", ACRAuth(tok.valid), "app", &authn.Basic{Username: ACRRefreshTokenUsername, Password: "forged"}, false, 401},
		{"acr expired refresh token", ACRAuth(tok.valid), "app", authn.FromConfig(authn.AuthConfig{IdentityToken: tok.token}), true, 401},
		{"static good", static, "images/app", &authn.Basic{Username: "alice", Password: "alice-pw"}, false, 0},
		{"static wrong password", static, "images/app", &authn.Basic{Username: "alice", Password: "nope"}, false, 401},
		{"static path user on its path", static, "images/subpath/app", &authn.Basic{Username: "sub", Password: "sub-pw"}, false, 0},
		{"static path user elsewhere", static, "images/app", &authn.Basic{Username: "sub", Password: "sub-pw"}, false, 401},
		{"static token flow path user elsewhere", StaticTokenAuth(User{Name: "sub", Password: "sub-pw", Repos: []string{"images/subpath"}}), "images/app", &authn.Basic{Username: "sub", Password: "sub-pw"}, false, 401},
		{"static token flow good", StaticTokenAuth(User{Name: "alice", Password: "alice-pw"}), "images/app", &authn.Basic{Username: "alice", Password: "alice-pw"}, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok.expired.Store(tc.expire)
			s, tr := startTLS(t, tc.auth)
			want, err := s.Seed(tc.repo, "v1")
			if err != nil {
				t.Fatal(err)
			}
			code, err := pull(t, s, tr, tc.repo, tc.creds)
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("pull failed: %v", err)
				}
				st := s.Stats()
				if st.Blobs != int64(len(want.Layers)+1) {
					t.Errorf("blobs served = %d, want %d (config + layers)", st.Blobs, len(want.Layers)+1)
				}
				if len(st.Pulls) != 1 || st.Pulls[0].Repo != tc.repo {
					t.Errorf("pulls recorded = %+v", st.Pulls)
				}
				return
			}
			if code != tc.wantErr {
				t.Fatalf("pull error status = %d (%v), want %d", code, err, tc.wantErr)
			}
			if s.Stats().Blobs != 0 {
				t.Errorf("blobs were served to a refused client")
			}
		})
	}
}

func TestBearerTokenExpiryForcesRefresh(t *testing.T) {
	tok := &issued{token: "tok"}
	s, tr := startTLS(t, GoogleAuth(tok.valid))
	if _, err := s.Seed("p/app", "v1"); err != nil {
		t.Fatal(err)
	}
	creds := &authn.Basic{Username: GoogleUsername, Password: tok.token}
	if _, err := pull(t, s, tr, "p/app", creds); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	tok.expired.Store(true) // upstream token now expired too: the refresh must be refused
	if code, _ := pull(t, s, tr, "p/app", creds); code != http.StatusUnauthorized {
		t.Fatalf("pull after expiry: status %d, want 401", code)
	}
	if st := s.Stats(); st.TokensRefused == 0 || st.TokensIssued != 1 {
		t.Fatalf("stats after expiry = %+v", st)
	}
}

func TestTokenEndpointProtocol(t *testing.T) {
	tok := &issued{token: "refresh"}
	s, tr := startTLS(t, ACRAuth(tok.valid))
	client := &http.Client{Transport: tr}
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	cases := []struct {
		name   string
		method string
		header string
		form   url.Values
		want   int
	}{
		{"GET basic", http.MethodGet, basic(ACRRefreshTokenUsername, "refresh"), nil, 200},
		{"GET no auth", http.MethodGet, "", nil, 401},
		{"GET bad token", http.MethodGet, basic(ACRRefreshTokenUsername, "x"), nil, 401},
		{"POST refresh_token", http.MethodPost, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"refresh"}, "service": {"x"}, "scope": {"repository:app:pull"}}, 200},
		{"POST password", http.MethodPost, "", url.Values{"grant_type": {"password"}, "username": {ACRRefreshTokenUsername}, "password": {"refresh"}}, 200},
		{"POST bad grant", http.MethodPost, "", url.Values{"grant_type": {"client_credentials"}}, 400},
		{"POST wrong refresh", http.MethodPost, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, 401},
		{"PUT", http.MethodPut, "", nil, 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.form != nil {
				body = strings.NewReader(tc.form.Encode())
			} else {
				body = strings.NewReader("")
			}
			req, _ := http.NewRequest(tc.method, s.URL+"/oauth2/token?scope=repository:app:pull&service="+s.Addr, body)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			if tc.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 200 {
				var out struct {
					AccessToken string `json:"access_token"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !strings.HasPrefix(out.AccessToken, "fake-bearer-") {
					t.Fatalf("token response %+v, %v", out, err)
				}
			}
		})
	}
}

func TestChallengesNameRealmAndScope(t *testing.T) {
	tok := &issued{token: "t"}
	cases := []struct {
		auth Auth
		path string
		want string
	}{
		{ECRAuth(tok.valid), "/v2/", `Basic realm="https://HOST/",service="ecr.amazonaws.com"`},
		{ECRPublicAuth(tok.valid), "/v2/alias/app/manifests/v1", `Bearer realm="https://HOST/token/",service="public.ecr.aws",scope="repository:alias/app:pull"`},
		{GoogleAuth(tok.valid), "/v2/", `Bearer realm="https://HOST/v2/token",service="HOST"`},
		{GoogleAuth(tok.valid), "/v2/p/r/app/manifests/v1", `Bearer realm="https://HOST/v2/token",service="HOST",scope="repository:p/r/app:pull"`},
		{ACRAuth(tok.valid), "/v2/app/blobs/sha256:00", `Bearer realm="https://HOST/oauth2/token",service="HOST",scope="repository:app:pull"`},
	}
	for _, tc := range cases {
		t.Run(tc.auth.Name+tc.path, func(t *testing.T) {
			s, tr := startTLS(t, tc.auth)
			resp, err := (&http.Client{Transport: tr}).Get(s.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := strings.ReplaceAll(tc.want, "HOST", s.Addr)
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
				t.Fatalf("got %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
			}
		})
	}
}

func TestWritesAreDeniedAndFailuresInjected(t *testing.T) {
	s, tr := startTLS(t, StaticAuth(User{Name: "u", Password: "p"}))
	client := &http.Client{Transport: tr}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v2/app/blobs/uploads/", nil)
	req.SetBasicAuth("u", "p")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("push: status %d, want 403", resp.StatusCode)
	}
	s.FailNext(1)
	for i, want := range []int{503, 200} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/v2/", nil)
		req.SetBasicAuth("u", "p")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "example.com:0", ":0"} {
		if s, err := Start(Config{Auth: StaticAuth(), Addr: addr}); err == nil {
			_ = s.Close()
			t.Errorf("Start(%q) succeeded, want a loopback-only refusal", addr)
		}
	}
}

func TestRepoFromPath(t *testing.T) {
	cases := map[string]string{
		"/v2/":                                 "",
		"/v2":                                  "",
		"/v2/app/manifests/v1":                 "app",
		"/v2/a/b/c/manifests/sha256:ab":        "a/b/c",
		"/v2/a/blobs/b/blobs/sha256:00":        "a/blobs/b",
		"/v2/a/manifests/b/blobs/sha256:00":    "a/manifests/b",
		"/v2/a/blobs/uploads/123":              "a",
		"/v2/team/app/tags/list":               "team/app",
		"/v2/_catalog":                         "",
		"/v2/manifests/v1":                     "",
		"/other/app/manifests/v1":              "",
		"/v2/r/referrers/sha256:00":            "r",
		"/v2/tags/tags/list":                   "tags",
		"/v2/x/manifests/":                     "x",
		"/v2//manifests/v1":                    "",
		"/v2/proj/repo/img/manifests/latest":   "proj/repo/img",
		"/v2/images/subpath/app/manifests/tag": "images/subpath/app",
	}
	for in, want := range cases {
		if got := repoFromPath(in); got != want {
			t.Errorf("repoFromPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScopeRepos(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"repository:app:pull"}, "app"},
		{[]string{"repository:a/b:push,pull"}, "a/b"},
		{[]string{"repository:a/b:push"}, ""},
		{[]string{"repository:localhost:5000/a:pull"}, "localhost:5000/a"},
		{[]string{"repository:a:pull repository:b:*"}, "a,b"},
		{[]string{"registry:catalog:*"}, ""},
		{[]string{"repository::pull", "repository:x"}, ""},
	}
	for _, tc := range cases {
		if got := strings.Join(scopeRepos(tc.in), ","); got != tc.want {
			t.Errorf("scopeRepos(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		header     string
		user, pass string
		ok         bool
	}{
		{"Basic " + enc("AWS:tok:with:colons"), "AWS", "tok:with:colons", true},
		{"basic " + enc("u:"), "u", "", true},
		{"Basic " + enc("nocolon"), "", "", false},
		{"Basic !!!", "", "", false},
		{"Bearer abc", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		u, p, ok := parseBasic(tc.header)
		if u != tc.user || p != tc.pass || ok != tc.ok {
			t.Errorf("parseBasic(%q) = %q,%q,%v", tc.header, u, p, ok)
		}
	}
	if tok, ok := parseBearer("Bearer  xyz "); !ok || tok != "xyz" {
		t.Errorf("parseBearer = %q,%v", tok, ok)
	}
	if _, ok := parseBearer("Bearer "); ok {
		t.Errorf("empty bearer accepted")
	}
}

func FuzzRepoFromPath(f *testing.F) {
	for _, s := range []string{"/v2/a/manifests/b", "/v2/a/blobs/manifests/x", "/v2/", "/v2/a/tags/list"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		repo := repoFromPath(path)
		if repo == "" {
			return
		}
		if !strings.HasPrefix(path, "/v2/"+repo+"/") {
			t.Fatalf("repoFromPath(%q) = %q is not the path's prefix", path, repo)
		}
	})
}

func FuzzScopeRepos(f *testing.F) {
	for _, s := range []string{"repository:a:pull", "repository:a/b:push,pull repository:c:*", "x:y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		for _, r := range scopeRepos([]string{scope}) {
			if r == "" || !strings.Contains(scope, "repository:"+r+":") {
				t.Fatalf("scopeRepos(%q) returned %q", scope, r)
			}
		}
	})
}

func FuzzParseBasic(f *testing.F) {
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("u:p")))
	f.Add("Basic ===")
	f.Fuzz(func(t *testing.T, header string) {
		u, p, ok := parseBasic(header)
		if !ok && (u != "" || p != "") {
			t.Fatalf("parseBasic(%q) returned values with ok=false", header)
		}
	})
}
