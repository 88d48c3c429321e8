// Package match decides which docker config keys apply to an image, exactly as the
// kubelet's credential keyring does (k8s.io/kubernetes pkg/credentialprovider, v1.37).
//
// The kubelet's rules, which differ from Docker's:
//   - a key is host[:port][/path]; a scheme and a leading /v1/ or /v2/ are dropped;
//   - each dot-separated host label is a filepath.Match glob ("*.example.com",
//     "prefix.*.io", "*-good.example.com"), case-sensitive, and the pattern and the
//     image must have the same number of labels ("*.example.com" does not match
//     "a.b.example.com" nor "example.com");
//   - the ports must be equal (no port matches no port only; no wildcard ports);
//   - the key's path is a raw string prefix of the image's path ("reg/team" matches
//     "reg/teamx/app");
//   - when no key matches a Docker Hub image, the "index.docker.io" key serves it.
//
// Both sides are parsed the kubelet's way, "https://" prepended and net/url.Parse, so
// its quirks carry over: a "?" or "#" ends the host (a "?" glob cannot be used), text
// before an "@" is dropped as user info, and anything url.Parse rejects matches nothing.
package match

import (
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultRegistryKey is the normalized key that serves Docker Hub images when no other
// key matches them ("https://index.docker.io/v1/" normalizes to it).
const DefaultRegistryKey = "index.docker.io"

// NormalizeKey turns a docker config key into the form the kubelet's keyring indexes
// it under: "https://index.docker.io/v1/" → "index.docker.io",
// "http://reg.example:5000/v2/team" → "reg.example:5000/team". It fails when url.Parse
// rejects the key; the kubelet then ignores the entry.
func NormalizeKey(key string) (string, error) {
	s := key
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	path := u.Path
	for _, v := range []string{"/v1/", "/v2/"} {
		if strings.HasPrefix(path, v) {
			path = path[len(v)-1:]
			break
		}
	}
	if path == "" || path == "/" {
		return u.Host, nil
	}
	return u.Host + path, nil
}

// location is one side of a match, split the way the kubelet splits it.
type location struct {
	labels []string // host labels, split at "."
	port   string
	path   string
}

// parse reads a schemeless key or image as the kubelet does: "https://" is always
// prepended (so an explicit scheme becomes part of the host), the host is split from
// its port with net.SplitHostPort, falling back to the whole host and no port.
func parse(s string) (location, bool) {
	u, err := url.Parse("https://" + s)
	if err != nil {
		return location{}, false
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	return location{labels: strings.Split(host, "."), port: port, path: u.Path}, true
}

// CheckPattern reports whether the kubelet accepts pattern as a matchImages entry of
// its CredentialProviderConfig: it parses it as it parses every key and image
// ("https://" prepended, net/url.Parse) and refuses it when that fails. An accepted
// pattern may still match nothing (see Match).
func CheckPattern(pattern string) error {
	_, err := url.Parse("https://" + pattern)
	return err
}

// Match reports whether the kubelet would consider credentials stored under pattern
// (a normalized key) for image (host[:port]/path, as the kubelet sends it). It is the
// kubelet's URLsMatchStr with any error counted as no match.
func Match(pattern, image string) bool {
	p, ok := parse(pattern)
	if !ok {
		return false
	}
	t, ok := parse(image)
	if !ok {
		return false
	}
	return p.port == t.port && strings.HasPrefix(t.path, p.path) && labelsMatch(p.labels, t.labels)
}

// MatchHost reports whether pattern's host and port (its path is ignored) match host,
// a registry host with an optional port ("registry.example:5000"). A backend uses it
// to keep every entry that may apply to some repository on host, and lets the kubelet
// match the path. It does not apply the Docker Hub rule; see ServesHost.
func MatchHost(pattern, host string) bool {
	p, ok := parse(pattern)
	if !ok {
		return false
	}
	t, ok := parse(host)
	if !ok || t.path != "" {
		return false
	}
	return p.port == t.port && labelsMatch(p.labels, t.labels)
}

func labelsMatch(pattern, target []string) bool {
	if len(pattern) != len(target) {
		return false
	}
	for i, glob := range pattern {
		if ok, err := filepath.Match(glob, target[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// IsDefaultRegistryMatch reports whether the kubelet treats image as a Docker Hub
// image for the "index.docker.io" fallback: its first path element is "docker.io" or
// "index.docker.io", or holds neither "." nor ":" (so "myhost/app" counts, as in the
// kubelet), or there is no "/" at all.
func IsDefaultRegistryMatch(image string) bool {
	first, _, hasSlash := strings.Cut(image, "/")
	switch {
	case first == "":
		return false
	case !hasSlash, first == "docker.io", first == "index.docker.io":
		return true
	}
	return !strings.ContainsAny(first, ".:")
}

// ServesHost reports whether the credentials stored under key (normalized) may be
// handed out for some repository on host: key's host part matches host, or key is
// DefaultRegistryKey and host is Docker Hub's ("docker.io" or "index.docker.io"; the
// kubelet's fallback, which only applies when no other key matches, is left to the
// kubelet). The kubelet's fallback also covers single-label hosts such as
// "myhost/app" (see IsDefaultRegistryMatch); ServesHost does not, so that Docker Hub
// credentials are never offered to another registry.
func ServesHost(key, host string) bool {
	if MatchHost(key, host) {
		return true
	}
	return key == DefaultRegistryKey && (host == "docker.io" || host == DefaultRegistryKey)
}

// Lookup returns the keys whose credentials the kubelet's keyring would hand to the
// container runtime for image, in the kubelet's order: the normalized keys
// de-duplicated and sorted in reverse, those that Match; or, when none does and image
// is a Docker Hub image, DefaultRegistryKey if present. keys must be normalized.
func Lookup(keys []string, image string) []string {
	uniq := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(uniq)))
	var out []string
	for _, k := range uniq {
		if Match(k, image) {
			out = append(out, k)
		}
	}
	if len(out) == 0 && seen[DefaultRegistryKey] && IsDefaultRegistryMatch(image) {
		out = []string{DefaultRegistryKey}
	}
	return out
}
