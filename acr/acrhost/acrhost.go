// Package acrhost recognises Azure Container Registry login servers from the host
// name alone: no configuration file, no network, no SDK. The front end the kubelet
// runs uses it to pick the binary that links the Azure SDK; the ACR backend's own
// host matching (package acr) is built on the same Matcher.
package acrhost

import (
	"sort"
	"strconv"
	"strings"

	"github.com/imagecred/image-credential-provider/internal/dnsname"
)

// WellKnownSuffixes are the registry suffixes of every Azure cloud, past and present
// (public, China, US Government, Germany).
var WellKnownSuffixes = []string{"azurecr.io", "azurecr.cn", "azurecr.us", "azurecr.de"}

// Matcher recognises the login servers of a set of registry suffixes:
// "<registry>.<suffix>" and the geo-replicas "<registry>.<region>.geo.<suffix>", on any
// port.
type Matcher struct {
	suffixes []string // longest first, so a suffix inside another is tried last
}

// NewMatcher returns a Matcher for suffixes (lower case, without a leading dot; empty
// and repeated ones are ignored).
func NewMatcher(suffixes []string) Matcher {
	seen := map[string]bool{}
	var m Matcher
	for _, s := range suffixes {
		if s != "" && !seen[s] {
			seen[s] = true
			m.suffixes = append(m.suffixes, s)
		}
	}
	sort.SliceStable(m.suffixes, func(i, j int) bool { return len(m.suffixes[i]) > len(m.suffixes[j]) })
	return m
}

// IsLoginServer reports whether host (host[:port], any case) is a login server of one
// of m's suffixes.
func (m Matcher) IsLoginServer(host string) bool {
	name, _, ok := SplitHostPort(host)
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
		case len(labels) == 1 && IsDNSLabel(labels[0]):
			return true
		case len(labels) == 3 && labels[2] == "geo" && IsDNSLabel(labels[0]) && IsDNSLabel(labels[1]):
			return true
		}
	}
	return false
}

// IsWellKnown reports whether host is a login server of a well-known suffix.
func IsWellKnown(host string) bool { return wellKnown.IsLoginServer(host) }

var wellKnown = NewMatcher(WellKnownSuffixes)

// SplitHostPort splits "host" or "host:port" (no brackets: ACR hosts are names). The
// port, when present, must be 1-65535 without a sign or leading zero.
func SplitHostPort(hp string) (host, port string, ok bool) {
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

// IsDNSLabel reports whether l is a lower-case LDH label (see dnsname.IsLabel).
func IsDNSLabel(l string) bool { return dnsname.IsLabel(l) }
