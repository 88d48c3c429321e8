package acr

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/imagecred/image-credential-provider/acr/azureconfig"
)

// hostMatcher recognises ACR login servers: "<name>.<suffix>" and geo-replica hosts
// "<name>.<region>.geo.<suffix>", with an optional port, for a fixed set of suffixes.
// Matching is exact on labels: "foo.azurecr.io.example" and "a.b.azurecr.io" are not ACR.
type hostMatcher struct {
	suffixes []string // lower-case, no leading dot, longest first
}

func newHostMatcher(suffixes []string) hostMatcher {
	seen := map[string]bool{}
	var m hostMatcher
	for _, s := range suffixes {
		if s != "" && !seen[s] {
			seen[s] = true
			m.suffixes = append(m.suffixes, s)
		}
	}
	sort.Slice(m.suffixes, func(i, j int) bool { return len(m.suffixes[i]) > len(m.suffixes[j]) })
	return m
}

// isACR reports whether host (host[:port]) is an ACR login server.
func (m hostMatcher) isACR(host string) bool {
	name, _, ok := splitHostPort(host)
	if !ok {
		return false
	}
	name = strings.ToLower(name)
	for _, s := range m.suffixes {
		if len(name) <= len(s)+1 || !strings.HasSuffix(name, s) || name[len(name)-len(s)-1] != '.' {
			continue
		}
		labels := strings.Split(name[:len(name)-len(s)-1], ".")
		switch {
		case len(labels) == 1 && azureconfig.IsDNSLabel(labels[0]):
			return true
		case len(labels) == 3 && labels[2] == "geo" && azureconfig.IsDNSLabel(labels[0]) && azureconfig.IsDNSLabel(labels[1]):
			return true
		}
	}
	return false
}

// splitHostPort splits "host" or "host:port" (no brackets: ACR hosts are names). The
// port, when present, must be 1-65535.
func splitHostPort(hp string) (host, port string, ok bool) {
	host, port = hp, ""
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		host, port = hp[:i], hp[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return "", "", false
		}
	}
	if host == "" || strings.ContainsAny(host, ":/[]@ ") {
		return "", "", false
	}
	return host, port, true
}

// normalizeRegistryHost checks a configured host[:port] and lower-cases it.
func normalizeRegistryHost(what, hp string) (string, error) {
	hp = strings.TrimSpace(hp)
	host, port, ok := splitHostPort(hp)
	if !ok {
		return "", fmt.Errorf("%s %q is not a host[:port]", what, hp)
	}
	for _, l := range strings.Split(strings.ToLower(host), ".") {
		if !azureconfig.IsDNSLabel(l) {
			return "", fmt.Errorf("%s %q is not a host[:port]", what, hp)
		}
	}
	if port != "" {
		return strings.ToLower(host) + ":" + port, nil
	}
	return strings.ToLower(host), nil
}
