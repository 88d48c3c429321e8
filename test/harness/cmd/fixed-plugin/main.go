// Command fixed-plugin is a minimal credential provider plugin for testing the harness
// itself: it answers every request with the credentials given on its command line, in
// the request's apiVersion. It is not the product; it lets harness tests pin down what
// the kubelet code does with a known answer.
//
//	fixed-plugin -auth 'reg.example=user:pass' -cache-key-type Registry -cache-duration 1m
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var auths listFlag
	fs := flag.NewFlagSet("fixed-plugin", flag.ExitOnError)
	fs.Var(&auths, "auth", "key=username:password (repeatable)")
	keyType := fs.String("cache-key-type", "Image", "cacheKeyType of the response")
	duration := fs.String("cache-duration", "", "cacheDuration of the response (empty: omitted)")
	fail := fs.Bool("fail", false, "exit 1 without an answer")
	echoToken := fs.Bool("password-from-token", false, "use the service account token as the password")
	_ = fs.Parse(os.Args[1:])

	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixed-plugin: reading stdin:", err)
		os.Exit(1)
	}
	var req struct {
		APIVersion string `json:"apiVersion"`
		Image      string `json:"image"`
		Token      string `json:"serviceAccountToken"`
	}
	if err := json.Unmarshal(in, &req); err != nil {
		fmt.Fprintln(os.Stderr, "fixed-plugin: bad request:", err)
		os.Exit(1)
	}
	if *fail {
		fmt.Fprintln(os.Stderr, "fixed-plugin: failing as asked")
		os.Exit(1)
	}
	resp := map[string]any{
		"apiVersion":   req.APIVersion,
		"kind":         "CredentialProviderResponse",
		"cacheKeyType": *keyType,
	}
	if *duration != "" {
		resp["cacheDuration"] = *duration
	}
	auth := map[string]map[string]string{}
	for _, a := range auths {
		key, cred, _ := strings.Cut(a, "=")
		u, p, _ := strings.Cut(cred, ":")
		if *echoToken {
			p = req.Token
		}
		auth[key] = map[string]string{"username": u, "password": p}
	}
	resp["auth"] = auth
	_ = json.NewEncoder(os.Stdout).Encode(resp)
}
