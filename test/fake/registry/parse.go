package registry

import (
	"encoding/base64"
	"strings"
)

// repoFromPath returns the repository name of a /v2/<name>/{manifests,blobs,tags,referrers}/...
// path, or "" for /v2/ itself and paths that name no repository.
func repoFromPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return ""
	}
	// Repository names may contain any of these words as a segment, references and
	// digests cannot contain '/', so the marker that ends the name is the last one.
	end := -1
	for _, marker := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex("/"+rest, marker); i > end {
			end = i
		}
	}
	if end <= 0 {
		return ""
	}
	return rest[:end-1]
}

// scopeRepos returns the repositories a token request's scope parameters ask pull access
// for: each scope is "repository:<name>:<actions>" (several may be space-separated).
func scopeRepos(scopes []string) []string {
	var repos []string
	for _, s := range scopes {
		for _, one := range strings.Fields(s) {
			typ, rest, ok := strings.Cut(one, ":")
			if !ok || typ != "repository" {
				continue
			}
			i := strings.LastIndex(rest, ":")
			if i <= 0 {
				continue
			}
			name, actions := rest[:i], rest[i+1:]
			for _, a := range strings.Split(actions, ",") {
				if a == "pull" || a == "*" {
					repos = append(repos, name)
					break
				}
			}
		}
	}
	return repos
}

// parseBasic decodes an "Authorization: Basic ..." header value.
func parseBasic(header string) (username, password string, ok bool) {
	scheme, payload, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", "", false
	}
	username, password, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	return username, password, true
}

// parseBearer returns the token of an "Authorization: Bearer ..." header value.
func parseBearer(header string) (string, bool) {
	scheme, token, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
