package acrtoken

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/exchange"
	"github.com/imagecred/image-credential-provider/internal/wirelog"
)

// Timeout bounds one Credentials call: AAD or managed identity token, registry
// challenge and exchange, retries included. It is well under the kubelet's 60 s exec
// timeout (acr-credential-provider needs 62 s to give up on a failing managed identity endpoint).
const Timeout = 20 * time.Second

// retryOptions is the SDK retry policy for every request (AAD, managed identity,
// registry): 4 tries, waiting about 0.2, 0.6 and 1.4 s in between (azcore's
// exponential backoff, with jitter), each try at most 6 s; a Retry-After above 3 s ends
// the retries. A failing endpoint costs about 2-3 s; a hung one is cut by Timeout.
var retryOptions = policy.RetryOptions{
	MaxRetries:    3,
	RetryDelay:    200 * time.Millisecond,
	MaxRetryDelay: 3 * time.Second,
	TryTimeout:    6 * time.Second,
}

// trustedAuthorities answer Microsoft Entra instance discovery themselves; for any
// other authority MSAL would send discovery to login.microsoftonline.com, so it is
// skipped there (Azure Stack, private clouds).
var trustedAuthorities = map[string]bool{
	"login.microsoftonline.com":        true,
	"login.microsoft.com":              true,
	"login.windows.net":                true,
	"sts.windows.net":                  true,
	"login.chinacloudapi.cn":           true,
	"login.partner.microsoftonline.cn": true,
	"login.microsoftonline.us":         true,
	"login-us.microsoftonline.com":     true,
	"login.usgovcloudapi.net":          true,
	"login.microsoftonline.de":         true,
}

// defaultHTTPClient is used when no client is given: the environment's proxy, short
// connect and TLS handshake timeouts, TLS 1.2 or later, HTTP/2.
func defaultHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}}
}

// noRedirects returns a copy of c that never follows redirects (every request here
// carries a token, which must not be re-sent to wherever a redirect points) and logs
// its calls (wirelog).
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cp.Transport = wirelog.Transport(acr.Name, cp.Transport)
	return &cp
}

func (p *Provider) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: p.cloud.AuthorityHost,
			Services:                     map[cloud.ServiceName]cloud.ServiceConfiguration{},
		},
		Retry:     retryOptions,
		Transport: p.http,
		Telemetry: policy.TelemetryOptions{ApplicationID: "image-credential-provider"},
	}
}

// credential builds the azidentity credential for id. saToken is the request's
// service account token (service-account-token mode only).
func (p *Provider) credential(id identity, saToken string) (azcore.TokenCredential, error) {
	opts := p.clientOptions()
	noDiscovery := !p.instanceDiscovery
	switch id.kind {
	case managedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		switch {
		case id.resourceID != "":
			o.ID = azidentity.ResourceID(id.resourceID)
		case id.clientID != "":
			o.ID = azidentity.ClientID(id.clientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	case workloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, ClientID: id.clientID, TenantID: id.tenantID, TokenFilePath: id.tokenFile,
			DisableInstanceDiscovery: noDiscovery,
		})
	case secretPrincipal:
		return azidentity.NewClientSecretCredential(id.tenantID, id.clientID, id.secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: opts, DisableInstanceDiscovery: noDiscovery,
		})
	case certificatePrincipal:
		data, err := os.ReadFile(id.certPath)
		if err != nil {
			return nil, fmt.Errorf("reading the client certificate: %w", err)
		}
		certs, key, err := azidentity.ParseCertificates(data, []byte(id.certPassword))
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %s", id.certPath, redact(err.Error(), id.certPassword))
		}
		return azidentity.NewClientCertificateCredential(id.tenantID, id.clientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: opts, DisableInstanceDiscovery: noDiscovery,
		})
	case serviceAccountToken:
		if saToken == "" {
			return nil, errors.New("the request carries no service account token")
		}
		return azidentity.NewClientAssertionCredential(id.tenantID, id.clientID,
			func(context.Context) (string, error) { return saToken, nil },
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
	}
	return nil, fmt.Errorf("unknown identity kind %d", id.kind)
}

// describeAADError reduces an azidentity error (several lines with the whole HTTP
// response) to one line: credential, status, the service's error code and the first
// line of its description.
func describeAADError(err error) string {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		name, _, _ := strings.Cut(afe.Error(), " ")
		name = strings.TrimSuffix(name, ":")
		msg := fmt.Sprintf("%s: status %d", name, afe.RawResponse.StatusCode)
		if body, e := runtime.Payload(afe.RawResponse); e == nil {
			msg += serviceError(body)
		}
		return msg
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time (" + exchange.OneLine(err.Error(), 200) + ")"
	}
	return exchange.OneLine(err.Error(), 400)
}

// serviceError reads the error of an AAD or managed identity answer:
// {"error","error_description"} or {"message"}; the description is cut at its first
// line (AAD appends trace and correlation ids).
func serviceError(body []byte) string {
	var e struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var parts []string
	switch v := e.Error.(type) {
	case string:
		parts = append(parts, v)
	case map[string]any: // {"error":{"code":..,"message":..}}
		if c, ok := v["code"].(string); ok {
			parts = append(parts, c)
		}
		if m, ok := v["message"].(string); ok {
			parts = append(parts, m)
		}
	}
	desc := first(e.Description, e.Message)
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	}
	parts = append(parts, desc)
	var out string
	for _, p := range parts {
		if p = exchange.OneLine(p, 200); p != "" {
			out += ": " + p
		}
	}
	return out
}

// redact replaces every occurrence of the secrets in s.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
			if esc := url.QueryEscape(sec); esc != sec {
				s = strings.ReplaceAll(s, esc, "[redacted]")
			}
		}
	}
	return s
}
