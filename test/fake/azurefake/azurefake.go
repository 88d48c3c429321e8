// Package azurefake plays Microsoft Entra ID (AAD), the Azure managed identity
// endpoints and Azure Container Registry's token endpoints on loopback, so tests run the
// real azidentity / MSAL code and our ACR exchange client against it.
//
// One Server has two listeners:
//
//   - URL (https, certificates from a testca.CA issued for whatever name the client
//     asks for): the AAD authority (any host name: instance discovery
//     /common/discovery/instance, tenant discovery
//     /{tenant}/v2.0/.well-known/openid-configuration, the token endpoint
//     /{tenant}/oauth2/v2.0/token for client secrets, certificate assertions and
//     federated assertions) and every registry (any host name: GET /v2/ answers the
//     Bearer challenge, POST /oauth2/exchange turns an AAD access token into an ACR
//     refresh token, GET or POST /oauth2/token turns a refresh token into a registry
//     access token that /v2/ then accepts).
//   - IdentityURL (plain http, as the real endpoints are): managed identity, both the
//     IMDS path /metadata/identity/oauth2/token (header Metadata: true) and the App
//     Service path /msi/token (header X-IDENTITY-HEADER), which azidentity uses when
//     IDENTITY_ENDPOINT=AppServiceEndpoint() and IDENTITY_HEADER=IdentityHeader.
//
// Tokens are JWT-shaped (claims readable, signatures fake) and remembered: the
// exchange only accepts AAD tokens this server issued for the ACR audience, and
// ValidateRefreshToken / ValidateAccessToken let a registry fake enforce ACR auth.
//
// In-process clients reach it by host name through Client(), whose dialer sends every
// non-loopback name to the TLS listener and 169.254.169.254 (IMDS) to the identity
// listener. Child processes reach it with HTTPS_PROXY set to a connectproxy whose target
// is Addr, SSL_CERT_FILE set to the CA's PEM and IDENTITY_ENDPOINT/IDENTITY_HEADER.
//
// Knobs: FailNext (answer the next n requests of an endpoint with a status), Throttle
// (429 with Retry-After), Hang (hold requests until the client gives up), ExpireTokens,
// SetRefreshTokenShape (missing, empty or opaque refresh tokens), Options lifetimes.
// Counters: Calls, TokenRequests, Exchanges.
package azurefake

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/imagecred/image-credential-provider/test/fake/testca"
)

// Endpoint names one kind of request the fake answers.
type Endpoint string

// The endpoints, for Calls, FailNext and Hang.
const (
	IMDS                Endpoint = "imds"                 // GET /metadata/identity/oauth2/token (identity listener)
	AppService          Endpoint = "appservice"           // GET /msi/token (identity listener)
	InstanceDiscovery   Endpoint = "instance-discovery"   // GET /common/discovery/instance
	OpenIDConfiguration Endpoint = "openid-configuration" // GET /{tenant}/v2.0/.well-known/openid-configuration
	AADToken            Endpoint = "aad-token"            // POST /{tenant}/oauth2/v2.0/token
	Challenge           Endpoint = "challenge"            // GET /v2/
	Exchange            Endpoint = "exchange"             // POST /oauth2/exchange
	RegistryToken       Endpoint = "registry-token"       // GET or POST /oauth2/token
)

// Well-known values.
const (
	// DefaultTenantID is the tenant of managed identities and of principals added
	// without one.
	DefaultTenantID = "72f988bf-fake-4fa5-8e6a-000000000001"
	// DefaultAudience is the ACR audience the exchange accepts by default.
	DefaultAudience = "https://containerregistry.azure.net"
	// SystemAssignedClientID is the client (application) id of the system-assigned
	// managed identity.
	SystemAssignedClientID = "5y5tem00-fake-4000-8000-000000000001"
	// RefreshTokenUsername is the username that goes with an ACR refresh token.
	RefreshTokenUsername = "00000000-0000-0000-0000-000000000000"
)

// RefreshTokenShape chooses what /oauth2/exchange answers on success.
type RefreshTokenShape int

// Refresh token shapes.
const (
	RefreshJWT     RefreshTokenShape = iota // {"refresh_token": "<JWT with exp>"}, as ACR does
	RefreshMissing                          // {} (no refresh_token field)
	RefreshEmpty                            // {"refresh_token": ""}
	RefreshOpaque                           // a refresh token that is not a JWT (no readable exp)
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// CA issues the TLS certificates; nil makes a new one.
	CA *testca.CA
	// Audience is the ACR audience accepted by /oauth2/exchange (DefaultAudience).
	Audience string
	// AccessTokenLifetime of AAD and managed identity tokens (1 h).
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime of ACR refresh tokens (3 h, as ACR).
	RefreshTokenLifetime time.Duration
	// NoSystemAssignedIdentity makes managed identity requests without a user-assigned
	// id fail as on a VM that has no system-assigned identity.
	NoSystemAssignedIdentity bool
}

// TokenRequest records one AAD or managed identity token request that succeeded or
// failed authentication (secrets are never recorded).
type TokenRequest struct {
	Endpoint Endpoint
	Host     string // Host header: which authority the client used
	Tenant   string
	ClientID string // for managed identity: the client_id query parameter
	// ResourceID is the mi_res_id (or msi_res_id) query parameter of a managed identity request.
	ResourceID string
	// Audience is the scope without "/.default" (AAD) or the resource (managed identity).
	Audience string
	// Method is "client_secret", "client_certificate", "federated" or "managed_identity".
	Method string
	Status int
}

// ExchangeRequest records one /oauth2/exchange request.
type ExchangeRequest struct {
	Host      string // registry (realm) host the client posted to
	Service   string
	Tenant    string // tenant form field as sent ("" if absent)
	GrantType string
	// ClientID and Method describe the AAD token's principal, when the token was known.
	ClientID string
	Method   string
	Audience string
	Status   int
}

type failure struct {
	n, status  int
	retryAfter time.Duration
}

type principal struct {
	tenant string
	secret string
	cert   *x509.Certificate
	// federated credential: subject and audience of accepted assertions
	subject, audience string
}

type aadToken struct {
	tenant, clientID, method, audience string
	exp                                time.Time
}

type refreshToken struct {
	service, tenant, clientID string
	exp                       time.Time
}

type accessToken struct {
	service, scope string
	exp            time.Time
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is https://127.0.0.1:port of the AAD and registry listener; Addr its host:port.
	URL, Addr string
	// IdentityURL is http://127.0.0.1:port of the managed identity listener; IdentityAddr
	// its host:port.
	IdentityURL, IdentityAddr string
	// IdentityHeader is the value IDENTITY_HEADER must have.
	IdentityHeader string
	// CA signs the TLS listener's certificates.
	CA *testca.CA

	opts    Options
	tls     *httptest.Server
	ident   *httptest.Server
	closing chan struct{}
	close   sync.Once

	mu           sync.Mutex
	calls        map[Endpoint]int
	failures     map[Endpoint]*failure
	hang         map[Endpoint]bool
	principals   map[string]principal // by client id
	userAssigned map[string]string    // client id → resource id
	aad          map[string]aadToken
	refresh      map[string]refreshToken
	access       map[string]accessToken
	tokenReqs    []TokenRequest
	exchanges    []ExchangeRequest
	shape        RefreshTokenShape
}

// Start starts a fake on two loopback ports.
func Start(opts Options) (*Server, error) {
	if opts.CA == nil {
		ca, err := testca.New()
		if err != nil {
			return nil, err
		}
		opts.CA = ca
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.AccessTokenLifetime == 0 {
		opts.AccessTokenLifetime = time.Hour
	}
	if opts.RefreshTokenLifetime == 0 {
		opts.RefreshTokenLifetime = 3 * time.Hour
	}
	s := &Server{
		CA:             opts.CA,
		IdentityHeader: "fake-identity-header-" + randomID(),
		opts:           opts,
		closing:        make(chan struct{}),
		calls:          map[Endpoint]int{},
		failures:       map[Endpoint]*failure{},
		hang:           map[Endpoint]bool{},
		principals:     map[string]principal{},
		userAssigned:   map[string]string{},
		aad:            map[string]aadToken{},
		refresh:        map[string]refreshToken{},
		access:         map[string]accessToken{},
	}
	quiet := log.New(io.Discard, "", 0) // clients that give up mid-handshake are expected
	s.tls = httptest.NewUnstartedServer(http.HandlerFunc(s.serveTLS))
	s.tls.TLS = opts.CA.ServerConfig()
	s.tls.Config.ErrorLog = quiet
	s.tls.StartTLS()
	s.ident = httptest.NewUnstartedServer(http.HandlerFunc(s.serveIdentity))
	s.ident.Config.ErrorLog = quiet
	s.ident.Start()
	s.URL, s.Addr = s.tls.URL, s.tls.Listener.Addr().String()
	s.IdentityURL, s.IdentityAddr = s.ident.URL, s.ident.Listener.Addr().String()
	return s, nil
}

// Close releases hanging requests and stops both listeners.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.closing)
		s.tls.Close()
		s.ident.Close()
	})
}

// AppServiceEndpoint is the value for IDENTITY_ENDPOINT.
func (s *Server) AppServiceEndpoint() string { return s.IdentityURL + "/msi/token" }

// Audience is the ACR audience the exchange accepts.
func (s *Server) Audience() string { return s.opts.Audience }

// Client is an HTTP client for in-process tests: it trusts the CA only, uses no proxy,
// and dials every non-loopback host name to the TLS listener and 169.254.169.254 to
// the identity listener, so "https://myacr.azurecr.io/v2/" and
// "https://login.microsoftonline.com/..." reach this fake with their real names.
func (s *Server) Client() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:           nil,
		TLSClientConfig: s.CA.ClientConfig(),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			switch ip := net.ParseIP(host); {
			case host == "169.254.169.254":
				addr = s.IdentityAddr
			case host == "localhost" || (ip != nil && ip.IsLoopback()):
				// direct
			default:
				addr = s.Addr
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 4,
	}}
}

// AddSecretPrincipal registers a service principal that authenticates with a client
// secret in tenant ("" = DefaultTenantID).
func (s *Server) AddSecretPrincipal(tenant, clientID, secret string) {
	s.addPrincipal(clientID, principal{tenant: orDefault(tenant, DefaultTenantID), secret: secret})
}

// AddCertificatePrincipal registers a service principal that authenticates with a
// certificate assertion signed by cert's key.
func (s *Server) AddCertificatePrincipal(tenant, clientID string, cert *x509.Certificate) {
	s.addPrincipal(clientID, principal{tenant: orDefault(tenant, DefaultTenantID), cert: cert})
}

// AddFederatedPrincipal registers an application with a federated credential: it
// accepts assertions (workload identity token files, Kubernetes service account
// tokens) whose sub claim is subject and whose aud contains FederatedAudience.
// Assertions are read, not verified.
func (s *Server) AddFederatedPrincipal(tenant, clientID, subject string) {
	s.addPrincipal(clientID, principal{tenant: orDefault(tenant, DefaultTenantID), subject: subject, audience: FederatedAudience})
}

// AddUserAssignedIdentity registers a user-assigned managed identity by client id and
// (optionally) resource id.
func (s *Server) AddUserAssignedIdentity(clientID, resourceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userAssigned[clientID] = resourceID
}

func (s *Server) addPrincipal(clientID string, p principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.principals[clientID] = p
}

// FailNext answers the next n requests to ep with status (and a JSON error body).
func (s *Server) FailNext(ep Endpoint, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[ep] = &failure{n: n, status: status}
}

// Throttle answers the next n requests to ep with 429 Too Many Requests and a
// Retry-After header of retryAfter (whole seconds, at least 1).
func (s *Server) Throttle(ep Endpoint, n int, retryAfter time.Duration) {
	if retryAfter < time.Second {
		retryAfter = time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[ep] = &failure{n: n, status: http.StatusTooManyRequests, retryAfter: retryAfter}
}

// ExpireTokens makes every token issued so far (AAD, refresh and registry access
// tokens) expired, as if their lifetime had passed.
func (s *Server) ExpireTokens() {
	past := time.Now().Add(-time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.aad {
		v.exp = past
		s.aad[k] = v
	}
	for k, v := range s.refresh {
		v.exp = past
		s.refresh[k] = v
	}
	for k, v := range s.access {
		v.exp = past
		s.access[k] = v
	}
}

// Hang makes requests to ep wait until the client gives up (or the server closes).
func (s *Server) Hang(ep Endpoint, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang[ep] = on
}

// SetRefreshTokenShape chooses what a successful exchange returns.
func (s *Server) SetRefreshTokenShape(shape RefreshTokenShape) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shape = shape
}

// Calls is how many requests ep received (failed, hung and refused ones included).
func (s *Server) Calls(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[ep]
}

// TokenRequests returns the AAD and managed identity token requests so far.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.tokenReqs...)
}

// Exchanges returns the /oauth2/exchange requests so far.
func (s *Server) Exchanges() []ExchangeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ExchangeRequest(nil), s.exchanges...)
}

// ValidateRefreshToken reports whether token is an unexpired ACR refresh token this
// fake issued (nil) or why not. The error never contains the token. Its signature fits
// a registry fake's password validator.
func (s *Server) ValidateRefreshToken(token string) error {
	s.mu.Lock()
	rt, ok := s.refresh[token]
	s.mu.Unlock()
	switch {
	case !ok:
		return errors.New("unknown refresh token")
	case time.Now().After(rt.exp):
		return errors.New("refresh token expired")
	}
	return nil
}

// RefreshTokenService returns the registry (service) a refresh token was issued for.
func (s *Server) RefreshTokenService(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	return rt.service, ok
}

// ValidateAccessToken reports whether token is an unexpired registry access token this
// fake issued for service (nil) or why not.
func (s *Server) ValidateAccessToken(service, token string) error {
	s.mu.Lock()
	at, ok := s.access[token]
	s.mu.Unlock()
	switch {
	case !ok:
		return errors.New("unknown access token")
	case time.Now().After(at.exp):
		return errors.New("access token expired")
	case !strings.EqualFold(at.service, service):
		return fmt.Errorf("access token is for %s, not %s", at.service, service)
	}
	return nil
}

// begin counts a request and applies the knobs; it returns false when the request
// was answered (failure) or abandoned (hang).
func (s *Server) begin(ep Endpoint, w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.calls[ep]++
	hang := s.hang[ep]
	var status int
	var retryAfter time.Duration
	if f := s.failures[ep]; f != nil && f.n > 0 {
		f.n--
		status, retryAfter = f.status, f.retryAfter
	}
	s.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return false
	}
	if status != 0 {
		if retryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(retryAfter.Seconds())))
		}
		writeJSON(w, status, map[string]any{
			"error":             "temporarily_unavailable",
			"error_description": fmt.Sprintf("injected failure from the fake %s endpoint", ep),
		})
		return false
	}
	return true
}

func (s *Server) serveTLS(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/common/discovery/instance" && r.Method == http.MethodGet:
		if s.begin(InstanceDiscovery, w, r) {
			s.instanceDiscovery(w, r)
		}
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration") && r.Method == http.MethodGet:
		if s.begin(OpenIDConfiguration, w, r) {
			s.openIDConfiguration(w, r)
		}
	case strings.HasSuffix(p, "/oauth2/v2.0/token") && r.Method == http.MethodPost:
		if s.begin(AADToken, w, r) {
			s.aadToken(w, r)
		}
	case p == "/v2/" || p == "/v2":
		if s.begin(Challenge, w, r) {
			s.registryRoot(w, r)
		}
	case p == "/oauth2/exchange" && r.Method == http.MethodPost:
		if s.begin(Exchange, w, r) {
			s.exchange(w, r)
		}
	case p == "/oauth2/token" && (r.Method == http.MethodPost || r.Method == http.MethodGet):
		if s.begin(RegistryToken, w, r) {
			s.registryToken(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/metadata/identity/oauth2/token":
		if !s.begin(IMDS, w, r) {
			return
		}
		if r.Header.Get("Metadata") != "true" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "Required metadata header not specified"})
			return
		}
		s.managedIdentity(IMDS, w, r)
	case "/msi/token":
		if !s.begin(AppService, w, r) {
			return
		}
		if r.Header.Get("X-IDENTITY-HEADER") != s.IdentityHeader {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "error_description": "missing or wrong X-IDENTITY-HEADER"})
			return
		}
		s.managedIdentity(AppService, w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) managedIdentity(ep Endpoint, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rec := TokenRequest{
		Endpoint:   ep,
		Host:       r.Host,
		Tenant:     DefaultTenantID,
		ClientID:   q.Get("client_id"),
		ResourceID: orDefault(q.Get("mi_res_id"), q.Get("msi_res_id")),
		Audience:   strings.TrimSuffix(q.Get("resource"), "/"),
		Method:     "managed_identity",
	}
	clientID, status, msg := s.resolveManagedIdentity(rec.ClientID, rec.ResourceID, q.Get("object_id"))
	if status == 0 && rec.Audience == "" {
		status, msg = http.StatusBadRequest, "resource is required"
	}
	if status != 0 {
		rec.Status = status
		s.record(rec)
		writeJSON(w, status, map[string]string{"error": "invalid_request", "error_description": msg})
		return
	}
	rec.Status = http.StatusOK
	s.record(rec)
	tok, exp := s.issueAAD(DefaultTenantID, clientID, "managed_identity", rec.Audience)
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok,
		"expires_in":   fmt.Sprint(int(time.Until(exp).Seconds())),
		"expires_on":   fmt.Sprint(exp.Unix()),
		"not_before":   fmt.Sprint(time.Now().Unix()),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
		"client_id":    clientID,
	})
}

func (s *Server) resolveManagedIdentity(clientID, resourceID, objectID string) (string, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case objectID != "":
		return "", http.StatusBadRequest, "Identity not found (object ids are not supported by this fake)"
	case clientID != "":
		if _, ok := s.userAssigned[clientID]; ok {
			return clientID, 0, ""
		}
		return "", http.StatusBadRequest, "Identity not found"
	case resourceID != "":
		for cid, rid := range s.userAssigned {
			if rid != "" && strings.EqualFold(rid, resourceID) {
				return cid, 0, ""
			}
		}
		return "", http.StatusBadRequest, "Identity not found"
	case s.opts.NoSystemAssignedIdentity:
		return "", http.StatusBadRequest, "No system assigned identity is enabled for this resource"
	}
	return SystemAssignedClientID, 0, ""
}

func (s *Server) knownTenant(tenant string) bool {
	if strings.EqualFold(tenant, DefaultTenantID) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.principals {
		if strings.EqualFold(p.tenant, tenant) {
			return true
		}
	}
	return false
}

func (s *Server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	// authorization_endpoint=https://host/tenant/oauth2/v2.0/authorize
	ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint"))
	if err != nil || ae.Host == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_instance", "error_description": "missing authorization_endpoint"})
		return
	}
	tenant := strings.Split(strings.TrimPrefix(ae.Path, "/"), "/")[0]
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + ae.Host + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": ae.Host,
			"preferred_cache":   ae.Host,
			"aliases":           []string{ae.Host},
		}},
	})
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/v2.0/.well-known/openid-configuration")
	if !s.knownTenant(tenant) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant '" + tenant + "' not found."})
		return
	}
	base := "https://" + r.Host + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              "https://" + r.Host + "/" + tenant + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "WW",
	})
}

func (s *Server) aadToken(w http.ResponseWriter, r *http.Request) {
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, aadError("invalid_request", "AADSTS900144: malformed form"))
		return
	}
	clientID := r.PostForm.Get("client_id")
	rec := TokenRequest{Endpoint: AADToken, Host: r.Host, Tenant: tenant, ClientID: clientID}
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		if strings.HasSuffix(sc, "/.default") {
			rec.Audience = strings.TrimSuffix(sc, "/.default")
		}
	}
	fail := func(status int, code, desc string) {
		rec.Status = status
		s.record(rec)
		writeJSON(w, status, aadError(code, desc))
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: only client_credentials is supported by this fake")
		return
	}
	if rec.Audience == "" {
		fail(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: scope must end with /.default")
		return
	}
	s.mu.Lock()
	p, ok := s.principals[clientID]
	s.mu.Unlock()
	if !ok {
		fail(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier '"+clientID+"' was not found in the directory.")
		return
	}
	if !strings.EqualFold(p.tenant, tenant) {
		fail(http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant '"+tenant+"' not found or application not in it.")
		return
	}
	switch {
	case r.PostForm.Get("client_secret") != "":
		rec.Method = "client_secret"
		if p.secret == "" || r.PostForm.Get("client_secret") != p.secret {
			fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
			return
		}
	case r.PostForm.Get("client_assertion") != "":
		if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			fail(http.StatusBadRequest, "invalid_request", "AADSTS50027: wrong client_assertion_type")
			return
		}
		method, refusal := s.checkAssertion(p, clientID, "https://"+r.Host+r.URL.Path, r.PostForm.Get("client_assertion"))
		rec.Method = method
		if refusal != "" {
			fail(http.StatusUnauthorized, "invalid_client", refusal)
			return
		}
	default:
		fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000218: The request body must contain client_assertion or client_secret.")
		return
	}
	rec.Status = http.StatusOK
	s.record(rec)
	tok, exp := s.issueAAD(p.tenant, clientID, rec.Method, rec.Audience)
	secs := int(time.Until(exp).Seconds())
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   tok,
	})
}

// checkAssertion verifies a certificate assertion or checks a federated one. It
// returns the method and, when the assertion is refused, AAD's error description.
func (s *Server) checkAssertion(p principal, clientID, tokenEndpoint, assertion string) (method, refusal string) {
	header, claims, signed, sig, err := jwtParts(assertion)
	if err != nil {
		return "", fmt.Sprintf("AADSTS50027: invalid JWT assertion: %v", err)
	}
	if expired(claims, time.Now()) {
		return "", "AADSTS700024: Client assertion is not within its valid time range."
	}
	if p.cert != nil {
		alg, _ := header["alg"].(string)
		if err := verifyRSA(p.cert, alg, signed, sig); err != nil {
			return "client_certificate", fmt.Sprintf("AADSTS700027: Client assertion failed signature validation: %v", err)
		}
		if iss, _ := claims["iss"].(string); iss != clientID {
			return "client_certificate", "AADSTS700023: assertion issuer is not the client id"
		}
		if !contains(audiences(claims), tokenEndpoint) {
			return "client_certificate", "AADSTS700021: assertion audience is not " + tokenEndpoint
		}
		return "client_certificate", ""
	}
	if p.subject != "" {
		sub, _ := claims["sub"].(string)
		if sub != p.subject {
			return "federated", "AADSTS700213: No matching federated identity record found for presented assertion subject '" + sub + "'."
		}
		if !contains(audiences(claims), p.audience) {
			return "federated", "AADSTS700212: No matching federated identity record found for presented assertion audience (want " + p.audience + ")."
		}
		return "federated", ""
	}
	return "", "AADSTS700027: this application has no certificate or federated credential"
}

func (s *Server) issueAAD(tenant, clientID, method, audience string) (string, time.Time) {
	now := time.Now()
	exp := now.Add(s.opts.AccessTokenLifetime)
	tok := MakeJWT(map[string]any{
		"aud":   audience,
		"iss":   "https://sts.windows.net/" + tenant + "/",
		"tid":   tenant,
		"appid": clientID,
		"oid":   "oid-" + clientID,
		"idtyp": "app",
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   exp.Unix(),
		"uti":   randomID(),
	})
	s.mu.Lock()
	s.aad[tok] = aadToken{tenant: tenant, clientID: clientID, method: method, audience: audience, exp: exp}
	s.mu.Unlock()
	return tok, exp
}

func (s *Server) registryRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		if s.ValidateAccessToken(r.Host, strings.TrimPrefix(auth, "Bearer ")) == nil {
			writeJSON(w, http.StatusOK, map[string]any{})
			return
		}
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, r.Host, r.Host))
	writeJSON(w, http.StatusUnauthorized, registryError("UNAUTHORIZED", "authentication required, visit https://aka.ms/acr/authorization for more information."))
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, registryError("BAD_REQUEST", "malformed form"))
		return
	}
	f := r.PostForm
	rec := ExchangeRequest{Host: r.Host, Service: f.Get("service"), Tenant: f.Get("tenant"), GrantType: f.Get("grant_type")}
	fail := func(status int, code, msg string) {
		rec.Status = status
		s.recordExchange(rec)
		writeJSON(w, status, registryError(code, msg))
	}
	if rec.GrantType != "access_token" && rec.GrantType != "access_token_refresh_token" {
		fail(http.StatusBadRequest, "UNSUPPORTED_GRANT_TYPE", "grant_type must be access_token")
		return
	}
	if !strings.EqualFold(rec.Service, r.Host) {
		fail(http.StatusBadRequest, "INVALID_SERVICE", "service does not name this registry")
		return
	}
	s.mu.Lock()
	t, ok := s.aad[f.Get("access_token")]
	shape := s.shape
	s.mu.Unlock()
	if !ok {
		fail(http.StatusUnauthorized, "UNAUTHORIZED", "the AAD access token was not issued by this fake")
		return
	}
	rec.ClientID, rec.Method, rec.Audience = t.clientID, t.method, t.audience
	switch {
	case time.Now().After(t.exp):
		fail(http.StatusUnauthorized, "UNAUTHORIZED", "the AAD access token has expired")
		return
	case strings.TrimSuffix(t.audience, "/") != strings.TrimSuffix(s.opts.Audience, "/"):
		fail(http.StatusUnauthorized, "UNAUTHORIZED", "the AAD access token's audience is "+t.audience+", not "+s.opts.Audience)
		return
	case rec.Tenant != "" && !strings.EqualFold(rec.Tenant, t.tenant):
		fail(http.StatusUnauthorized, "UNAUTHORIZED", "tenant "+rec.Tenant+" does not match the token's tenant")
		return
	}
	rec.Status = http.StatusOK
	s.recordExchange(rec)
	now := time.Now()
	exp := now.Add(s.opts.RefreshTokenLifetime)
	var rt string
	switch shape {
	case RefreshOpaque:
		rt = "opaque-refresh-" + randomID()
	default:
		rt = MakeJWT(map[string]any{
			"jti":        randomID(),
			"sub":        "oid-" + t.clientID,
			"aud":        rec.Service,
			"iss":        "Azure Container Registry",
			"tenant":     t.tenant,
			"grant_type": "refresh_token",
			"version":    "1.0",
			"iat":        now.Unix(),
			"nbf":        now.Unix(),
			"exp":        exp.Unix(),
		})
	}
	if shape == RefreshJWT || shape == RefreshOpaque {
		s.mu.Lock()
		s.refresh[rt] = refreshToken{service: rec.Service, tenant: t.tenant, clientID: t.clientID, exp: exp}
		s.mu.Unlock()
	}
	switch shape {
	case RefreshMissing:
		writeJSON(w, http.StatusOK, map[string]any{})
	case RefreshEmpty:
		writeJSON(w, http.StatusOK, map[string]any{"refresh_token": ""})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"refresh_token": rt})
	}
}

func (s *Server) registryToken(w http.ResponseWriter, r *http.Request) {
	var service, scope, refresh string
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, registryError("BAD_REQUEST", "malformed form"))
			return
		}
		if r.PostForm.Get("grant_type") != "refresh_token" {
			writeJSON(w, http.StatusBadRequest, registryError("UNSUPPORTED_GRANT_TYPE", "grant_type must be refresh_token"))
			return
		}
		service, scope, refresh = r.PostForm.Get("service"), r.PostForm.Get("scope"), r.PostForm.Get("refresh_token")
	} else {
		q := r.URL.Query()
		service, scope = q.Get("service"), q.Get("scope")
		user, pass, ok := basicAuth(r)
		if !ok || user != RefreshTokenUsername {
			w.Header().Set("WWW-Authenticate", `Basic realm="Azure Container Registry"`)
			writeJSON(w, http.StatusUnauthorized, registryError("UNAUTHORIZED", "basic auth with the refresh token username is required"))
			return
		}
		refresh = pass
	}
	if err := s.ValidateRefreshToken(refresh); err != nil {
		writeJSON(w, http.StatusUnauthorized, registryError("UNAUTHORIZED", err.Error()))
		return
	}
	if rtService, _ := s.RefreshTokenService(refresh); !strings.EqualFold(rtService, service) {
		writeJSON(w, http.StatusUnauthorized, registryError("UNAUTHORIZED", "the refresh token was issued for another registry"))
		return
	}
	now := time.Now()
	exp := now.Add(75 * time.Minute)
	tok := MakeJWT(map[string]any{"jti": randomID(), "aud": service, "scope": scope, "iat": now.Unix(), "exp": exp.Unix()})
	s.mu.Lock()
	s.access[tok] = accessToken{service: service, scope: scope, exp: exp}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok})
}

func (s *Server) record(rec TokenRequest) {
	s.mu.Lock()
	s.tokenReqs = append(s.tokenReqs, rec)
	s.mu.Unlock()
}

func (s *Server) recordExchange(rec ExchangeRequest) {
	s.mu.Lock()
	s.exchanges = append(s.exchanges, rec)
	s.mu.Unlock()
}

func basicAuth(r *http.Request) (string, string, bool) {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Basic ") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	if err != nil {
		return "", "", false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	return user, pass, ok
}

func aadError(code, desc string) map[string]any {
	return map[string]any{
		"error":             code,
		"error_description": desc + "\r\nTrace ID: fake\r\nCorrelation ID: fake\r\nTimestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"error_codes":       []int{0},
		"timestamp":         time.Now().UTC().Format(time.RFC3339),
	}
}

func registryError(code, msg string) map[string]any {
	return map[string]any{"errors": []map[string]any{{"code": code, "message": msg, "detail": nil}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
