// Package awsfake is a loopback fake of the AWS APIs an ECR credential provider calls:
//
//   - ECR GetAuthorizationToken (awsJson1_1, X-Amz-Target
//     AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken), at Server.ECRURL;
//   - ECR Public GetAuthorizationToken (awsJson1_1, X-Amz-Target
//     SpencerFrontendService.GetAuthorizationToken), at Server.ECRPublicURL;
//   - STS AssumeRoleWithWebIdentity and AssumeRole (query protocol, XML answers), at
//     Server.STSURL.
//
// One Server serves them all on one 127.0.0.1 port, each service under its own path, so
// the real aws-sdk-go-v2 clients reach it through their own endpoint settings
// (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC, AWS_ENDPOINT_URL_STS: see Env)
// and a call sent to the wrong service's endpoint is refused. Requests at the root path
// are routed by their X-Amz-Target header (none: STS), for tests whose HTTP client
// dials the fake in place of the real AWS hosts (keeping the Host header) to observe
// which endpoint the SDK chose.
//
// Every signed call is verified like AWS does: the SigV4 Authorization header must name
// the service of the endpoint (ecr, ecr-public, sts) and a well-formed region (us-east-1
// for ECR Public), come from a known access key (TestAccessKeyID, keys added with
// AddAccessKey, or session credentials this fake issued, with their session token), and
// carry a signature computed with that key's secret. The scope of every call is
// recorded (CallLog), so tests can assert the signing region.
//
// Tokens are distinct per call ("fake-ecr:<n>:<random>"; the colon inside is deliberate:
// ECR passwords must be split at the first colon only), live TokenLifetime (12 h by
// default, like ECR's), and are recorded with the identity that asked for them: the
// static key's identity, or the role ARN of assumed-role session credentials. Valid
// tells a registry fake whether a password is a live token. SetFixedPassword makes every
// token the same known string, for end-to-end tests whose registry must know it first.
//
// Knobs: FailNext (an HTTP status, or AccessDeniedStatus), ThrottleNext (ThrottlingException / Throttling), SetDelay,
// SetTokenLifetime, ExpireTokens, AcceptWebIdentityTokens.
//
// All credentials here are obviously fake; nothing in this package is a secret.
package awsfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Op names one API operation, for counters and knobs.
type Op string

// The operations the fake serves.
const (
	ECRGetAuthorizationToken       Op = "ecr:GetAuthorizationToken"
	ECRPublicGetAuthorizationToken Op = "ecr-public:GetAuthorizationToken"
	STSAssumeRoleWithWebIdentity   Op = "sts:AssumeRoleWithWebIdentity"
	STSAssumeRole                  Op = "sts:AssumeRole"
	// Unknown is any request the fake does not recognise (wrong path, target, action).
	Unknown Op = "unknown"
)

// AllOps lists every operation, Unknown last.
var AllOps = []Op{ECRGetAuthorizationToken, ECRPublicGetAuthorizationToken, STSAssumeRoleWithWebIdentity, STSAssumeRole, Unknown}

// Test credentials the fake knows from the start (obviously fake).
const (
	TestAccessKeyID     = "AKIDFAKETESTKEY00001"
	TestSecretAccessKey = "fake-secret-access-key-for-tests-only"
	// TestIdentity is the identity recorded for tokens issued to TestAccessKeyID.
	TestIdentity = "arn:aws:iam::123456789012:user/fake-node"
	// DefaultAccount is the account in proxyEndpoint answers.
	DefaultAccount = "123456789012"
)

// DefaultTokenLifetime is how long ECR authorization tokens live (12 h, like ECR's).
const DefaultTokenLifetime = 12 * time.Hour

// SessionLifetime is how long STS session credentials live.
const SessionLifetime = time.Hour

// Call is one request the fake answered.
type Call struct {
	Op Op
	// Service and Region are the SigV4 credential scope ("" for an unsigned call).
	Service, Region string
	// AccessKeyID signed the call ("" when unsigned).
	AccessKeyID string
	// Identity is the principal behind AccessKeyID (a user or role ARN).
	Identity string
	// Status is the HTTP status of the answer.
	Status int
}

// Token is one ECR or ECR Public authorization token the fake issued.
type Token struct {
	Password string
	// Op says which API issued it.
	Op Op
	// Identity is the principal that asked: TestIdentity, an AddAccessKey identity, or
	// the role ARN of session credentials from AssumeRole/AssumeRoleWithWebIdentity.
	Identity string
	// Region is the signing region of the call that got it.
	Region    string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// WebIdentityRequest is what one AssumeRoleWithWebIdentity call asked for. Token is the
// web identity token itself (a test value).
type WebIdentityRequest struct {
	RoleARN, RoleSessionName, Token string
	// DurationSeconds is 0 when the caller did not ask.
	DurationSeconds int
}

// AssumeRoleRequest is what one AssumeRole call asked for.
type AssumeRoleRequest struct {
	RoleARN, RoleSessionName, ExternalID string
	// Identity is the principal that called AssumeRole.
	Identity string
}

type principal struct {
	secret, sessionToken, identity string
	expires                        time.Time // zero for long-term keys
}

type failure struct {
	n      int
	status int // 0: throttle
}

// AccessDeniedStatus, given to FailNext, makes the call fail as AWS does when the
// caller's IAM policies do not allow the action: HTTP 400 with AccessDeniedException
// (ECR, ECR Public) or 403 AccessDenied (STS), naming the caller and the action.
const AccessDeniedStatus = -1

// Server is the running fake. Its exported fields are set by New and never change.
type Server struct {
	// URL is the base URL, http://127.0.0.1:<port>.
	URL string
	// ECRURL, ECRPublicURL and STSURL are the endpoint URLs of each service (values
	// for AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC, AWS_ENDPOINT_URL_STS).
	ECRURL, ECRPublicURL, STSURL string

	srv *httptest.Server

	mu          sync.Mutex
	keys        map[string]principal
	lifetime    time.Duration
	fixed       string
	webTokens   map[string]bool // accepted web identity tokens; nil = any
	calls       []Call
	fail        map[Op]*failure
	delay       map[Op]time.Duration
	issued      map[string]Token
	order       []string
	webIdentity []WebIdentityRequest
	assumeRole  []AssumeRoleRequest
	seq         int
	now         func() time.Time
}

// New starts a fake on a free loopback port. It panics if it cannot listen, like
// httptest.NewServer.
func New() *Server {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("awsfake: %v", err))
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
		keys:     map[string]principal{TestAccessKeyID: {secret: TestSecretAccessKey, identity: TestIdentity}},
		lifetime: DefaultTokenLifetime,
		fail:     map[Op]*failure{},
		delay:    map[Op]time.Duration{},
		issued:   map[string]Token{},
		now:      time.Now,
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}}
	s.srv.Start()
	s.URL = s.srv.URL
	s.ECRURL = s.URL + "/ecr"
	s.ECRPublicURL = s.URL + "/ecr-public"
	s.STSURL = s.URL + "/sts"
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Env returns the environment that points the AWS SDK at this fake with the static
// test credentials: AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC,
// AWS_ENDPOINT_URL_STS, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
func (s *Server) Env() []string {
	return append(s.EndpointEnv(), "AWS_ACCESS_KEY_ID="+TestAccessKeyID, "AWS_SECRET_ACCESS_KEY="+TestSecretAccessKey)
}

// EndpointEnv returns only the AWS_ENDPOINT_URL_* settings (no credentials).
func (s *Server) EndpointEnv() []string {
	return []string{
		"AWS_ENDPOINT_URL_ECR=" + s.ECRURL,
		"AWS_ENDPOINT_URL_ECR_PUBLIC=" + s.ECRPublicURL,
		"AWS_ENDPOINT_URL_STS=" + s.STSURL,
	}
}

// AddAccessKey makes the fake accept another long-term key, recorded as identity.
func (s *Server) AddAccessKey(accessKeyID, secret, identity string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[accessKeyID] = principal{secret: secret, identity: identity}
}

// SetTokenLifetime sets the lifetime of the next ECR and ECR Public tokens.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetFixedPassword makes every ECR and ECR Public token the password p (empty: back to
// distinct tokens). Valid accepts p while any token issued with it is live.
func (s *Server) SetFixedPassword(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fixed = p
}

// AcceptWebIdentityTokens restricts AssumeRoleWithWebIdentity to these tokens (others
// get InvalidIdentityToken). By default any non-empty token is accepted.
func (s *Server) AcceptWebIdentityTokens(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webTokens = map[string]bool{}
	for _, t := range tokens {
		s.webTokens[t] = true
	}
}

// FailNext makes the next n calls to op answer HTTP status (500 when 0) with a server
// error of the service's protocol, or, with AccessDeniedStatus, the service's access
// denied error.
func (s *Server) FailNext(op Op, n, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[op] = &failure{n: n, status: status}
}

// ThrottleNext makes the next n calls to op answer the service's throttling error
// (ThrottlingException for ECR and ECR Public, Throttling for STS, HTTP 400).
func (s *Server) ThrottleNext(op Op, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[op] = &failure{n: n}
}

// SetDelay makes every call to op wait d before answering (a slow endpoint).
func (s *Server) SetDelay(op Op, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[op] = d
}

// ExpireTokens makes every token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for k, t := range s.issued {
		t.ExpiresAt = past
		s.issued[k] = t
	}
}

// Calls returns how many requests reached op (failed and refused ones included).
func (s *Server) Calls(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Op == op {
			n++
		}
	}
	return n
}

// TotalCalls returns the number of requests to any operation.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// CallLog returns every call so far, oldest first.
func (s *Server) CallLog() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Issued lists every token handed out, oldest first.
func (s *Server) Issued() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Token, 0, len(s.order))
	for _, p := range s.order {
		out = append(out, s.issued[p])
	}
	return out
}

// Lookup returns what the fake knows about a password it issued (the latest token
// with that password when SetFixedPassword repeats it).
func (s *Server) Lookup(password string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.issued[password]
	return t, ok
}

// Valid reports whether password was issued by the fake and has not expired: what a
// registry fake checks for "AWS:<password>".
func (s *Server) Valid(password string) bool {
	t, ok := s.Lookup(password)
	return ok && s.now().Before(t.ExpiresAt)
}

// WebIdentityRequests returns every AssumeRoleWithWebIdentity request, oldest first.
func (s *Server) WebIdentityRequests() []WebIdentityRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebIdentityRequest(nil), s.webIdentity...)
}

// AssumeRoleRequests returns every AssumeRole request, oldest first.
func (s *Server) AssumeRoleRequests() []AssumeRoleRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssumeRoleRequest(nil), s.assumeRole...)
}

// The services' wire names.
const (
	ecrTarget       = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
	ecrPublicTarget = "SpencerFrontendService.GetAuthorizationToken"
	stsVersion      = "2011-06-15"
)

// endpoint is one service's path prefix and signing name.
type endpoint struct{ path, service string }

var (
	ecrEndpoint       = endpoint{"/ecr", "ecr"}
	ecrPublicEndpoint = endpoint{"/ecr-public", "ecr-public"}
	stsEndpoint       = endpoint{"/sts", "sts"}
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	ep, op, form := classify(r, body)
	call := Call{Op: op}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		call.Status = rec.status
		s.mu.Lock()
		s.calls = append(s.calls, call)
		s.mu.Unlock()
	}()
	w = rec

	s.mu.Lock()
	d := s.delay[op]
	var fail *failure
	if f := s.fail[op]; f != nil && f.n > 0 {
		f.n--
		fail = &failure{status: f.status}
	}
	s.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			call.Status = 499
			return
		}
	}
	if op == Unknown {
		writeError(w, ep, http.StatusBadRequest, "UnknownOperationException", "awsfake: unknown operation for this endpoint")
		return
	}
	// AssumeRoleWithWebIdentity is unsigned; everything else must be signed.
	if op != STSAssumeRoleWithWebIdentity || r.Header.Get("Authorization") != "" {
		p, status, code, msg := s.verify(r, body, ep, &call)
		if status != 0 {
			writeError(w, ep, status, code, msg)
			return
		}
		call.Identity = p.identity
		if op == ECRPublicGetAuthorizationToken && call.Region != "us-east-1" {
			writeError(w, ep, http.StatusBadRequest, "InvalidSignatureException", "awsfake: ECR Public is signed for us-east-1, not "+call.Region)
			return
		}
	}
	if fail != nil {
		if fail.status == 0 {
			code := "ThrottlingException"
			if ep == stsEndpoint {
				code = "Throttling"
			}
			writeError(w, ep, http.StatusBadRequest, code, "Rate exceeded")
			return
		}
		if fail.status == AccessDeniedStatus {
			status, code := http.StatusBadRequest, "AccessDeniedException"
			if ep == stsEndpoint {
				status, code = http.StatusForbidden, "AccessDenied"
			}
			writeError(w, ep, status, code, fmt.Sprintf("User: %s is not authorized to perform: %s on resource: * because no identity-based policy allows the %s action", call.Identity, op, op))
			return
		}
		code := "ServerException"
		if ep == stsEndpoint {
			code = "InternalFailure"
		}
		writeError(w, ep, fail.status, code, "awsfake: failure injected")
		return
	}
	switch op {
	case ECRGetAuthorizationToken:
		tok := s.issue(op, call.Identity, call.Region)
		writeJSON(w, map[string]any{"authorizationData": []any{map[string]any{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + tok.Password)),
			"expiresAt":          float64(tok.ExpiresAt.UnixMilli()) / 1000,
			"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", DefaultAccount, call.Region),
		}}})
	case ECRPublicGetAuthorizationToken:
		tok := s.issue(op, call.Identity, call.Region)
		writeJSON(w, map[string]any{"authorizationData": map[string]any{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + tok.Password)),
			"expiresAt":          float64(tok.ExpiresAt.UnixMilli()) / 1000,
		}})
	case STSAssumeRoleWithWebIdentity:
		s.serveWebIdentity(w, form)
	case STSAssumeRole:
		s.serveAssumeRole(w, form, call.Identity)
	}
}

func classify(r *http.Request, body []byte) (endpoint, Op, url.Values) {
	if r.Method != http.MethodPost {
		return endpoint{}, Unknown, nil
	}
	target := r.Header.Get("X-Amz-Target")
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "" {
		// A client dialling the fake in place of the real hosts: route by target.
		switch {
		case target == ecrTarget:
			path = ecrEndpoint.path
		case target == ecrPublicTarget:
			path = ecrPublicEndpoint.path
		case target == "":
			path = stsEndpoint.path
		}
	}
	switch path {
	case ecrEndpoint.path:
		if target == ecrTarget {
			return ecrEndpoint, ECRGetAuthorizationToken, nil
		}
		return ecrEndpoint, Unknown, nil
	case ecrPublicEndpoint.path:
		if target == ecrPublicTarget {
			return ecrPublicEndpoint, ECRPublicGetAuthorizationToken, nil
		}
		return ecrPublicEndpoint, Unknown, nil
	case stsEndpoint.path:
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("Version") != stsVersion {
			return stsEndpoint, Unknown, nil
		}
		switch form.Get("Action") {
		case "AssumeRoleWithWebIdentity":
			return stsEndpoint, STSAssumeRoleWithWebIdentity, form
		case "AssumeRole":
			return stsEndpoint, STSAssumeRole, form
		}
		return stsEndpoint, Unknown, nil
	}
	return endpoint{}, Unknown, nil
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$`)

var regionRE = regexp.MustCompile(`^[a-z]+(-[a-z]+)+-\d+$`)

// verify checks the SigV4 signature of r like AWS would, and fills call's scope.
func (s *Server) verify(r *http.Request, body []byte, ep endpoint, call *Call) (principal, int, string, string) {
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return principal{}, http.StatusBadRequest, "MissingAuthenticationTokenException", "awsfake: missing or malformed SigV4 Authorization header"
	}
	akid, region, service, signedHeaders := m[1], m[3], m[4], m[5]
	call.AccessKeyID, call.Region, call.Service = akid, region, service
	if service != ep.service {
		return principal{}, http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("awsfake: credential scope names service %q, this endpoint is %q", service, ep.service)
	}
	if !regionRE.MatchString(region) {
		return principal{}, http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("awsfake: credential scope names no valid region (%q)", region)
	}
	s.mu.Lock()
	p, ok := s.keys[akid]
	now := s.now()
	s.mu.Unlock()
	if !ok {
		return principal{}, http.StatusForbidden, "UnrecognizedClientException", "awsfake: the security token included in the request is invalid"
	}
	if !p.expires.IsZero() && now.After(p.expires) {
		return principal{}, http.StatusForbidden, "ExpiredTokenException", "awsfake: the security token included in the request is expired"
	}
	if p.sessionToken != "" && r.Header.Get("X-Amz-Security-Token") != p.sessionToken {
		return principal{}, http.StatusForbidden, "UnrecognizedClientException", "awsfake: session credentials used without their session token"
	}
	signingTime, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || signingTime.Format("20060102") != m[2] {
		return principal{}, http.StatusForbidden, "InvalidSignatureException", "awsfake: X-Amz-Date missing or not the credential scope's date"
	}
	if d := now.Sub(signingTime); d > 5*time.Minute || d < -5*time.Minute {
		return principal{}, http.StatusForbidden, "InvalidSignatureException", "awsfake: signature expired (clock skew over 5 minutes)"
	}
	// Re-sign a copy carrying only the signed headers and compare.
	cp, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return principal{}, http.StatusBadRequest, "InvalidSignatureException", "awsfake: cannot rebuild the request"
	}
	cp.ContentLength = int64(len(body))
	for _, h := range strings.Split(signedHeaders, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: p.secret, SessionToken: p.sessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), service, region, signingTime); err != nil {
		return principal{}, http.StatusForbidden, "InvalidSignatureException", "awsfake: cannot re-sign the request"
	}
	if got := authRE.FindStringSubmatch(cp.Header.Get("Authorization")); got == nil || got[6] != m[6] || got[5] != signedHeaders {
		return principal{}, http.StatusForbidden, "InvalidSignatureException", "awsfake: the request signature does not match (wrong secret key?)"
	}
	return p, 0, "", ""
}

func (s *Server) issue(op Op, identity, region string) Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	now := s.now()
	pw := s.fixed
	if pw == "" {
		pw = fmt.Sprintf("fake-ecr:%d:%s", s.seq, randomHex(12))
	}
	t := Token{Password: pw, Op: op, Identity: identity, Region: region, IssuedAt: now, ExpiresAt: now.Add(s.lifetime)}
	if _, seen := s.issued[pw]; !seen {
		s.order = append(s.order, pw)
	}
	s.issued[pw] = t
	return t
}

var roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$`)
var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *Server) serveWebIdentity(w http.ResponseWriter, form url.Values) {
	req := WebIdentityRequest{RoleARN: form.Get("RoleArn"), RoleSessionName: form.Get("RoleSessionName"), Token: form.Get("WebIdentityToken")}
	fmt.Sscan(form.Get("DurationSeconds"), &req.DurationSeconds)
	s.mu.Lock()
	s.webIdentity = append(s.webIdentity, req)
	accepted := req.Token != "" && (s.webTokens == nil || s.webTokens[req.Token])
	s.mu.Unlock()
	if msg := validateRole(req.RoleARN, req.RoleSessionName); msg != "" {
		writeError(w, stsEndpoint, http.StatusBadRequest, "ValidationError", msg)
		return
	}
	if !accepted {
		writeError(w, stsEndpoint, http.StatusBadRequest, "InvalidIdentityToken", "awsfake: the web identity token was not accepted")
		return
	}
	s.writeSession(w, "AssumeRoleWithWebIdentity", req.RoleARN, req.RoleSessionName)
}

func (s *Server) serveAssumeRole(w http.ResponseWriter, form url.Values, caller string) {
	req := AssumeRoleRequest{RoleARN: form.Get("RoleArn"), RoleSessionName: form.Get("RoleSessionName"), ExternalID: form.Get("ExternalId"), Identity: caller}
	s.mu.Lock()
	s.assumeRole = append(s.assumeRole, req)
	s.mu.Unlock()
	if msg := validateRole(req.RoleARN, req.RoleSessionName); msg != "" {
		writeError(w, stsEndpoint, http.StatusBadRequest, "ValidationError", msg)
		return
	}
	s.writeSession(w, "AssumeRole", req.RoleARN, req.RoleSessionName)
}

func validateRole(arn, session string) string {
	if !roleARNRE.MatchString(arn) {
		return fmt.Sprintf("awsfake: %q is not a role ARN", arn)
	}
	if !sessionNameRE.MatchString(session) {
		return fmt.Sprintf("awsfake: role session name %q does not satisfy [\\w+=,.@-]{2,64}", session)
	}
	return ""
}

// newSession issues session credentials for role.
func (s *Server) newSession(role string) (string, principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	akid := fmt.Sprintf("ASIAFAKE%012d", s.seq)
	p := principal{
		secret:       "fake-session-secret-" + randomHex(8),
		sessionToken: "fake-session-token-" + randomHex(8),
		identity:     role,
		expires:      s.now().Add(SessionLifetime),
	}
	s.keys[akid] = p
	return akid, p
}

// writeSession issues session credentials for role and answers the STS action.
func (s *Server) writeSession(w http.ResponseWriter, action, role, session string) {
	akid, p := s.newSession(role)
	account := roleARNRE.FindStringSubmatch(role)[1]
	roleName := role[strings.LastIndex(role, "/")+1:]
	type credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type assumedRoleUser struct {
		Arn           string `xml:"Arn"`
		AssumedRoleID string `xml:"AssumedRoleId"`
	}
	type result struct {
		Credentials                 credentials     `xml:"Credentials"`
		AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
		SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken,omitempty"`
	}
	type response struct {
		XMLName   xml.Name
		Xmlns     string `xml:"xmlns,attr"`
		Result    result `xml:"Result"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	res := result{
		Credentials:     credentials{akid, p.secret, p.sessionToken, p.expires.UTC().Format(time.RFC3339)},
		AssumedRoleUser: assumedRoleUser{fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, roleName, session), "AROAFAKE" + randomHex(6) + ":" + session},
	}
	if action == "AssumeRoleWithWebIdentity" {
		res.SubjectFromWebIdentityToken = "system:serviceaccount:fake"
	}
	out, _ := xml.Marshal(response{XMLName: xml.Name{Local: action + "Response"}, Xmlns: "https://sts.amazonaws.com/doc/2011-06-15/", Result: res, RequestID: randomHex(8)})
	// The result element is named after the action.
	out = bytes.Replace(out, []byte("<Result>"), []byte("<"+action+"Result>"), 1)
	out = bytes.Replace(out, []byte("</Result>"), []byte("</"+action+"Result>"), 1)
	w.Header().Set("Content-Type", "text/xml")
	w.Write(out)
}

func writeError(w http.ResponseWriter, ep endpoint, status int, code, msg string) {
	if ep == stsEndpoint {
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			typ, code, xmlEscape(msg), randomHex(8))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
