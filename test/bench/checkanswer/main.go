// Command checkanswer checks that a kubelet credential provider's answer really holds
// credentials, so that a benchmark never times a run that exited 0 with nothing in it:
//
//	checkanswer -username AWS <response.json
//	checkanswer -username oauth2accesstoken,_token <response.json
//
// It reads one CredentialProviderResponse (JSON) on stdin and exits 0 only when it has
// an auth entry whose username is one of -username and whose password is not empty. It
// prints the matching registry keys on stdout; it never prints a password.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	usernames := flag.String("username", "", "comma-separated usernames, one of which an entry must have")
	flag.Parse()
	keys, err := check(os.Stdin, strings.Split(*usernames, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkanswer:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(keys, " "))
}

type response struct {
	Kind string `json:"kind"`
	Auth map[string]struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"auth"`
}

// check returns the sorted registry keys of the entries that have one of the
// usernames and a password, or an error saying what the answer lacks.
func check(r io.Reader, usernames []string) ([]string, error) {
	want := map[string]bool{}
	for _, u := range usernames {
		if u = strings.TrimSpace(u); u != "" {
			want[u] = true
		}
	}
	if len(want) == 0 {
		return nil, errors.New("no -username given")
	}
	var resp response
	dec := json.NewDecoder(r)
	if err := dec.Decode(&resp); err != nil {
		return nil, fmt.Errorf("not a JSON answer: %v", err)
	}
	if resp.Kind != "CredentialProviderResponse" {
		return nil, fmt.Errorf("kind %q, want CredentialProviderResponse", resp.Kind)
	}
	var keys, seen []string
	for k, a := range resp.Auth {
		if want[a.Username] && a.Password != "" {
			keys = append(keys, k)
		} else {
			seen = append(seen, fmt.Sprintf("%s (username %q, password %d bytes)", k, a.Username, len(a.Password)))
		}
	}
	if len(keys) == 0 {
		sort.Strings(seen)
		if len(seen) == 0 {
			return nil, errors.New("the answer has no auth entry")
		}
		return nil, fmt.Errorf("no auth entry with username %s and a password; entries: %s", strings.Join(usernames, " or "), strings.Join(seen, ", "))
	}
	sort.Strings(keys)
	return keys, nil
}
