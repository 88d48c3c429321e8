// Package gcpfake is a loopback fake of the Google endpoints an image credential
// provider talks to: the GCE metadata server, the STS token exchange (/v1/token), the IAM
// credentials generateAccessToken method and the OAuth 2.0 token endpoint that
// service-account key files use (JWT bearer grant).
//
// One Server serves them all on one 127.0.0.1 port, so the real client libraries reach it
// through their own endpoint settings:
//
//   - GCE_METADATA_HOST=<Server.MetadataHost> for cloud.google.com/go/compute/metadata;
//   - externalaccount.Config.TokenURL = Server.STSURL;
//   - externalaccount.Config.ServiceAccountImpersonationURL = Server.ImpersonationURL(email);
//   - "token_uri": Server.OAuth2TokenURL in a service-account key file.
//
// Like the real metadata server it answers only requests that carry
// "Metadata-Flavor: Google", and it sends that header back. Every access token it issues
// is recorded, so a registry fake can check the password of "oauth2accesstoken:<token>"
// with Valid. Knobs make tokens short-lived, drop scopes, fail or delay the next calls.
//
// All fake credentials are obviously fake ("ya29.fake-…"); nothing here is a secret.
package gcpfake

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint names one family of fake endpoints, for counters and failure knobs.
type Endpoint string

// The endpoints the fake serves.
const (
	// MetadataToken is GET /computeMetadata/v1/instance/service-accounts/<acct>/token.
	MetadataToken Endpoint = "metadata-token"
	// MetadataScopes is GET …/service-accounts/<acct>/scopes.
	MetadataScopes Endpoint = "metadata-scopes"
	// MetadataEmail is GET …/service-accounts/<acct>/email.
	MetadataEmail Endpoint = "metadata-email"
	// MetadataAttribute is GET /computeMetadata/v1/instance/attributes/<name>.
	MetadataAttribute Endpoint = "metadata-attribute"
	// MetadataOther is any other metadata path (project id, account list, the root).
	MetadataOther Endpoint = "metadata-other"
	// MetadataRejected counts metadata requests refused for lacking Metadata-Flavor.
	MetadataRejected Endpoint = "metadata-rejected"
	// STS is POST /v1/token (RFC 8693 token exchange).
	STS Endpoint = "sts"
	// IAMCredentials is POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken.
	IAMCredentials Endpoint = "iamcredentials"
	// OAuth2 is POST /token (JWT bearer grant from a service-account key).
	OAuth2 Endpoint = "oauth2"
)

// DefaultEmail is the default service account's email.
const DefaultEmail = "node-sa@fake-project.iam.gserviceaccount.com"

// DefaultProjectID is the project id the metadata server reports.
const DefaultProjectID = "fake-project"

// Scopes a GCE service account commonly has.
const (
	ScopeCloudPlatform   = "https://www.googleapis.com/auth/cloud-platform"
	ScopeStorageReadOnly = "https://www.googleapis.com/auth/devstorage.read_only"
	ScopeLogging         = "https://www.googleapis.com/auth/logging.write"
)

// Issued is one access token the fake handed out.
type Issued struct {
	Token  string
	Source Endpoint
	// Identity is who the token stands for: the service account email (metadata, key
	// file, impersonation) or "federated:<audience>" for an STS token.
	Identity string
	Expiry   time.Time
}

// STSRequest is what the last token exchange asked for (the subject token included:
// tests check it is the pod's token; it is a fake value).
type STSRequest struct {
	GrantType, Audience, Scope, RequestedTokenType, SubjectToken, SubjectTokenType string
}

// ImpersonationRequest is what the last generateAccessToken call asked for.
type ImpersonationRequest struct {
	Email     string
	Scope     []string
	Lifetime  string
	Delegates []string
	// Caller is the identity of the bearer token that authorised the call.
	Caller string
}

type account struct {
	email  string
	scopes []string
}

type failure struct {
	n      int
	status int
}

// Server is the running fake. Its exported fields are set by New and never change.
type Server struct {
	// URL is the base URL, http://127.0.0.1:<port>.
	URL string
	// MetadataHost is host:port, the value for GCE_METADATA_HOST.
	MetadataHost string
	// STSURL is the token exchange endpoint.
	STSURL string
	// IAMCredentialsURL is the IAM credentials API base URL.
	IAMCredentialsURL string
	// OAuth2TokenURL is the token_uri for service-account key files.
	OAuth2TokenURL string

	srv *httptest.Server

	mu            sync.Mutex
	accounts      map[string]*account // by "default" and by email
	attributes    map[string]string
	projectID     string
	lifetimes     []time.Duration // metadata expires_in sequence; the last one sticks
	stsLifetime   time.Duration
	oauthLifetime time.Duration
	keys          map[string]*rsa.PublicKey // service-account keys by email
	subjects      map[string]bool           // accepted STS subject tokens; nil = any
	calls         map[Endpoint]int
	fail          map[Endpoint]*failure
	delay         map[Endpoint]time.Duration
	issued        map[string]Issued
	order         []string
	lastSTS       STSRequest
	lastImp       ImpersonationRequest
	seq           int
	denied        map[string]bool // service accounts no one may impersonate
}

// New starts a fake on a free loopback port. It panics if it cannot listen, like
// httptest.NewServer.
func New() *Server {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("gcpfake: %v", err))
	}
	return s
}

// Listen starts a fake on addr, which must be a loopback address.
func Listen(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("address %q is not a loopback address", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		accounts:      map[string]*account{},
		attributes:    map[string]string{},
		projectID:     DefaultProjectID,
		lifetimes:     []time.Duration{time.Hour},
		stsLifetime:   time.Hour,
		oauthLifetime: time.Hour,
		keys:          map[string]*rsa.PublicKey{},
		calls:         map[Endpoint]int{},
		fail:          map[Endpoint]*failure{},
		delay:         map[Endpoint]time.Duration{},
		issued:        map[string]Issued{},
	}
	def := &account{email: DefaultEmail, scopes: []string{ScopeCloudPlatform}}
	s.accounts["default"], s.accounts[def.email] = def, def
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}}
	s.srv.Start()
	s.URL = s.srv.URL
	s.MetadataHost = strings.TrimPrefix(s.srv.URL, "http://")
	s.STSURL = s.URL + "/v1/token"
	s.IAMCredentialsURL = s.URL
	s.OAuth2TokenURL = s.URL + "/token"
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// ImpersonationURL is the generateAccessToken URL for the service account email.
func (s *Server) ImpersonationURL(email string) string {
	return s.IAMCredentialsURL + "/v1/projects/-/serviceAccounts/" + email + ":generateAccessToken"
}

// --- knobs ---

// SetTokenLifetimes sets the expires_in of the metadata server's next tokens: the first
// call gets the first value, and so on; the last value sticks. Zero or negative values
// are sent as they are (a broken server).
func (s *Server) SetTokenLifetimes(d ...time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(d) == 0 {
		d = []time.Duration{time.Hour}
	}
	s.lifetimes = append([]time.Duration(nil), d...)
}

// SetSTSLifetime sets the expires_in of STS tokens (default 1 h).
func (s *Server) SetSTSLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stsLifetime = d
}

// SetOAuth2Lifetime sets the expires_in of key-file tokens (default 1 h).
func (s *Server) SetOAuth2Lifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthLifetime = d
}

// SetScopes replaces the scopes of a metadata service account ("default" or an email).
func (s *Server) SetScopes(acct string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[acct]; a != nil {
		a.scopes = append([]string(nil), scopes...)
	}
}

// AddServiceAccount attaches another service account to the fake instance.
func (s *Server) AddServiceAccount(email string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[email] = &account{email: email, scopes: append([]string(nil), scopes...)}
}

// RemoveDefaultServiceAccount makes the instance have no default service account.
func (s *Server) RemoveDefaultServiceAccount() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts["default"]; a != nil {
		delete(s.accounts, a.email)
	}
	delete(s.accounts, "default")
}

// SetAttribute defines instance attribute name (google-dockercfg, google-dockercfg-url).
func (s *Server) SetAttribute(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attributes[name] = value
}

// SetProjectID sets what project/project-id answers.
func (s *Server) SetProjectID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projectID = id
}

// AddKey registers the public half of a service-account key: the OAuth2 endpoint
// accepts JWT assertions signed by it with iss = email.
func (s *Server) AddKey(email string, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[email] = pub
}

// AcceptSubjectTokens restricts the STS endpoint to these subject tokens. By default
// it accepts any non-empty subject token.
func (s *Server) AcceptSubjectTokens(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subjects = map[string]bool{}
	for _, t := range tokens {
		s.subjects[t] = true
	}
}

// DenyImpersonation makes generateAccessToken for email answer 403 PERMISSION_DENIED,
// as IAM does when the caller lacks iam.serviceAccounts.getAccessToken on it.
func (s *Server) DenyImpersonation(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied == nil {
		s.denied = map[string]bool{}
	}
	s.denied[email] = true
}

// FailNext makes the next n calls to ep answer with HTTP status (500 when 0).
func (s *Server) FailNext(ep Endpoint, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.fail[ep] = &failure{n: n, status: status}
}

// SetDelay makes every call to ep wait d before answering (a slow server).
func (s *Server) SetDelay(ep Endpoint, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[ep] = d
}

// --- observations ---

// Calls returns how many requests reached ep (failed and rejected ones included).
func (s *Server) Calls(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[ep]
}

// TotalCalls returns the number of requests to any endpoint.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// Issued lists every access token handed out, oldest first.
func (s *Server) Issued() []Issued {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issued, 0, len(s.order))
	for _, t := range s.order {
		out = append(out, s.issued[t])
	}
	return out
}

// Lookup returns what the fake knows about an access token it issued.
func (s *Server) Lookup(token string) (Issued, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.issued[token]
	return t, ok
}

// Valid reports whether token was issued by the fake and has not expired: what a
// registry fake checks for the password of user oauth2accesstoken.
func (s *Server) Valid(token string) bool {
	t, ok := s.Lookup(token)
	return ok && time.Now().Before(t.Expiry)
}

// LastSTSRequest returns the last token exchange request.
func (s *Server) LastSTSRequest() STSRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSTS
}

// LastImpersonation returns the last generateAccessToken request.
func (s *Server) LastImpersonation() ImpersonationRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastImp
}

// --- serving ---

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ep := classify(r)
	s.mu.Lock()
	s.calls[ep]++
	d := s.delay[ep]
	var failStatus int
	if f := s.fail[ep]; f != nil && f.n > 0 {
		f.n--
		failStatus = f.status
	}
	s.mu.Unlock()
	if d > 0 {
		// Read the body first: the server notices a client that gave up only once
		// the body is consumed, and a delayed handler must end when its client does.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if strings.HasPrefix(r.URL.Path, "/computeMetadata/") || r.URL.Path == "/" {
		w.Header().Set("Metadata-Flavor", "Google")
		if r.Header.Get("Metadata-Flavor") != "Google" {
			s.mu.Lock()
			s.calls[ep]--
			s.calls[MetadataRejected]++
			s.mu.Unlock()
			http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
			return
		}
	}
	if failStatus != 0 {
		writeJSON(w, failStatus, map[string]any{"error": "fake_failure", "error_description": "failure injected by gcpfake"})
		return
	}
	switch ep {
	case STS:
		s.serveSTS(w, r)
	case IAMCredentials:
		s.serveIAM(w, r)
	case OAuth2:
		s.serveOAuth2(w, r)
	default:
		s.serveMetadata(w, r)
	}
}

func classify(r *http.Request) Endpoint {
	p := r.URL.Path
	switch {
	case p == "/v1/token":
		return STS
	case p == "/token":
		return OAuth2
	case strings.HasPrefix(p, "/v1/projects/") && strings.HasSuffix(p, ":generateAccessToken"):
		return IAMCredentials
	case strings.HasPrefix(p, "/computeMetadata/v1/instance/attributes/"):
		return MetadataAttribute
	case strings.HasPrefix(p, "/computeMetadata/v1/instance/service-accounts/"):
		switch {
		case strings.HasSuffix(p, "/token"):
			return MetadataToken
		case strings.HasSuffix(p, "/scopes"):
			return MetadataScopes
		case strings.HasSuffix(p, "/email"):
			return MetadataEmail
		}
	}
	return MetadataOther
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/computeMetadata/v1/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.URL.Path == "/":
		fmt.Fprintln(w, "computeMetadata/")
	case p == "project/project-id":
		fmt.Fprint(w, s.projectID)
	case p == "project/numeric-project-id":
		fmt.Fprint(w, "123456789012")
	case p == "instance/service-accounts/" || p == "instance/service-accounts":
		var names []string
		for name := range s.accounts {
			names = append(names, name+"/")
		}
		sort.Strings(names)
		fmt.Fprint(w, strings.Join(names, "\n")+"\n")
	case strings.HasPrefix(p, "instance/attributes/"):
		v, ok := s.attributes[strings.TrimPrefix(p, "instance/attributes/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, v)
	case strings.HasPrefix(p, "instance/service-accounts/"):
		rest := strings.TrimPrefix(p, "instance/service-accounts/")
		name, leaf, _ := strings.Cut(rest, "/")
		a := s.accounts[name]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		switch leaf {
		case "email":
			fmt.Fprint(w, a.email)
		case "scopes":
			fmt.Fprint(w, strings.Join(a.scopes, "\n")+"\n")
		case "token":
			life := s.lifetimes[0]
			if len(s.lifetimes) > 1 {
				s.lifetimes = s.lifetimes[1:]
			}
			tok := s.issueLocked(MetadataToken, a.email, life)
			writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int64(life / time.Second), "token_type": "Bearer"})
		default:
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "body is not a form")
		return
	}
	req := STSRequest{
		GrantType:          r.PostForm.Get("grant_type"),
		Audience:           r.PostForm.Get("audience"),
		Scope:              r.PostForm.Get("scope"),
		RequestedTokenType: r.PostForm.Get("requested_token_type"),
		SubjectToken:       r.PostForm.Get("subject_token"),
		SubjectTokenType:   r.PostForm.Get("subject_token_type"),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSTS = req
	switch {
	case req.GrantType != "urn:ietf:params:oauth:grant-type:token-exchange":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be token-exchange")
	case req.Audience == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "audience is required")
	case req.SubjectToken == "" || (s.subjects != nil && !s.subjects[req.SubjectToken]):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the subject token is not accepted")
	case req.SubjectTokenType != "urn:ietf:params:oauth:token-type:jwt" && req.SubjectTokenType != "urn:ietf:params:oauth:token-type:id_token":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "unsupported subject_token_type")
	default:
		tok := s.issueLocked(STS, "federated:"+req.Audience, s.stsLifetime)
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token":      tok,
			"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
			"token_type":        "Bearer",
			"expires_in":        int64(s.stsLifetime / time.Second),
		})
	}
}

func (s *Server) serveIAM(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	email := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/"), ":generateAccessToken")
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	caller, known := s.issued[bearer]
	if !ok || !known || !time.Now().Before(caller.Expiry) {
		writeGoogleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "request had invalid authentication credentials")
		return
	}
	var body struct {
		Scope     []string `json:"scope"`
		Lifetime  string   `json:"lifetime"`
		Delegates []string `json:"delegates"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "body is not JSON")
		return
	}
	s.lastImp = ImpersonationRequest{Email: email, Scope: body.Scope, Lifetime: body.Lifetime, Delegates: body.Delegates, Caller: caller.Identity}
	if s.denied[email] {
		writeGoogleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	}
	if !strings.Contains(email, "@") || len(body.Scope) == 0 {
		writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "service account email and scope are required")
		return
	}
	life := time.Hour
	if body.Lifetime != "" {
		secs, err := strconv.Atoi(strings.TrimSuffix(body.Lifetime, "s"))
		if err != nil || secs <= 0 {
			writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad lifetime")
			return
		}
		life = time.Duration(secs) * time.Second
	}
	tok := s.issueLocked(IAMCredentials, email, life)
	writeJSON(w, http.StatusOK, map[string]any{"accessToken": tok, "expireTime": s.issued[tok].Expiry.UTC().Format(time.RFC3339)})
}

func (s *Server) serveOAuth2(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "body is not a form")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only the JWT bearer grant is faked")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	claims, err := s.verifyAssertionLocked(r.PostForm.Get("assertion"))
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	tok := s.issueLocked(OAuth2, claims.Iss, s.oauthLifetime)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int64(s.oauthLifetime / time.Second), "token_type": "Bearer"})
}

type jwtClaims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
}

// verifyAssertionLocked checks an RS256 JWT assertion against the registered key of
// its issuer, its audience (this endpoint) and its time window.
func (s *Server) verifyAssertionLocked(assertion string) (*jwtClaims, error) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("assertion is not a JWT")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims jwtClaims
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return nil, fmt.Errorf("assertion header is not RS256")
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, fmt.Errorf("assertion claims are not JSON")
	}
	key := s.keys[claims.Iss]
	if key == nil {
		return nil, fmt.Errorf("no key registered for the issuer")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("assertion signature is not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("invalid assertion signature")
	}
	if claims.Aud != s.OAuth2TokenURL {
		return nil, fmt.Errorf("assertion audience is not this token endpoint")
	}
	now := time.Now().Unix()
	if claims.Exp < now || claims.Iat > now+60 {
		return nil, fmt.Errorf("assertion is expired or not yet valid")
	}
	if claims.Scope == "" {
		return nil, fmt.Errorf("assertion has no scope")
	}
	return &claims, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (s *Server) issueLocked(src Endpoint, identity string, life time.Duration) string {
	s.seq++
	var b [6]byte
	_, _ = rand.Read(b[:])
	tok := fmt.Sprintf("ya29.fake-%s-%d-%s", src, s.seq, hex.EncodeToString(b[:]))
	s.issued[tok] = Issued{Token: tok, Source: src, Identity: identity, Expiry: time.Now().Add(life)}
	s.order = append(s.order, tok)
	return tok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeGoogleError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "status": code, "message": msg}})
}

// Env returns the environment a process needs to reach this fake as its metadata server.
func (s *Server) Env() []string { return []string{"GCE_METADATA_HOST=" + s.MetadataHost} }
