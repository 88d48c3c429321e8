// Package imageref parses image references the way the kubelet does before it calls a
// plugin: the normalized form of the reference grammar that Docker, containerd and the
// kubelet share (github.com/distribution/reference), with Docker Hub short names
// completed to docker.io/library/….
//
// It accepts exactly the references that grammar accepts and yields the same registry
// host and repository path (checked in its tests against distribution/reference by a
// differential fuzz target), with one exception stated on Parse. It is written by hand
// rather than with regular expressions so that it costs nothing at start-up: the
// reference library compiles its grammar when a program starts (about 1 ms), which
// every binary the kubelet runs would pay.
package imageref

import (
	"errors"
	"fmt"
	"strings"

	"github.com/imagecred/image-credential-provider/internal/quote"
	"github.com/imagecred/image-credential-provider/providers"
)

// Limits of the reference grammar.
const (
	// MaxPathLength bounds the repository path, Docker Hub's "library/" included.
	MaxPathLength = 255
	// MaxTagLength bounds a tag.
	MaxTagLength = 128
)

// Docker Hub's names.
const (
	dockerHub       = "docker.io"
	legacyDockerHub = "index.docker.io"
	officialRepos   = "library/"
)

// Parse parses an image reference: the kubelet's own requests name the repository
// without tag or digest ("docker.io/library/nginx"), and people debugging by hand may give
// any full reference ("nginx:1.27", "localhost:5000/app@sha256:…"). Surrounding white
// space is ignored. Tag and digest are checked, then dropped; Docker Hub short names
// become docker.io/library/….
//
// The one difference from distribution/reference: a first component that reads as a
// registry host (it has a dot) but is not a valid host name, and yet is a valid path
// component ("my_registry.example/app"), is an error here, where that library returns a
// name with no registry host at all.
func Parse(s string) (providers.Image, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return providers.Image{}, errors.New("empty image reference")
	}
	img, err := parse(s)
	if err != nil {
		return providers.Image{}, fmt.Errorf("invalid image reference %s: %w", quote.String(s), err)
	}
	return img, nil
}

func parse(s string) (providers.Image, error) {
	if isImageID(s) {
		return providers.Image{}, errors.New("a string of 64 hexadecimal digits is an image ID, not an image name")
	}
	host, rest := splitHost(s)
	if err := checkHost(host); err != nil {
		return providers.Image{}, err
	}
	path, tag, digest, hasTag, hasDigest := splitPath(rest)
	if err := checkPath(path); err != nil {
		return providers.Image{}, err
	}
	if hasTag {
		if err := checkTag(tag); err != nil {
			return providers.Image{}, err
		}
	}
	if hasDigest {
		if err := checkDigest(digest); err != nil {
			return providers.Image{}, err
		}
	}
	return providers.Image{Host: host, Path: path}, nil
}

// isImageID reports whether s is 64 lower-case hexadecimal digits: what Docker prints
// as an image ID, which the grammar refuses as a name.
func isImageID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// splitHost splits s into the registry host and the rest (path, tag, digest). The first
// component is the host when it is "localhost" or has a dot, a colon or an upper-case
// letter; otherwise the image is on Docker Hub, where a one-component path is an
// official image under library/.
func splitHost(s string) (host, rest string) {
	first, after, found := strings.Cut(s, "/")
	switch {
	case !found:
		host, rest = dockerHub, s
	case first == "localhost":
		host, rest = first, after
	case first == legacyDockerHub:
		host, rest = dockerHub, after
	case strings.ContainsAny(first, ".:") || strings.ToLower(first) != first:
		host, rest = first, after
	default:
		host, rest = dockerHub, s
	}
	if host == dockerHub && !strings.Contains(rest, "/") {
		rest = officialRepos + rest
	}
	return host, rest
}

// checkHost checks a registry host: a DNS name (labels of letters, digits and inner
// hyphens, separated by dots) or an IPv6 address in brackets, with an optional port.
func checkHost(host string) error {
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return fmt.Errorf("registry host %s: the IPv6 address has no closing bracket", quote.String(host))
		}
		name, port = host[:end+1], host[end+1:]
		if !isIPv6Literal(name[1:end]) {
			return fmt.Errorf("registry host %s: an IPv6 address in brackets has only hexadecimal digits and colons", quote.String(host))
		}
		if port != "" && port[0] != ':' {
			return fmt.Errorf("registry host %s: only a port may follow the IPv6 address", quote.String(host))
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		name, port = host[:i], host[i:]
		if !isDomainName(name) {
			return fmt.Errorf("registry host %s: %s is not a valid host name", quote.String(host), quote.String(name))
		}
	} else if !isDomainName(name) {
		return fmt.Errorf("registry host %s is not a valid host name", quote.String(host))
	}
	if port != "" && !isDigits(port[1:]) {
		return fmt.Errorf("registry host %s: the port must be a number", quote.String(host))
	}
	return nil
}

func isIPv6Literal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && c != ':' && (c|0x20 < 'a' || c|0x20 > 'f') {
			return false
		}
	}
	return true
}

// isDomainName reports whether s is dot-separated labels of ASCII letters, digits and
// hyphens, no label empty or beginning or ending with a hyphen.
func isDomainName(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isDigit(c) && c != '-' && (c|0x20 < 'a' || c|0x20 > 'z') {
				return false
			}
		}
	}
	return true
}

// splitPath splits what follows the host into the repository path, the tag (after a
// colon) and the digest (after an at sign).
func splitPath(rest string) (path, tag, digest string, hasTag, hasDigest bool) {
	path = rest
	if i := strings.IndexAny(rest, ":@"); i >= 0 {
		path = rest[:i]
		if rest[i] == ':' {
			hasTag = true
			tag = rest[i+1:]
			if j := strings.IndexByte(tag, '@'); j >= 0 {
				tag, digest, hasDigest = tag[:j], tag[j+1:], true
			}
		} else {
			digest, hasDigest = rest[i+1:], true
		}
	}
	return path, tag, digest, hasTag, hasDigest
}

// checkPath checks the repository path: slash-separated components of lower-case
// letters and digits, which a single dot, one or two underscores or any number of
// hyphens may join; at most MaxPathLength bytes.
func checkPath(path string) error {
	for c := range strings.SplitSeq(path, "/") {
		if c == "" {
			return fmt.Errorf("repository path %s has an empty component", quote.String(path))
		}
		if !isPathComponent(c) {
			if strings.ToLower(c) != c {
				return fmt.Errorf("repository path %s must be lower case", quote.String(path))
			}
			return fmt.Errorf("repository path component %s: only lower-case letters and digits, joined by '.', '_', '__' or hyphens", quote.String(c))
		}
	}
	if len(path) > MaxPathLength {
		return fmt.Errorf("repository path is %d bytes long, more than %d", len(path), MaxPathLength)
	}
	return nil
}

func isPathComponent(c string) bool {
	if c == "" || !isLowerAlnum(c[0]) || !isLowerAlnum(c[len(c)-1]) {
		return false
	}
	for i := 0; i < len(c); {
		if isLowerAlnum(c[i]) {
			i++
			continue
		}
		j := i + 1 // past one separator: ".", "_", "__" or a run of "-"
		switch c[i] {
		case '.':
		case '_':
			if c[j] == '_' { // in range: c ends with an alphanumeric
				j++
			}
		case '-':
			for c[j] == '-' {
				j++
			}
		default:
			return false
		}
		if !isLowerAlnum(c[j]) {
			return false
		}
		i = j
	}
	return true
}

// checkTag checks a tag: 1 to MaxTagLength letters, digits, underscores, dots and
// hyphens, not beginning with a dot or a hyphen.
func checkTag(tag string) error {
	if tag == "" {
		return errors.New("empty tag after ':'")
	}
	if len(tag) > MaxTagLength {
		return fmt.Errorf("tag is %d bytes long, more than %d", len(tag), MaxTagLength)
	}
	if tag[0] == '.' || tag[0] == '-' {
		return fmt.Errorf("tag %s must not begin with '.' or '-'", quote.String(tag))
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !isWord(c) && c != '.' && c != '-' {
			return fmt.Errorf("tag %s: only letters, digits, '_', '.' and '-'", quote.String(tag))
		}
	}
	return nil
}

// digestHexLength is the length of the hexadecimal part of a digest of the algorithm,
// 0 for an algorithm not supported.
func digestHexLength(alg string) int {
	switch alg {
	case "sha256":
		return 64
	case "sha384":
		return 96
	case "sha512":
		return 128
	}
	return 0
}

// checkDigest checks a digest: a supported algorithm, a colon and the hash in lower-case
// hexadecimal of the algorithm's length.
func checkDigest(digest string) error {
	alg, hex, found := strings.Cut(digest, ":")
	if !found {
		return fmt.Errorf("digest %s has no ':' between algorithm and hash", quote.String(digest))
	}
	n := digestHexLength(alg)
	if n == 0 {
		return fmt.Errorf("digest algorithm %s is not supported: want sha256, sha384 or sha512", quote.String(alg))
	}
	if len(hex) != n {
		return fmt.Errorf("a %s digest has %d hexadecimal digits, not %d", alg, n, len(hex))
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !isDigit(c) && (c < 'a' || c > 'f') {
			return fmt.Errorf("the %s digest must be lower-case hexadecimal digits", alg)
		}
	}
	return nil
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLowerAlnum(c byte) bool { return isDigit(c) || ('a' <= c && c <= 'z') }
func isWord(c byte) bool       { return isLowerAlnum(c) || ('A' <= c && c <= 'Z') || c == '_' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
