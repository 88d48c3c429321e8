package match

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestNormalizeKey(t *testing.T) {
	tests := []struct {
		key, want string
		wantErr   bool
	}{
		{key: "https://index.docker.io/v1/", want: "index.docker.io"},
		{key: "index.docker.io/v1/", want: "index.docker.io"},
		{key: "http://index.docker.io/v2/", want: "index.docker.io"},
		{key: "reg.example.com", want: "reg.example.com"},
		{key: "reg.example.com/", want: "reg.example.com"},
		{key: "https://reg.example.com/v2/", want: "reg.example.com"},
		{key: "reg.example.com:5000/v2/team/app", want: "reg.example.com:5000/team/app"},
		{key: "reg.example.com/v1/", want: "reg.example.com"},
		{key: "reg.example.com/v1", want: "reg.example.com/v1"},     // no trailing slash: not the /v1/ prefix
		{key: "reg.example.com/v3/x", want: "reg.example.com/v3/x"}, // only v1 and v2 are cut
		{key: "reg.example.com/v2/v2/x", want: "reg.example.com/v2/x"},
		{key: "*.my-registry.example/images", want: "*.my-registry.example/images"},
		{key: "my-registry.example/images/subpath", want: "my-registry.example/images/subpath"},
		{key: "localhost:5000", want: "localhost:5000"},
		{key: "Reg.Example.COM/Team", want: "Reg.Example.COM/Team"}, // case kept, as the kubelet
		{key: "user@reg.example.com/team", want: "reg.example.com/team"},
		{key: "reg.example.com/team?x=1", want: "reg.example.com/team"},
		{key: "ftp://reg.example.com", want: "ftp://reg.example.com"}, // only http(s) schemes: host "ftp:", path "//reg.example.com"
		{key: "reg.example.com:port", wantErr: true},
		{key: "reg.example.com:*", wantErr: true},
		{key: "reg example.com", wantErr: true},
	}
	for _, tt := range tests {
		got, err := NormalizeKey(tt.key)
		if (err != nil) != tt.wantErr {
			t.Errorf("NormalizeKey(%q) error = %v, wantErr %v", tt.key, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizeKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// matchCases are the examples of the Kubernetes "Interpretation of config.json"
// documentation (seed pages), then ports, paths, case and url.Parse quirks.
var matchCases = []struct {
	pattern, image string
	want           bool
}{
	// Documentation: the number of labels must match the number of "*." parts.
	{"*.kubernetes.io", "kubernetes.io", false},
	{"*.kubernetes.io", "abc.kubernetes.io", true},
	{"*.kubernetes.io", "abc.kubernetes.io/app", true},
	{"*.*.kubernetes.io", "abc.kubernetes.io", false},
	{"*.*.kubernetes.io", "abc.def.kubernetes.io", true},
	{"prefix.*.io", "prefix.kubernetes.io", true},
	{"prefix.*.io", "other.kubernetes.io", false},
	{"*-good.kubernetes.io", "prefix-good.kubernetes.io", true},
	{"*-good.kubernetes.io", "prefix-bad.kubernetes.io", false},
	// Documentation: "my-registry.example/images" and "*.my-registry.example/images".
	{"my-registry.example/images", "my-registry.example/images", true},
	{"my-registry.example/images", "my-registry.example/images/my-image", true},
	{"my-registry.example/images", "my-registry.example/images/another-image", true},
	{"*.my-registry.example/images", "sub.my-registry.example/images/my-image", true},
	{"my-registry.example/images", "sub.my-registry.example/images/my-image", false},
	{"*.my-registry.example/images", "my-registry.example/images/my-image", false},
	{"my-registry.example/images", "a.sub.my-registry.example/images/my-image", false},
	{"*.my-registry.example/images", "a.sub.my-registry.example/images/my-image", false},
	{"*.my-registry.example/images", "a.b.sub.my-registry.example/images/my-image", false},
	// Documentation: both path entries apply to images/subpath/my-image.
	{"my-registry.example/images", "my-registry.example/images/subpath/my-image", true},
	{"my-registry.example/images/subpath", "my-registry.example/images/subpath/my-image", true},
	{"my-registry.example/images/subpath", "my-registry.example/images/my-image", false},
	// Paths are raw string prefixes, not per segment.
	{"reg.example/team", "reg.example/teamx/app", true},
	{"reg.example/team/", "reg.example/team", false},
	{"reg.example/team", "reg.example", false},
	{"reg.example", "reg.example/anything/below", true},
	// Ports must be equal; no port is its own value.
	{"localhost:5000", "localhost:5000/app", true},
	{"localhost:5000", "localhost:5001/app", false},
	{"localhost", "localhost:5000/app", false},
	{"localhost:5000", "localhost/app", false},
	{"*.example:443", "reg.example:443/app", true},
	{"reg.example:*", "reg.example:5000/app", false}, // no wildcard ports
	{"reg.example:", "reg.example/app", true},        // an empty port is no port
	// Globs are case-sensitive filepath.Match per label.
	{"Reg.Example", "reg.example/app", false},
	{"reg.example", "Reg.example/app", false},
	{"reg.example/Team", "reg.example/team/app", false},
	{"r[a-f]g.example", "reg.example/app", false}, // url.Parse rejects "[" in a host
	{"r?g.example", "reg.example/app", false},     // "?" ends the host (below)
	{"*", "localhost/app", true},
	{"*", "reg.example/app", false},
	{"*.*", "reg.example/app", true},
	{"*.example", "a/b.example/app", false},
	{"[.example", "reg.example/app", false}, // bad glob: no match
	// url.Parse quirks the kubelet inherits.
	{"re?.example", "reg.example/app", false}, // "?" starts a query: host is "re"
	{"re?.example", "re/app", true},
	{"user@reg.example", "reg.example/app", true},
	{"reg.example", "user@reg.example/app", true},
	{"https://reg.example", "reg.example/app", false}, // Match takes normalized keys
	{"reg example", "reg example/app", false},
	{"[::1]:5000", "[::1]:5000/app", true},
	{"[::1]", "[::1]:5000/app", false},
	// Docker Hub: index.docker.io only through the fallback, never by Match.
	{"index.docker.io", "docker.io/library/nginx", false},
	{"docker.io", "docker.io/library/nginx", true},
	{"*.io", "docker.io/library/nginx", true},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchCases {
		if got := Match(tt.pattern, tt.image); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.image, got, tt.want)
		}
	}
}

func TestMatchHost(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"*.my-registry.example/images", "sub.my-registry.example", true},
		{"my-registry.example/images/subpath", "my-registry.example", true},
		{"my-registry.example/images", "a.sub.my-registry.example", false},
		{"localhost:5000", "localhost:5000", true},
		{"localhost:5000/x", "localhost", false},
		{"localhost", "localhost:5000", false},
		{"*.kubernetes.io", "kubernetes.io", false},
		{"index.docker.io", "docker.io", false},
		{"reg.example", "reg.example/app", false}, // host must be a host
		{"Reg.example", "reg.example", false},
	}
	for _, tt := range tests {
		if got := MatchHost(tt.pattern, tt.host); got != tt.want {
			t.Errorf("MatchHost(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func TestServesHost(t *testing.T) {
	tests := []struct {
		key, host string
		want      bool
	}{
		{"index.docker.io", "docker.io", true},
		{"index.docker.io", "index.docker.io", true},
		{"index.docker.io", "quay.io", false},
		{"index.docker.io", "localhost:5000", false},
		{"index.docker.io", "myhost", false}, // the kubelet would; Hub credentials stay with Docker Hub
		{"docker.io", "docker.io", true},
		{"*.my-registry.example/images", "sub.my-registry.example", true},
		{"quay.io", "docker.io", false},
	}
	for _, tt := range tests {
		if got := ServesHost(tt.key, tt.host); got != tt.want {
			t.Errorf("ServesHost(%q, %q) = %v, want %v", tt.key, tt.host, got, tt.want)
		}
	}
}

func TestIsDefaultRegistryMatch(t *testing.T) {
	tests := []struct {
		image string
		want  bool
	}{
		{"nginx", true},
		{"library/nginx", true},
		{"docker.io/library/nginx", true},
		{"index.docker.io/library/nginx", true},
		{"quay.io/x/y", false},
		{"localhost:5000/x", false},
		{"/x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsDefaultRegistryMatch(tt.image); got != tt.want {
			t.Errorf("IsDefaultRegistryMatch(%q) = %v, want %v", tt.image, got, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	keys := []string{"my-registry.example/images", "my-registry.example/images/subpath", "*.my-registry.example/images", "index.docker.io", "my-registry.example/images", "quay.io"}
	tests := []struct {
		image string
		want  []string
	}{
		{"my-registry.example/images/subpath/my-image", []string{"my-registry.example/images/subpath", "my-registry.example/images"}},
		{"sub.my-registry.example/images/x", []string{"*.my-registry.example/images"}},
		{"docker.io/library/nginx", []string{"index.docker.io"}},
		{"quay.io/a/b", []string{"quay.io"}},
		{"other.example/a", nil},
	}
	for _, tt := range tests {
		got := Lookup(keys, tt.image)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Lookup(%q) = %q, want %q", tt.image, got, tt.want)
		}
	}
	// The fallback is only for Docker Hub images when nothing else matches.
	if got := Lookup([]string{"index.docker.io", "*.io"}, "docker.io/library/nginx"); len(got) != 1 || got[0] != "*.io" {
		t.Errorf("Lookup with *.io = %q, want [*.io]", got)
	}
}

// refMatch is a reference model of the kubelet's matching written without net/url,
// net.SplitHostPort or filepath.Match. It is only valid for inputs made of refAlphabet
// with at most one ":" before the first "/", "?" or "#" (see inRefDomain): there its
// rules are simple enough to check by eye.
func refMatch(pattern, image string) bool {
	p, ok := refParse(pattern)
	if !ok {
		return false
	}
	t, ok := refParse(image)
	if !ok {
		return false
	}
	if p.port != t.port || len(p.labels) != len(t.labels) || len(t.path) < len(p.path) || t.path[:len(p.path)] != p.path {
		return false
	}
	for i := range p.labels {
		if !refGlob(p.labels[i], t.labels[i]) {
			return false
		}
	}
	return true
}

const refAlphabet = "aAb1.-*?/:@#5"

// inRefDomain reports whether s is an input refMatch models.
func inRefDomain(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(refAlphabet, r) {
			return false
		}
	}
	authority, _ := refSplitURL(s)
	return strings.Count(authority, ":") <= 1
}

// refSplitURL drops everything from the first "#" or "?" on and splits what is left
// at the first "/" into authority and path (the path keeps its "/").
func refSplitURL(s string) (authority, path string) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

type refLoc struct {
	labels     []string
	port, path string
}

func refParse(s string) (refLoc, bool) {
	authority, path := refSplitURL(s)
	host := authority
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:] // user info
	}
	port := ""
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host, port = host[:i], host[i+1:]
		for _, c := range port {
			if c < '0' || c > '9' {
				return refLoc{}, false // url.Parse rejects a non-numeric port
			}
		}
	}
	return refLoc{labels: strings.Split(host, "."), port: port, path: path}, true
}

// refGlob matches one label with "*" (any run) and "?" (one character), through a
// regular expression. "?" never reaches it (it ends the URL), but keep it honest.
func refGlob(glob, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range glob {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

// randomHost and randomPath build strings from refAlphabet biased towards the shapes
// that matter: globs, user info, ports, paths, query and fragment marks.
func randomHost(r *rand.Rand) string {
	parts := []string{"a", "b", "A", "*", "a*", "*b", "1", "ab", "-"}
	var b strings.Builder
	if r.IntN(10) == 0 {
		b.WriteString("a@")
	}
	n := 1 + r.IntN(3)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(parts[r.IntN(len(parts))])
	}
	switch r.IntN(6) {
	case 0:
		b.WriteString(":5")
	case 1:
		b.WriteString(":15")
	case 2:
		b.WriteString(":")
	}
	if r.IntN(30) == 0 {
		b.WriteByte(refAlphabet[r.IntN(len(refAlphabet))])
	}
	return b.String()
}

func randomPath(r *rand.Rand) string {
	paths := []string{"", "", "/", "/a", "/ab", "/a/b", "/A", "/a?b", "/a#1", "/-", "/*"}
	return paths[r.IntN(len(paths))]
}

// TestMatchAgainstReference compares Match with the reference model on generated pairs
// (a fixed seed, so a failure reproduces).
func TestMatchAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	matched := 0
	for i := 0; i < 20000; i++ {
		ph, pp := randomHost(r), randomPath(r)
		p, img := ph+pp, randomHost(r)+randomPath(r)
		if r.IntN(2) == 0 { // same host, often a longer path: make matches common
			img = strings.ReplaceAll(ph, "*", "ab") + pp + randomPath(r)
		}
		if !inRefDomain(p) || !inRefDomain(img) {
			continue
		}
		got, want := Match(p, img), refMatch(p, img)
		if got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", p, img, got, want)
		}
		if got {
			matched++
		}
	}
	if matched < 2000 {
		t.Fatalf("only %d generated pairs matched; the generator no longer exercises matches", matched)
	}
}

func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.pattern, c.image)
	}
	f.Fuzz(func(t *testing.T, pattern, image string) {
		got := Match(pattern, image)
		if inRefDomain(pattern) && inRefDomain(image) {
			if want := refMatch(pattern, image); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, image, got, want)
			}
		}
		// A host-only image is matched by MatchHost exactly when Match matches it
		// with the pattern's path dropped.
		if got && !strings.ContainsAny(image, "/?#") {
			if !MatchHost(pattern, image) {
				t.Fatalf("Match(%q, %q) but not MatchHost", pattern, image)
			}
		}
	})
}

// refNormalize is a reference model of NormalizeKey for keys in the reference domain.
func refNormalize(key string) (string, bool) {
	for _, scheme := range []string{"https://", "http://"} {
		if strings.HasPrefix(key, scheme) {
			key = key[len(scheme):]
			break
		}
	}
	authority, path := refSplitURL(key)
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	if i := strings.IndexByte(authority, ':'); i >= 0 && strings.Trim(authority[i+1:], "0123456789") != "" {
		return "", false
	}
	if strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v2/") {
		path = path[3:]
	}
	if path == "/" {
		path = ""
	}
	return authority + path, true
}

func FuzzNormalizeKey(f *testing.F) {
	for _, k := range []string{"https://index.docker.io/v1/", "reg.example:5000/v2/team", "*.a.example/images", "a:b@c/d?e#f", "http://a/v1/v1/x"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got, err := NormalizeKey(key)
		rest := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
		if !inRefDomain(rest) || strings.Contains(rest, "//") {
			return
		}
		want, ok := refNormalize(key)
		if ok != (err == nil) || got != want {
			t.Fatalf("NormalizeKey(%q) = %q, %v; reference says %q, ok=%v", key, got, err, want, ok)
		}
	})
}

func TestCheckPattern(t *testing.T) {
	tests := []struct {
		pattern string
		ok      bool
	}{
		{"*.dkr.ecr.*.amazonaws.com", true},
		{"registry.example:5000", true},
		{"registry.example/team", true},
		{"", true}, // the kubelet parses "https://" without complaint
		{"registry.example:port", false},
		{"registry.example:*", false},
		{"reg example.com", false},
		{"[a-z].example", false},
		{"%zz.example", false},
	}
	for _, tt := range tests {
		if err := CheckPattern(tt.pattern); (err == nil) != tt.ok {
			t.Errorf("CheckPattern(%q) = %v, want ok %v", tt.pattern, err, tt.ok)
		}
	}
}
