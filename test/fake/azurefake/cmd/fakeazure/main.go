// Command fakeazure runs the loopback Azure fake (AAD, managed identity, ACR token
// endpoints) and a CONNECT proxy in front of it, for scripts and benchmarks that run
// real binaries against it.
//
// It prints the environment a child process needs, one KEY=VALUE per line (also
// written to -env-out) and a last line READY, then serves until SIGINT or SIGTERM:
//
//	SSL_CERT_FILE      the test CA (written to -ca-out)
//	HTTPS_PROXY        the CONNECT proxy: every TLS host name reaches the fake
//	IDENTITY_ENDPOINT  managed identity (App Service protocol) on loopback
//	IDENTITY_HEADER
//	AZURE_TENANT_ID    the fake's default tenant
//	FAKEAZURE_URL      the fake's own https URL (for direct calls)
//
// Example:
//
//	go run ./test/fake/azurefake/cmd/fakeazure -env-out /tmp/az.env \
//	    -user-assigned 11111111-2222-3333-4444-555555555555 \
//	    -secret-principal sp-client=fake-secret &
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
	"github.com/imagecred/image-credential-provider/test/fake/connectproxy"
)

type pairs []string

func (p *pairs) String() string     { return strings.Join(*p, ",") }
func (p *pairs) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeazure:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		caOut, envOut, audience string
		refreshLifetime         time.Duration
		secrets, feds, uas      pairs
		noSystem                bool
	)
	flag.StringVar(&caOut, "ca-out", "", "write the test CA PEM here (default: a file in a new temp dir)")
	flag.StringVar(&envOut, "env-out", "", "also write the KEY=VALUE environment to this file")
	flag.StringVar(&audience, "audience", azurefake.DefaultAudience, "ACR audience the exchange accepts")
	flag.DurationVar(&refreshLifetime, "refresh-lifetime", 3*time.Hour, "lifetime of issued ACR refresh tokens")
	flag.Var(&secrets, "secret-principal", "CLIENT_ID=SECRET: a service principal with a client secret (repeatable)")
	flag.Var(&feds, "federated-principal", "CLIENT_ID=SUBJECT: an application accepting federated assertions with this sub (repeatable)")
	flag.Var(&uas, "user-assigned", "CLIENT_ID[=RESOURCE_ID]: a user-assigned managed identity (repeatable)")
	flag.BoolVar(&noSystem, "no-system-assigned", false, "refuse system-assigned managed identity requests")
	flag.Parse()

	if caOut == "" {
		dir, err := os.MkdirTemp("", "fakeazure-")
		if err != nil {
			return err
		}
		caOut = filepath.Join(dir, "ca.pem")
	}
	s, err := azurefake.Start(azurefake.Options{Audience: audience, RefreshTokenLifetime: refreshLifetime, NoSystemAssignedIdentity: noSystem})
	if err != nil {
		return err
	}
	defer s.Close()
	for _, p := range secrets {
		id, secret, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("-secret-principal %q: want CLIENT_ID=SECRET", p)
		}
		s.AddSecretPrincipal("", id, secret)
	}
	for _, p := range feds {
		id, sub, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("-federated-principal %q: want CLIENT_ID=SUBJECT", p)
		}
		s.AddFederatedPrincipal("", id, sub)
	}
	for _, p := range uas {
		id, rid, _ := strings.Cut(p, "=")
		s.AddUserAssignedIdentity(id, rid)
	}
	if err := s.CA.WriteFile(caOut); err != nil {
		return err
	}
	proxy, err := connectproxy.Start(s.Addr)
	if err != nil {
		return err
	}
	defer proxy.Close()

	env := map[string]string{
		"SSL_CERT_FILE":     caOut,
		"HTTPS_PROXY":       proxy.URL,
		"IDENTITY_ENDPOINT": s.AppServiceEndpoint(),
		"IDENTITY_HEADER":   s.IdentityHeader,
		"AZURE_TENANT_ID":   azurefake.DefaultTenantID,
		"FAKEAZURE_URL":     s.URL,
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	if envOut != "" {
		if err := os.WriteFile(envOut, []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	fmt.Print(b.String())
	fmt.Println("READY")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	fmt.Fprintf(os.Stderr, "fakeazure: exchanges=%d aad-tokens=%d imds=%d appservice=%d tunnels=%v\n",
		s.Calls(azurefake.Exchange), s.Calls(azurefake.AADToken), s.Calls(azurefake.IMDS), s.Calls(azurefake.AppService), proxy.Connects())
	return nil
}
