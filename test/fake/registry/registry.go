// Package registry runs loopback container registries that enforce the registry auth
// of each cloud, for tests and for the fakes program.
//
// A Server is go-containerregistry's in-memory registry (pkg/registry) behind an auth
// layer: ECRAuth (basic "AWS:<token>"), ECRPublicAuth (Docker token flow with
// "AWS:<token>"), GoogleAuth (Docker token flow with
// "oauth2accesstoken:<access token>"), ACRAuth (refresh token traded at /oauth2/token
// for an access token) or StaticAuth (fixed users). The cloud fakes plug in a Validator
// that says whether a token is one they issued and is unexpired; anything else is
// refused with 401. Images are seeded in-process (no auth), with tiny random layers,
// and their digests are returned so pullers can verify what they got.
//
//	ca, _ := testca.New()
//	srv, _ := registry.Start(registry.Config{Auth: registry.ECRAuth(fake.Valid), TLS: ca.ServerConfig()})
//	defer srv.Close()
//	img, _ := srv.Seed("team/app", "v1")
package registry

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// Config configures a Server.
type Config struct {
	// Auth is the registry auth enforced on every /v2/ request.
	Auth Auth
	// TLS, when set, makes the server speak HTTPS (e.g. testca.CA.ServerConfig, which
	// answers for whatever name the client asks for).
	TLS *tls.Config
	// Addr is the listen address; it must be a loopback IP. Default "127.0.0.1:0".
	Addr string
	// TokenTTL is the lifetime of the bearer tokens the token endpoint issues
	// (SchemeToken only). Default 5 minutes.
	TokenTTL time.Duration
	// Extra serves requests outside /v2/ and the token endpoint, such as a cloud fake's
	// ACR /oauth2/exchange on the same host as the registry (as the real ACR does).
	Extra http.Handler
	// Log, when set, gets one line per request: method, path, status, authenticated user.
	// Secrets are never logged.
	Log *log.Logger
}

// Server is a running fake registry.
type Server struct {
	// URL is the base URL ("https://127.0.0.1:41234").
	URL string
	// Addr is host:port ("127.0.0.1:41234"), the registry host of loopback image names.
	Addr string

	cfg   Config
	inner http.Handler
	srv   *http.Server
	ln    net.Listener

	mu       sync.Mutex
	tokens   map[string]grant
	failNext int
	stats    Stats
}

type grant struct {
	user    string
	repos   map[string]bool
	expires time.Time
}

// Stats counts what a Server saw. Pulls records manifest GETs (the start of a pull).
type Stats struct {
	Requests      int64            `json:"requests"`
	Unauthorized  int64            `json:"unauthorized"`
	Denied        int64            `json:"denied"`
	TokenRequests int64            `json:"tokenRequests"`
	TokensIssued  int64            `json:"tokensIssued"`
	TokensRefused int64            `json:"tokensRefused"`
	Manifests     int64            `json:"manifests"`
	Blobs         int64            `json:"blobs"`
	BytesServed   int64            `json:"bytesServed"`
	Failed        int64            `json:"failed"`
	Users         map[string]int64 `json:"users"`
	Pulls         []Pull           `json:"pulls"`
}

// Pull is one authenticated manifest GET.
type Pull struct {
	User string `json:"user"`
	Repo string `json:"repo"`
	Ref  string `json:"ref"`
}

const maxPullsRecorded = 1000

// Start listens on loopback and serves the registry until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Auth.check == nil {
		return nil, errors.New("fake registry: Config.Auth is not set (use ECRAuth, ECRPublicAuth, GoogleAuth, ACRAuth or StaticAuth)")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("fake registry: listen address %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("fake registry: listen address %q is not a loopback IP", cfg.Addr)
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("fake registry: %w", err)
	}
	s := &Server{
		Addr:   ln.Addr().String(),
		cfg:    cfg,
		inner:  ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))),
		tokens: map[string]grant{},
		ln:     ln,
	}
	s.stats.Users = map[string]int64{}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s.URL = scheme + "://" + s.Addr
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	return err
}

// Auth returns the auth the server enforces.
func (s *Server) Auth() Auth { return s.cfg.Auth }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Users = make(map[string]int64, len(s.stats.Users))
	for k, v := range s.stats.Users {
		st.Users[k] = v
	}
	st.Pulls = append([]Pull(nil), s.stats.Pulls...)
	return st
}

// ExpireTokens makes every bearer token issued so far invalid, as if their TTL passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		delete(s.tokens, k)
	}
}

// FailNext makes the next n requests fail with 503 Service Unavailable.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// ServeHTTP routes a request: the token endpoint, /v2/, the stats endpoint, or Extra.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	user := ""
	defer func() {
		if s.cfg.Log != nil {
			s.cfg.Log.Printf("%s %s %s %d user=%q", s.cfg.Auth.Name, r.Method, r.URL.Path, rec.status, user)
		}
	}()
	s.mu.Lock()
	s.stats.Requests++
	fail := s.failNext > 0
	if fail {
		s.failNext--
		s.stats.Failed++
	}
	s.mu.Unlock()
	if fail {
		writeError(rec, http.StatusServiceUnavailable, "UNAVAILABLE", "injected failure")
		return
	}
	switch {
	case r.URL.Path == "/_fake/stats":
		rec.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rec).Encode(s.Stats())
	case s.cfg.Auth.Scheme == SchemeToken && r.URL.Path == s.cfg.Auth.TokenPath:
		user = s.serveToken(rec, r)
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		user = s.serveRegistry(rec, r)
	case s.cfg.Extra != nil:
		s.cfg.Extra.ServeHTTP(rec, r)
	default:
		http.NotFound(rec, r)
	}
}

// serveRegistry authenticates a /v2/ request and hands it to the in-memory registry.
func (s *Server) serveRegistry(w *recorder, r *http.Request) string {
	repo := repoFromPath(r.URL.Path)
	user, ok := s.authenticate(r, repo)
	if !ok {
		s.count(func(st *Stats) { st.Unauthorized++ })
		s.challenge(w, r, repo)
		return user
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.count(func(st *Stats) { st.Denied++ })
		writeError(w, http.StatusForbidden, "DENIED", "the fake registry is read-only over the network; seed images with Seed")
		return user
	}
	s.inner.ServeHTTP(w, r)
	if w.status/100 != 2 {
		return user
	}
	s.count(func(st *Stats) {
		st.Users[user]++
		st.BytesServed += w.bytes
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			st.Manifests++
			if r.Method == http.MethodGet && len(st.Pulls) < maxPullsRecorded {
				ref := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
				st.Pulls = append(st.Pulls, Pull{User: user, Repo: repo, Ref: ref})
			}
		case strings.Contains(r.URL.Path, "/blobs/"):
			st.Blobs++
		}
	})
	return user
}

// authenticate checks the request's credentials for repo ("" for the /v2/ ping).
func (s *Server) authenticate(r *http.Request, repo string) (string, bool) {
	h := r.Header.Get("Authorization")
	switch s.cfg.Auth.Scheme {
	case SchemeBasic:
		u, p, ok := parseBasic(h)
		if !ok {
			return "", false
		}
		return u, s.cfg.Auth.check(u, p, repo) == nil
	default:
		tok, ok := parseBearer(h)
		if !ok {
			return "", false
		}
		s.mu.Lock()
		g, found := s.tokens[tok]
		s.mu.Unlock()
		if !found || time.Now().After(g.expires) {
			return "", false
		}
		if repo != "" && !g.repos[repo] {
			return g.user, false
		}
		return g.user, true
	}
}

func (s *Server) challenge(w http.ResponseWriter, r *http.Request, repo string) {
	scheme := "http"
	if s.cfg.TLS != nil {
		scheme = "https"
	}
	service := s.cfg.Auth.Service
	if service == "" {
		service = r.Host
	}
	switch s.cfg.Auth.Scheme {
	case SchemeBasic:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q,service=%q`, scheme+"://"+r.Host+"/", service))
	default:
		c := fmt.Sprintf(`Bearer realm=%q,service=%q`, scheme+"://"+r.Host+s.cfg.Auth.TokenPath, service)
		if repo != "" {
			c += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// serveToken is the token endpoint of SchemeToken registries: GET with basic auth,
// or (Auth.OAuthPOST) the OAuth2 POST form with grant_type refresh_token or password.
func (s *Server) serveToken(w *recorder, r *http.Request) string {
	s.count(func(st *Stats) { st.TokenRequests++ })
	var user, pass string
	var scopes []string
	switch r.Method {
	case http.MethodGet:
		u, p, ok := parseBasic(r.Header.Get("Authorization"))
		if !ok {
			s.refuseToken(w, http.StatusUnauthorized, "basic authentication required")
			return ""
		}
		user, pass = u, p
		scopes = r.URL.Query()["scope"]
	case http.MethodPost:
		if !s.cfg.Auth.OAuthPOST {
			http.NotFound(w, r)
			return ""
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.refuseToken(w, http.StatusBadRequest, "malformed form")
			return ""
		}
		switch r.PostForm.Get("grant_type") {
		case "refresh_token":
			user, pass = ACRRefreshTokenUsername, r.PostForm.Get("refresh_token")
		case "password":
			user, pass = r.PostForm.Get("username"), r.PostForm.Get("password")
		default:
			s.refuseToken(w, http.StatusBadRequest, "unsupported grant_type")
			return ""
		}
		scopes = r.PostForm["scope"]
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return ""
	}
	if err := s.cfg.Auth.check(user, pass, ""); err != nil {
		s.refuseToken(w, http.StatusUnauthorized, "credentials refused")
		return user
	}
	g := grant{user: user, repos: map[string]bool{}, expires: time.Now().Add(s.cfg.TokenTTL)}
	for _, repo := range scopeRepos(scopes) {
		if s.cfg.Auth.check(user, pass, repo) == nil {
			g.repos[repo] = true
		}
	}
	tok, err := randomToken()
	if err != nil {
		s.refuseToken(w, http.StatusInternalServerError, "token generation failed")
		return user
	}
	s.mu.Lock()
	s.tokens[tok] = g
	s.stats.TokensIssued++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":        tok,
		"access_token": tok,
		"expires_in":   int(s.cfg.TokenTTL / time.Second),
		"issued_at":    time.Now().UTC().Format(time.RFC3339),
	})
	return user
}

func (s *Server) refuseToken(w http.ResponseWriter, status int, msg string) {
	s.count(func(st *Stats) { st.TokensRefused++ })
	writeError(w, status, "UNAUTHORIZED", msg)
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "fake-bearer-" + hex.EncodeToString(b), nil
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
}

// recorder notes the status and body size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// handlerTransport serves HTTP requests from a handler in-process (used to seed).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody // a server-side request always has a body
	}
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
