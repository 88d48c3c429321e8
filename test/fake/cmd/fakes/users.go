package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/test/fake/registry"
)

// dockerConfigUsers reads docker config.json files and returns the users they give each
// static site: an entry whose host matches a host name of the site (the kubelet's
// matching: one "*" is one label, ports equal) becomes a user of that site with the
// entry's username and password, limited to the repositories below the entry's path.
// So an example docker config pulls from the fakes with the credentials it ships with.
// A user is the whole site's, whichever of its host names the entry matched: which
// entry applies to which host is the kubelet's to decide, and the tests' to check.
// Entries no site serves (another host, or a port) are ignored; an entry that cannot
// be decoded is an error, since the file is the test's own.
func dockerConfigUsers(sites []site, files []string) (map[string][]registry.User, error) {
	out := map[string][]registry.User{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var cfg struct {
			Auths map[string]struct {
				Auth     string `json:"auth"`
				Username string `json:"username"`
				Password string `json:"password"`
			} `json:"auths"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		for key, e := range cfg.Auths {
			user, password := e.Username, e.Password
			if e.Auth != "" {
				dec, err := base64.StdEncoding.DecodeString(e.Auth)
				if err != nil {
					return nil, fmt.Errorf("%s: entry %q: auth: %w", file, key, err)
				}
				var ok bool
				if user, password, ok = strings.Cut(string(dec), ":"); !ok {
					return nil, fmt.Errorf("%s: entry %q: auth has no ':'", file, key)
				}
			}
			norm, err := match.NormalizeKey(key)
			if err != nil {
				return nil, fmt.Errorf("%s: entry %q: %w", file, key, err)
			}
			host, path, _ := strings.Cut(norm, "/")
			var repos []string
			if path = strings.Trim(path, "/"); path != "" {
				repos = []string{path}
			}
			for _, st := range sites {
				for _, h := range st.hosts {
					if match.Match(host, h) {
						out[st.name] = append(out[st.name], registry.User{Name: user, Password: password, Repos: repos})
						break
					}
				}
			}
		}
	}
	return out, nil
}
