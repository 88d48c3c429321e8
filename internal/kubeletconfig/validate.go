package kubeletconfig

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/internal/quote"
)

// Options are the kubelet settings validation depends on.
type Options struct {
	// NoServiceAccountTokens is set when the kubelet's feature gate
	// KubeletServiceAccountTokenForCredentialProviders is off (it is on by default since
	// Kubernetes 1.34): tokenAttributes are then refused.
	NoServiceAccountTokens bool
}

// Validate applies the kubelet's rules to every provider of the set (the files that
// decoded) and returns what it refuses, each with its file and field path. An empty
// name, which the kubelet's validation lets through but which names no plugin file, is
// refused too: the kubelet fails to start with it.
func Validate(s *Set, opts Options) Errors {
	var errs Errors
	all := s.Providers()
	if len(all) == 0 {
		f := s.Path
		if len(s.Files) == 1 {
			f = s.Files[0].Path
		}
		return Errors{{File: f, Field: "providers", Msg: "at least one provider is required"}}
	}
	first := map[string]Located{}
	for _, p := range all {
		add := func(sub, msg string) {
			errs = append(errs, &Error{File: p.File.Path, Field: p.Field(sub), Msg: msg})
		}
		validateName(p.Name, func(msg string) { add("name", msg) })
		if prev, dup := first[p.Name]; dup {
			where := prev.Field("")
			if prev.File != p.File {
				where += " of " + prev.File.Path
			}
			add("name", fmt.Sprintf("%s is also the name of %s: provider names must be unique", quote.String(p.Name), where))
		} else {
			first[p.Name] = p
		}
		validateProvider(p.Provider, opts, add)
	}
	return errs
}

// ValidateConfig is Validate for one configuration that is not (yet) in a file.
func ValidateConfig(c *Config, opts Options) Errors {
	return Validate(&Set{Files: []*File{{Config: c}}}, opts)
}

func validateName(name string, add func(string)) {
	switch {
	case name == "":
		add("empty: the name is the plugin's file name in the bin dir")
	case name == "." || name == "..":
		add(fmt.Sprintf("%s: the name is the plugin's file name in the bin dir", quote.String(name)))
	}
	if strings.Contains(name, "/") {
		add(fmt.Sprintf("%s: cannot contain '/' (the name is the plugin's file name in the bin dir)", quote.String(name)))
	}
	if strings.Contains(name, " ") {
		add(fmt.Sprintf("%s: cannot contain spaces", quote.String(name)))
	}
}

func validateProvider(p *Provider, opts Options, add func(sub, msg string)) {
	if p.APIVersion == "" {
		add("apiVersion", "missing: want "+strings.Join(RequestVersions(), ", "))
	} else if !slices.Contains(RequestVersions(), p.APIVersion) {
		add("apiVersion", fmt.Sprintf("%s: want %s", quote.String(p.APIVersion), strings.Join(RequestVersions(), ", ")))
	}
	if len(p.MatchImages) == 0 {
		add("matchImages", "at least one image pattern is required")
	}
	for i, m := range p.MatchImages {
		if err := match.CheckPattern(m); err != nil {
			add(fmt.Sprintf("matchImages[%d]", i), fmt.Sprintf("%s is not an image pattern the kubelet can parse (host[:port][/path], '*' for one DNS label): %s", quote.String(m), urlCause(err)))
		}
	}
	switch {
	case p.DefaultCacheDuration == nil:
		add("defaultCacheDuration", `missing: want a duration such as "5m" (used when the plugin's answer gives none)`)
	case p.DefaultCacheDuration.Duration < 0:
		add("defaultCacheDuration", fmt.Sprintf("%s is negative: want 0 or more", p.DefaultCacheDuration.Duration))
	}
	if t := p.TokenAttributes; t != nil {
		validateTokenAttributes(p, t, opts, add)
	}
}

func validateTokenAttributes(p *Provider, t *TokenAttributes, opts Options, add func(sub, msg string)) {
	const ta = "tokenAttributes"
	if opts.NoServiceAccountTokens {
		add(ta, "not supported: the kubelet's feature gate KubeletServiceAccountTokenForCredentialProviders is off")
	}
	if t.ServiceAccountTokenAudience == "" {
		add(ta+".serviceAccountTokenAudience", "missing: want the audience the plugin's token exchange expects")
	}
	if t.RequireServiceAccount == nil {
		add(ta+".requireServiceAccount", "missing: want true or false")
	}
	if p.APIVersion != RequestV1 {
		add(ta, fmt.Sprintf("needs apiVersion %s (this provider has %s)", RequestV1, quote.String(p.APIVersion)))
	}
	if t.RequireServiceAccount != nil && !*t.RequireServiceAccount && len(t.RequiredServiceAccountAnnotationKeys) > 0 {
		add(ta+".requiredServiceAccountAnnotationKeys", "cannot be set with requireServiceAccount false")
	}
	for _, list := range []struct {
		field string
		keys  []string
	}{
		{ta + ".requiredServiceAccountAnnotationKeys", t.RequiredServiceAccountAnnotationKeys},
		{ta + ".optionalServiceAccountAnnotationKeys", t.OptionalServiceAccountAnnotationKeys},
	} {
		seen := map[string]bool{}
		for i, k := range list.keys {
			f := fmt.Sprintf("%s[%d]", list.field, i)
			if msg := checkQualifiedName(strings.ToLower(k)); msg != "" {
				add(f, fmt.Sprintf("%s: %s", quote.String(k), msg))
			}
			if seen[k] {
				add(f, fmt.Sprintf("%s listed twice", quote.String(k)))
			}
			seen[k] = true
		}
	}
	for _, k := range t.RequiredServiceAccountAnnotationKeys {
		if slices.Contains(t.OptionalServiceAccountAnnotationKeys, k) {
			add(ta, fmt.Sprintf("annotation key %s is both required and optional", quote.String(k)))
		}
	}
	switch t.CacheType {
	case "":
		add(ta+".cacheType", "missing: want ServiceAccount or Token")
	case CacheTypeServiceAccount, CacheTypeToken:
	default:
		add(ta+".cacheType", fmt.Sprintf("%s: want ServiceAccount or Token", quote.String(t.CacheType)))
	}
}

// urlCause is net/url's complaint without the text it quotes again.
func urlCause(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// checkQualifiedName is the Kubernetes rule for annotation keys: an optional DNS
// subdomain prefix and '/', then a name of at most 63 characters, alphanumeric at
// both ends, with '-', '_' and '.' inside. It returns what is wrong, or "".
func checkQualifiedName(k string) string {
	const want = "want an annotation key such as example.com/my-key: an optional DNS subdomain and '/', then a name of at most 63 letters, digits, '-', '_' or '.' that starts and ends with a letter or digit"
	parts := strings.Split(k, "/")
	var name string
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		if !isDNSSubdomain(parts[0]) {
			return want
		}
		name = parts[1]
	default:
		return want
	}
	if name == "" || len(name) > 63 || !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return want
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return want
		}
	}
	return ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isDNSSubdomain: lower-case RFC 1123 labels joined by dots, at most 253 characters.
func isDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
