// Package dockercfg reads the docker configuration that the GCE metadata attributes
// google-dockercfg and google-dockercfg-url carry, and picks the entries that apply to an
// image the way the kubelet's keyring does.
//
// Both layouts are accepted: config.json ({"auths": {...}}) and the legacy .dockercfg
// (a bare map of registry to entry). An entry's "auth" (base64 of user:password)
// overrides its username and password, as in the kubelet.
package dockercfg

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Entry is one registry's credentials.
type Entry struct {
	Username string
	Password string
}

type rawEntry struct {
	Auth     string `json:"auth"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Config maps normalised registry keys (host[:port][/path], globs allowed in the host)
// to credentials.
type Config map[string]Entry

// Parse decodes a docker configuration in either layout. Errors describe the position
// of a problem, never the content (it holds passwords).
func Parse(data []byte) (Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, errors.New("not a JSON object")
	}
	entries := top
	if auths, ok := top["auths"]; ok {
		entries = nil
		if err := json.Unmarshal(auths, &entries); err != nil {
			return nil, errors.New(`"auths" is not a JSON object`)
		}
	}
	cfg := Config{}
	for key, raw := range entries {
		var e rawEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("entry %q is not a docker auth entry", safeKey(key))
		}
		entry := Entry{Username: e.Username, Password: e.Password}
		if strings.TrimSpace(e.Auth) != "" {
			user, pass, err := decodeAuth(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("entry %q: %v", safeKey(key), err)
			}
			entry = Entry{Username: user, Password: pass}
		}
		norm, ok := Normalize(key)
		if !ok {
			continue // the kubelet ignores keys it cannot parse
		}
		cfg[norm] = entry
	}
	return cfg, nil
}

// decodeAuth decodes "auth" like the kubelet: padded base64 when it ends in "=",
// unpadded otherwise; the text splits at the first colon.
func decodeAuth(s string) (user, pass string, err error) {
	s = strings.TrimSpace(s)
	enc := base64.RawStdEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return "", "", errors.New(`"auth" is not base64`)
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", errors.New(`"auth" does not decode to user:password`)
	}
	return user, pass, nil
}

// safeKey shortens a registry key for an error message.
func safeKey(k string) string {
	if len(k) > 100 {
		return k[:100] + "…"
	}
	return k
}

// Normalize turns a docker config key into the kubelet's form: scheme dropped, a
// leading /v1/ or /v2/ cut, host[:port] alone when no path remains. ok is false when
// the key does not parse as a URL.
func Normalize(key string) (string, bool) {
	u, ok := parse(key)
	if !ok {
		return "", false
	}
	p := u.Path
	if strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v2/") {
		p = p[3:]
	}
	if p == "" || p == "/" {
		return u.Host, true
	}
	return u.Host + p, true
}

func parse(s string) (*url.URL, bool) {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return nil, false
	}
	return u, true
}

// Matches reports whether a normalised key applies to image (host[:port]/path), with
// the kubelet's rules: equal ports, the same number of host labels, each key label a
// glob of one image label, and the key's path a plain string prefix of the image's.
func Matches(key, image string) bool {
	k, ok := parse(key)
	if !ok {
		return false
	}
	i, ok := parse(image)
	if !ok {
		return false
	}
	if k.Port() != i.Port() {
		return false
	}
	kl, il := strings.Split(k.Hostname(), "."), strings.Split(i.Hostname(), ".")
	if len(kl) != len(il) {
		return false
	}
	if !strings.HasPrefix(i.Path, k.Path) {
		return false
	}
	for n := range kl {
		if ok, err := filepath.Match(kl[n], il[n]); err != nil || !ok {
			return false
		}
	}
	return true
}

// For returns the entries of cfg whose keys match image.
func (cfg Config) For(image string) Config {
	out := Config{}
	for k, e := range cfg {
		if Matches(k, image) {
			out[k] = e
		}
	}
	return out
}
