package acrtoken

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

// checkErrorLine asserts the one-line error contract: names the backend, the
// registry, the identity kind and the cause; never a secret; one line.
func checkErrorLine(t *testing.T, err error, registry, kind, cause string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, want := range []string{"acr: ", registry, kind, cause} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error contains a secret: %q", msg)
		}
	}
}

func TestExchangeFailures(t *testing.T) {
	const secret = "failures-secret-value"
	env := map[string]string{"AZURE_TENANT_ID": "t-fail", "AZURE_CLIENT_ID": "sp-fail", "AZURE_CLIENT_SECRET": secret}
	tests := []struct {
		name  string
		opts  azurefake.Options
		setup func(*azurefake.Server)
		env   map[string]string
		cause string
	}{
		{"401 from the exchange", azurefake.Options{Audience: "https://some-other-audience.example"}, nil, env, "token exchange: POST https://myacr.azurecr.io/oauth2/exchange: status 401: UNAUTHORIZED"},
		{"missing refresh token", azurefake.Options{}, func(s *azurefake.Server) { s.SetRefreshTokenShape(azurefake.RefreshMissing) }, env, "no refresh_token"},
		{"empty refresh token", azurefake.Options{}, func(s *azurefake.Server) { s.SetRefreshTokenShape(azurefake.RefreshEmpty) }, env, "empty refresh_token"},
		{"registry unavailable", azurefake.Options{}, func(s *azurefake.Server) { s.FailNext(azurefake.Challenge, 100, 503) }, env, "registry challenge: GET https://myacr.azurecr.io/v2/: status 503"},
		{"wrong client secret", azurefake.Options{}, nil,
			map[string]string{"AZURE_TENANT_ID": "t-fail", "AZURE_CLIENT_ID": "sp-fail", "AZURE_CLIENT_SECRET": "wrong-" + secret},
			"AAD token: ClientSecretCredential: status 401: invalid_client: AADSTS7000215: Invalid client secret provided."},
		{"AAD down", azurefake.Options{}, func(s *azurefake.Server) { s.FailNext(azurefake.AADToken, 100, 500) }, env, "AAD token: ClientSecretCredential: status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startFake(t, tt.opts)
			s.AddSecretPrincipal("t-fail", "sp-fail", secret)
			if tt.setup != nil {
				tt.setup(s)
			}
			p := newProvider(t, s, acr.Config{}, tt.env)
			start := time.Now()
			res, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
			if res != nil {
				t.Fatalf("got a result %+v with error %v", res, err)
			}
			checkErrorLine(t, err, "myacr.azurecr.io", "service principal (client secret) (client id sp-fail, tenant t-fail)", tt.cause, secret, "wrong-"+secret)
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestOpaqueRefreshTokenGetsFallbackLifetime(t *testing.T) {
	s := startFake(t, azurefake.Options{})
	s.AddSecretPrincipal("t", "c", "opaque-secret")
	s.SetRefreshTokenShape(azurefake.RefreshOpaque)
	p := newProvider(t, s, acr.Config{}, map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "opaque-secret"})
	res, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(res.Expiry); d < FallbackLifetime-time.Minute || d > FallbackLifetime {
		t.Fatalf("expiry in %v, want the %v fallback", d, FallbackLifetime)
	}
	if err := s.ValidateRefreshToken(res.Auth["myacr.azurecr.io"].Password); err != nil {
		t.Fatal(err)
	}
}

func TestExpiredRefreshTokenIsAnError(t *testing.T) {
	s := startFake(t, azurefake.Options{RefreshTokenLifetime: -time.Minute})
	s.AddSecretPrincipal("t", "c", "expired-secret")
	p := newProvider(t, s, acr.Config{}, map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "expired-secret"})
	_, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
	checkErrorLine(t, err, "myacr.azurecr.io", "service principal", "node clock")
}

// A failing managed identity endpoint costs the SDK retry policy (4 tries, about
// 2 s), not acr-credential-provider's 62 s.
func TestFailingManagedIdentityIsBounded(t *testing.T) {
	clearManagedIdentityEnv(t)
	s := startFake(t, azurefake.Options{})
	s.AddUserAssignedIdentity("ua-failing", "")
	s.FailNext(azurefake.IMDS, 100, 500)
	p := newProvider(t, s, acr.Config{}, map[string]string{"AZURE_CLIENT_ID": "ua-failing"})
	start := time.Now()
	_, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
	elapsed := time.Since(start)
	checkErrorLine(t, err, "myacr.azurecr.io", "managed identity (client id ua-failing)", "AAD token: ManagedIdentityCredential: status 500")
	if got := s.Calls(azurefake.IMDS); got != 1+int(retryOptions.MaxRetries) {
		t.Errorf("IMDS calls %d, want %d", got, 1+retryOptions.MaxRetries)
	}
	if elapsed > 6*time.Second {
		t.Errorf("failing managed identity took %v", elapsed)
	}
	if s.Calls(azurefake.Exchange) != 0 {
		t.Error("exchanged without an AAD token")
	}
}

// An endpoint that never answers is cut by the caller's deadline (and by Timeout).
func TestHungManagedIdentityHonoursDeadline(t *testing.T) {
	clearManagedIdentityEnv(t)
	s := startFake(t, azurefake.Options{})
	s.AddUserAssignedIdentity("ua-hung", "")
	s.Hang(azurefake.IMDS, true)
	p := newProvider(t, s, acr.Config{}, map[string]string{"AZURE_CLIENT_ID": "ua-hung"})
	start := time.Now()
	_, err := p.Credentials(ctxTimeout(t, 1500*time.Millisecond), request("myacr.azurecr.io/app"))
	elapsed := time.Since(start)
	checkErrorLine(t, err, "myacr.azurecr.io", "managed identity", "AAD token: gave up after")
	if elapsed < 1400*time.Millisecond || elapsed > 4*time.Second {
		t.Errorf("returned after %v, want about the 1.5 s deadline", elapsed)
	}
}

func TestNonACRHostTouchesNothing(t *testing.T) {
	s := startFake(t, azurefake.Options{})
	p := newProvider(t, s, acr.Config{}, map[string]string{"AZURE_CLIENT_ID": "x"})
	for _, host := range []string{"docker.io", "foo.azurecr.io.example", "a.b.azurecr.io"} {
		if p.Serves(image(host + "/app")) {
			t.Errorf("%s served", host)
		}
		_, err := p.Credentials(context.Background(), request(host+"/app"))
		if err == nil || !strings.Contains(err.Error(), "not an Azure Container Registry") {
			t.Errorf("%s: err = %v", host, err)
		}
	}
	if n := s.Calls(azurefake.Challenge) + s.Calls(azurefake.IMDS) + len(s.TokenRequests()); n != 0 {
		t.Errorf("%d requests for non-ACR hosts", n)
	}
}

// A registry whose challenge names a realm outside ACR never gets the AAD token.
func TestForeignRealmIsRefused(t *testing.T) {
	s := startFake(t, azurefake.Options{})
	s.AddSecretPrincipal("t", "c", "realm-secret")
	var posted int
	evil := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/exchange" {
			posted++
			_, _ = io.WriteString(w, `{"refresh_token":"stolen"}`)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://collector.example/oauth2/token",service="myacr.azurecr.io"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	evil.TLS = s.CA.ServerConfig()
	evil.StartTLS()
	defer evil.Close()
	// This client sends the registry and the realm to the evil server, AAD to the fake.
	client := s.Client()
	tr := client.Transport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, "myacr.azurecr.io:") || strings.HasPrefix(addr, "collector.example:") {
			addr = evil.Listener.Addr().String()
		}
		return dial(ctx, network, addr)
	}
	client.Transport = tr
	p, err := New(acr.Config{}, WithHTTPClient(client), WithLookupEnv(envMap(map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "realm-secret"})))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
	checkErrorLine(t, err, "myacr.azurecr.io", "service principal", "realm host collector.example is not an ACR login server")
	if posted != 0 {
		t.Fatal("the AAD token was posted to a foreign realm")
	}
}

// Throttling: a short Retry-After is honoured and the call succeeds; one longer than
// the policy's MaxRetryDelay ends the call at once instead of sleeping through it.
func TestThrottledRegistry(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		wantErr    bool
		minTime    time.Duration
		maxTime    time.Duration
	}{
		{"short Retry-After honoured", time.Second, false, time.Second, 4 * time.Second},
		{"long Retry-After not slept through", 30 * time.Second, true, 0, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startFake(t, azurefake.Options{})
			s.AddSecretPrincipal("t", "c", "throttle-secret")
			s.Throttle(azurefake.Exchange, 1, tt.retryAfter)
			p := newProvider(t, s, acr.Config{}, map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "throttle-secret"})
			start := time.Now()
			res, err := p.Credentials(context.Background(), request("myacr.azurecr.io/app"))
			elapsed := time.Since(start)
			if tt.wantErr {
				checkErrorLine(t, err, "myacr.azurecr.io", "service principal", "token exchange: POST https://myacr.azurecr.io/oauth2/exchange: status 429")
			} else if err != nil {
				t.Fatal(err)
			} else {
				checkResult(t, s, res, "myacr.azurecr.io")
			}
			if elapsed < tt.minTime || elapsed > tt.maxTime {
				t.Errorf("took %v, want %v..%v", elapsed, tt.minTime, tt.maxTime)
			}
		})
	}
}
