package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagecred/image-credential-provider/test/fake/registry"
)

// push uploads a tiny random image to a loopback registry (for registries this program
// does not run, such as Debian's docker-registry) and prints its digests as JSON.
func push(args []string) int {
	fs := flag.NewFlagSet("fakes push", flag.ExitOnError)
	reg := fs.String("registry", "", "loopback registry host:port")
	user := fs.String("user", "", "username")
	passwordEnv := fs.String("password-env", "", "name of the environment variable holding the password")
	caFile := fs.String("ca", "", "PEM CA of the registry's certificate")
	repo := fs.String("repo", "team/app", "repository")
	tag := fs.String("tag", "v1", "tag")
	_ = fs.Parse(args)
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "fakes push:", err)
		return 1
	}
	host, _, err := net.SplitHostPort(*reg)
	if err != nil {
		return fail(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fail(fmt.Errorf("registry %s is not a loopback address", *reg))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return fail(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fail(fmt.Errorf("%s holds no PEM certificate", *caFile))
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	ref, err := name.NewTag(*reg + "/" + *repo + ":" + *tag)
	if err != nil {
		return fail(err)
	}
	img, err := random.Image(registry.DefaultLayerBytes, registry.DefaultLayers)
	if err != nil {
		return fail(err)
	}
	auth := authn.Anonymous
	if *user != "" {
		auth = &authn.Basic{Username: *user, Password: os.Getenv(*passwordEnv)}
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(tr)); err != nil {
		return fail(err)
	}
	desc, err := registry.Describe(*repo, *tag, img)
	if err != nil {
		return fail(err)
	}
	out, _ := json.Marshal(desc)
	fmt.Println(string(out))
	return 0
}
