package check

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// pattern is a kubelet matchImages pattern split as the kubelet's matcher splits it.
type pattern struct {
	labels []string
	port   string
	path   string
}

func parsePattern(s string) (pattern, bool) {
	u, err := url.Parse("https://" + s)
	if err != nil {
		return pattern{}, false
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	return pattern{labels: strings.Split(host, "."), port: port, path: u.Path}, true
}

// literal reports whether a host label has no glob.
func literal(label string) bool { return !strings.ContainsAny(label, `*?[\`) }

// matchesAll reports whether a label glob matches every label.
func matchesAll(label string) bool { return label != "" && strings.Trim(label, "*") == "" }

// covers reports whether every image that pattern p sends to a plugin, q sends too: the
// same number of labels and the same port, q's path a prefix of p's, and each label of
// q matching every label p's can be.
func covers(q, p string) bool {
	qp, ok1 := parsePattern(q)
	pp, ok2 := parsePattern(p)
	if !ok1 || !ok2 || len(qp.labels) != len(pp.labels) || qp.port != pp.port || !strings.HasPrefix(pp.path, qp.path) {
		return false
	}
	for i, ql := range qp.labels {
		pl := pp.labels[i]
		switch {
		case matchesAll(ql), ql == pl:
		case literal(pl):
			if ok, err := filepath.Match(ql, pl); err != nil || !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// overlaps reports whether some image could be sent to a plugin by both p and q (an
// estimate when two globs meet in one label: they are taken to overlap).
func overlaps(q, p string) bool {
	qp, ok1 := parsePattern(q)
	pp, ok2 := parsePattern(p)
	if !ok1 || !ok2 || len(qp.labels) != len(pp.labels) || qp.port != pp.port {
		return false
	}
	if !strings.HasPrefix(pp.path, qp.path) && !strings.HasPrefix(qp.path, pp.path) {
		return false
	}
	for i, ql := range qp.labels {
		pl := pp.labels[i]
		var ok bool
		var err error
		switch {
		case literal(ql) && literal(pl):
			ok = ql == pl
		case literal(pl):
			ok, err = filepath.Match(ql, pl)
		case literal(ql):
			ok, err = filepath.Match(pl, ql)
		default:
			ok = true
		}
		if err != nil || !ok {
			return false
		}
	}
	return true
}
