// Command fakegcp runs the gcpfake loopback fake of the Google metadata server, STS and
// IAM credentials endpoints until it is killed (SIGINT or SIGTERM).
//
// It prints one NAME=value line per endpoint on stdout, then "READY":
//
//	URL=http://127.0.0.1:PORT
//	GCE_METADATA_HOST=127.0.0.1:PORT
//	STS_URL=http://127.0.0.1:PORT/v1/token
//	IAM_CREDENTIALS_URL=http://127.0.0.1:PORT
//	OAUTH2_TOKEN_URL=http://127.0.0.1:PORT/token
//	READY
//
// so a script can `eval` the lines before READY. On exit it prints the call counters on
// stderr.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

type attrs map[string]string

func (a attrs) String() string { return fmt.Sprint(map[string]string(a)) }

func (a attrs) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	a[name] = value
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	lifetime := flag.Duration("token-lifetime", time.Hour, "expires_in of metadata, STS and key-file tokens")
	scopes := flag.String("scopes", gcpfake.ScopeCloudPlatform, "comma-separated scopes of the default service account")
	project := flag.String("project", gcpfake.DefaultProjectID, "project id the metadata server reports")
	delay := flag.Duration("delay", 0, "delay before every metadata token answer")
	attributes := attrs{}
	flag.Var(attributes, "attribute", "instance attribute name=value (repeatable), e.g. google-dockercfg={...}")
	flag.Parse()

	s, err := gcpfake.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakegcp:", err)
		os.Exit(1)
	}
	defer s.Close()
	s.SetTokenLifetimes(*lifetime)
	s.SetSTSLifetime(*lifetime)
	s.SetOAuth2Lifetime(*lifetime)
	s.SetProjectID(*project)
	var sc []string
	for _, v := range strings.Split(*scopes, ",") {
		if v = strings.TrimSpace(v); v != "" {
			sc = append(sc, v)
		}
	}
	s.SetScopes("default", sc...)
	for k, v := range attributes {
		s.SetAttribute(k, v)
	}
	if *delay > 0 {
		s.SetDelay(gcpfake.MetadataToken, *delay)
	}

	fmt.Printf("URL=%s\nGCE_METADATA_HOST=%s\nSTS_URL=%s\nIAM_CREDENTIALS_URL=%s\nOAUTH2_TOKEN_URL=%s\nREADY\n",
		s.URL, s.MetadataHost, s.STSURL, s.IAMCredentialsURL, s.OAuth2TokenURL)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	for _, ep := range []gcpfake.Endpoint{gcpfake.MetadataToken, gcpfake.MetadataScopes, gcpfake.MetadataAttribute, gcpfake.MetadataOther, gcpfake.MetadataRejected, gcpfake.STS, gcpfake.IAMCredentials, gcpfake.OAuth2} {
		fmt.Fprintf(os.Stderr, "fakegcp: %s calls: %d\n", ep, s.Calls(ep))
	}
}
