package exchange

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Challenge is what a registry's Bearer challenge says about where to authenticate.
type Challenge struct {
	// Realm is the token endpoint URL the registry named (https://<registry>/oauth2/token
	// for ACR); the exchange endpoint is /oauth2/exchange on the same host.
	Realm *url.URL
	// Service is the value to send as service= (the registry's login server).
	Service string
}

// ParseChallenge reads the Bearer challenge out of WWW-Authenticate header values
// (RFC 7235: several challenges per value, several values, quoted or token params).
// The realm must be an absolute https URL and the service must be present.
func ParseChallenge(values ...string) (Challenge, error) {
	for _, v := range values {
		for _, c := range parseChallenges(v) {
			if !strings.EqualFold(c.scheme, "Bearer") {
				continue
			}
			realm, service := c.params["realm"], c.params["service"]
			switch {
			case realm == "":
				return Challenge{}, errors.New("the Bearer challenge has no realm")
			case service == "":
				return Challenge{}, errors.New("the Bearer challenge has no service")
			}
			u, err := url.Parse(realm)
			if err != nil || u.Host == "" {
				return Challenge{}, fmt.Errorf("the Bearer challenge realm %q is not an absolute URL", realm)
			}
			if u.Scheme != "https" {
				return Challenge{}, fmt.Errorf("the Bearer challenge realm %q is not https", realm)
			}
			return Challenge{Realm: u, Service: service}, nil
		}
	}
	return Challenge{}, errors.New("no Bearer challenge in WWW-Authenticate")
}

type challenge struct {
	scheme string
	params map[string]string // keys lower-cased
}

// parseChallenges is a lenient RFC 7235 challenge-list parser: it never fails; it
// returns the challenges it could read up to the first thing it could not. Every turn
// of the outer loop consumes a non-empty scheme or returns, so it always ends.
func parseChallenges(s string) []challenge {
	p := parser{s: s}
	var out []challenge
	for {
		p.skip(" \t,")
		scheme := p.token()
		if scheme == "" {
			return out // end of input, or something that is not a scheme
		}
		c := challenge{scheme: scheme, params: map[string]string{}}
		for {
			save := p.i
			p.skip(" \t,")
			key := p.token()
			p.skip(" \t")
			if key == "" || !p.eat('=') {
				// Not an auth-param: the next challenge (or a token68) starts at save.
				p.i = save
				break
			}
			p.skip(" \t")
			var val string
			if p.peek() == '"' {
				val = p.quoted()
			} else {
				val = p.token()
			}
			c.params[strings.ToLower(key)] = val
		}
		out = append(out, c)
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) done() bool { return p.i >= len(p.s) }

func (p *parser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *parser) eat(b byte) bool {
	if p.peek() == b && !p.done() {
		p.i++
		return true
	}
	return false
}

func (p *parser) skip(set string) {
	for !p.done() && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// token reads an RFC 7230 token.
func (p *parser) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string starting at '"', undoing backslash escapes. An
// unterminated string runs to the end.
func (p *parser) quoted() string {
	p.i++ // opening quote
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if !p.done() {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~/:", c) >= 0
}
