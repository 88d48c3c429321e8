// Package fixedplugin is a minimal credential provider plugin for testing the harness
// itself: it answers every request with the credentials given on its command line, in
// the request's apiVersion. It is not the product; it pins down what the kubelet code
// does with a known answer.
package fixedplugin

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// Main runs the plugin: args are its command-line arguments. It returns the exit code.
//
//	-auth key=username:password   (repeatable)
//	-cache-key-type Image|Registry|Global
//	-cache-duration 1m            (omitted when empty)
//	-fail                         exit 1 without an answer
//	-leak                         write the password to stderr (a plugin bug to detect)
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var auths listFlag
	fs := flag.NewFlagSet("fixed-plugin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&auths, "auth", "key=username:password (repeatable)")
	keyType := fs.String("cache-key-type", "Image", "cacheKeyType of the response")
	duration := fs.String("cache-duration", "", "cacheDuration of the response (empty: omitted)")
	fail := fs.Bool("fail", false, "exit 1 without an answer")
	leak := fs.Bool("leak", false, "write the passwords to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintln(stderr, "fixed-plugin: reading stdin:", err)
		return 1
	}
	var req struct {
		APIVersion string `json:"apiVersion"`
		Image      string `json:"image"`
	}
	if err := json.Unmarshal(in, &req); err != nil {
		fmt.Fprintln(stderr, "fixed-plugin: bad request:", err)
		return 1
	}
	if *fail {
		fmt.Fprintln(stderr, "fixed-plugin: failing as asked")
		return 1
	}
	resp := map[string]any{"apiVersion": req.APIVersion, "kind": "CredentialProviderResponse", "cacheKeyType": *keyType}
	if *duration != "" {
		resp["cacheDuration"] = *duration
	}
	auth := map[string]map[string]string{}
	for _, a := range auths {
		key, cred, _ := strings.Cut(a, "=")
		u, p, _ := strings.Cut(cred, ":")
		auth[key] = map[string]string{"username": u, "password": p}
		if *leak {
			fmt.Fprintln(stderr, "fixed-plugin: using password", p)
		}
	}
	resp["auth"] = auth
	if err := json.NewEncoder(stdout).Encode(resp); err != nil {
		return 1
	}
	return 0
}
