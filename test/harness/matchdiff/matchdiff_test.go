// Package matchdiff checks our matcher (internal/match) against the kubelet's own
// (k8s.io/kubernetes pkg/credentialprovider URLsMatchStr) on generated pattern/image
// pairs: host labels, globs (*, ?, classes, escapes), ports, paths, case, and the
// url.Parse quirks both inherit. Any disagreement is a bug in ours.
package matchdiff

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/credentialprovider"

	"github.com/imagecred/image-credential-provider/internal/match"
)

func TestMain(m *testing.M) {
	klog.SetLogger(logr.Discard()) // the keyring logs every key it rejects
	os.Exit(m.Run())
}

// kubelet is the reference: the kubelet treats a matcher error as no match
// (keyring Lookup and isImageAllowed both ignore the error).
func kubelet(pattern, image string) bool {
	ok, err := credentialprovider.URLsMatchStr(pattern, image)
	return ok && err == nil
}

var (
	labels = []string{"a", "b", "ab", "reg", "registry", "example", "com", "io", "my-registry", "sub", "kubernetes", "x1", "gcr", "pkg", "dev", "azurecr", "dkr", "ecr", "us-east-1", "amazonaws", "docker", "localhost", "127", "0", "1"}
	globs  = []string{"*", "?", "??", "a*", "*b", "*-good", "prefix-*", "r?g", "*.*", "", "ex*le", "*r*", "*e*", "**", "?*?", "*-*"}
	// badGlobs make url.Parse or filepath.Match fail (a "[" anywhere in a host is an
	// invalid IP literal to url.Parse, so character classes never match a host).
	badGlobs = []string{"[a-z]*", "[!a]*", "[abc]", "r[e]g", "[", "*[", "[a-", "\\", "a\\", "\\a"}
	ports    = []string{"", "", "", ":5000", ":5001", ":443", ":80", ":0"}
	badPorts = []string{":", ":*", ":50x0", ":99999", ":-1"}
	segments = []string{"team", "teamx", "app", "images", "subpath", "my-image", "library", "nginx", "a", "App", "v1", "v2", "", "_", "-x"}
	oddities = []string{"@", "#", "?", "%41", "%zz", " ", "[::1]", "[::1]:5000", "https://", "http://", "//", "\\", ":", "..", "é"}
)

type gen struct{ r *rand.Rand }

func (g gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g gen) recase(s string) string {
	switch g.r.IntN(6) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return s
}

func (g gen) host() []string {
	n := 1 + g.r.IntN(4)
	hs := make([]string, n)
	for i := range hs {
		hs[i] = g.recase(g.pick(labels))
	}
	return hs
}

func (g gen) path() string {
	n := g.r.IntN(4)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("/" + g.recase(g.pick(segments)))
	}
	return b.String()
}

func (g gen) image() (host []string, port, path string) {
	return g.host(), g.pick(ports), g.path()
}

// pattern derives a pattern from an image most of the time (so that matches and near
// misses are frequent), or makes an unrelated one.
func (g gen) pattern(host []string, port, path string) string {
	if g.r.IntN(5) == 0 {
		h, p, pa := g.image()
		host, port, path = h, p, pa
	}
	hs := append([]string(nil), host...)
	for i := range hs {
		switch g.r.IntN(7) {
		case 0:
			hs[i] = g.pick(globs)
			if g.r.IntN(15) == 0 {
				hs[i] = g.pick(badGlobs)
			}
		case 1:
			hs[i] = g.recase(hs[i])
		case 2:
			if len(hs[i]) > 1 {
				j := g.r.IntN(len(hs[i]))
				hs[i] = hs[i][:j] + g.pick([]string{"*", "?", "*", "?", "[a-z]"}) + hs[i][j+1:]
			}
		}
	}
	switch g.r.IntN(8) {
	case 0:
		hs = append([]string{g.pick(globs)}, hs...)
	case 1:
		if len(hs) > 1 {
			hs = hs[1:]
		}
	}
	switch g.r.IntN(16) {
	case 0, 1:
		port = g.pick(ports)
	case 2:
		port = g.pick(badPorts)
	}
	switch g.r.IntN(8) {
	case 0, 1, 2: // raw prefix of the path, possibly cut mid-segment
		if path != "" {
			path = path[:g.r.IntN(len(path)+1)]
		}
	case 3:
		path = g.path()
	}
	s := strings.Join(hs, ".") + port + path
	if g.r.IntN(15) == 0 { // url.Parse quirks
		at := g.r.IntN(len(s) + 1)
		s = s[:at] + g.pick(oddities) + s[at:]
	}
	return s
}

func (g gen) pair() (pattern, image string) {
	host, port, path := g.image()
	pattern = g.pattern(host, port, path)
	image = strings.Join(host, ".") + port + path
	if g.r.IntN(30) == 0 {
		at := g.r.IntN(len(image) + 1)
		image = image[:at] + g.pick(oddities) + image[at:]
	}
	return pattern, image
}

// documented are the examples of the kubelet documentation (the seed pages) and of the
// kubelet contract notes, checked first and by name.
var documented = []struct {
	pattern, image string
	want           bool
}{
	{"*.kubernetes.io", "kubernetes.io", false},
	{"*.kubernetes.io", "abc.kubernetes.io", true},
	{"*.*.kubernetes.io", "abc.kubernetes.io", false},
	{"*.*.kubernetes.io", "abc.def.kubernetes.io", true},
	{"prefix.*.io", "prefix.kubernetes.io", true},
	{"*-good.kubernetes.io", "prefix-good.kubernetes.io", true},
	{"my-registry.example/images", "my-registry.example/images", true},
	{"my-registry.example/images", "my-registry.example/images/my-image", true},
	{"my-registry.example/images", "my-registry.example/images/another-image", true},
	{"*.my-registry.example/images", "sub.my-registry.example/images/my-image", true},
	{"*.my-registry.example/images", "a.sub.my-registry.example/images/my-image", false},
	{"*.my-registry.example/images", "a.b.sub.my-registry.example/images/my-image", false},
	{"my-registry.example/images/subpath", "my-registry.example/images/subpath/my-image", true},
	{"reg.example", "reg.example:5000/app", false},
	{"reg.example:5000", "reg.example:5000/app", true},
	{"reg.example/team", "reg.example/teamx/app", true},
	{"*.example.com", "a.b.example.com", false},
	{"*.example.com", "docker.io/nginx", false},
	{"Reg.example", "reg.example/app", false},
}

func TestMatchAgreesWithKubeletOnDocumentedCases(t *testing.T) {
	for _, c := range documented {
		if got := kubelet(c.pattern, c.image); got != c.want {
			t.Fatalf("reference check: kubelet URLsMatchStr(%q, %q) = %v, want %v", c.pattern, c.image, got, c.want)
		}
		if got := match.Match(c.pattern, c.image); got != c.want {
			t.Errorf("match.Match(%q, %q) = %v, kubelet says %v", c.pattern, c.image, got, c.want)
		}
	}
}

const generatedPairs = 50000

func TestMatchAgreesWithKubeletOnGeneratedPairs(t *testing.T) {
	g := gen{r: rand.New(rand.NewPCG(20260716, 7))}
	var matches, kubeletErrors, disagreements int
	for i := 0; i < generatedPairs; i++ {
		p, img := g.pair()
		want := kubelet(p, img)
		if _, err := credentialprovider.URLsMatchStr(p, img); err != nil {
			kubeletErrors++
		}
		if want {
			matches++
		}
		if got := match.Match(p, img); got != want {
			disagreements++
			if disagreements <= 20 {
				t.Errorf("match.Match(%q, %q) = %v, kubelet URLsMatchStr says %v", p, img, got, want)
			}
		}
	}
	summary := fmt.Sprintf("matchdiff: %d generated pairs, %d match, %d no match (%d kubelet errors), %d disagreements",
		generatedPairs, matches, generatedPairs-matches, kubeletErrors, disagreements)
	t.Log(summary)
	fmt.Println(summary)
	// A generator that never (or always) matches would prove nothing.
	if matches < generatedPairs/10 || matches > generatedPairs*9/10 {
		t.Errorf("generator is unbalanced: %d of %d pairs match", matches, generatedPairs)
	}
	if kubeletErrors == 0 {
		t.Errorf("generator produced no pattern the kubelet rejects; error paths are untested")
	}
}

func FuzzMatchAgreesWithKubelet(f *testing.F) {
	for _, c := range documented {
		f.Add(c.pattern, c.image)
	}
	g := gen{r: rand.New(rand.NewPCG(1, 2))}
	for i := 0; i < 200; i++ {
		p, img := g.pair()
		f.Add(p, img)
	}
	f.Fuzz(func(t *testing.T, pattern, image string) {
		if got, want := match.Match(pattern, image), kubelet(pattern, image); got != want {
			t.Fatalf("match.Match(%q, %q) = %v, kubelet URLsMatchStr says %v", pattern, image, got, want)
		}
	})
}

// rawKey makes a docker config key as people write them: with or without a scheme,
// a /v1/ or /v2/ suffix, Docker Hub's legacy URL.
func (g gen) rawKey(host []string, port, path string) string {
	k := g.pattern(host, port, path)
	switch g.r.IntN(10) {
	case 0:
		k = "https://" + k
	case 1:
		k = "http://" + k
	case 2:
		k += "/v2/"
	case 3:
		k = "https://" + k + "/v1/"
	case 4:
		k = g.pick([]string{"https://index.docker.io/v1/", "index.docker.io", "docker.io", "https://index.docker.io/v1/library"})
	}
	return k
}

// TestLookupAgreesWithKubeletKeyring compares match.NormalizeKey + match.Lookup with
// the kubelet's BasicDockerKeyring (Add, then Lookup): which credentials, in which
// order, including the Docker Hub fallback.
func TestLookupAgreesWithKubeletKeyring(t *testing.T) {
	g := gen{r: rand.New(rand.NewPCG(4412, 1))}
	const sets = 10000
	var nonEmpty, disagreements int
	for i := 0; i < sets; i++ {
		host, port, path := g.image()
		image := strings.Join(host, ".") + port + path
		switch g.r.IntN(6) {
		case 0:
			image = "docker.io/library/" + g.pick(segments[:8])
		case 1:
			image = strings.Join(host, ".") + path // single label hosts count as Docker Hub
		}
		n := 1 + g.r.IntN(6)
		keyring := &credentialprovider.BasicDockerKeyring{}
		var normalized []string
		byKey := map[string][]string{}
		for j := 0; j < n; j++ {
			h, p, pa := host, port, path
			if g.r.IntN(3) == 0 {
				h, p, pa = g.image()
			}
			raw := g.rawKey(h, p, pa)
			// One Add per key, as one provider each: a DockerConfig is a map, so keys
			// added together would come back in random order.
			keyring.Add(nil, credentialprovider.DockerConfig{raw: {Username: raw}})
			k, err := match.NormalizeKey(raw)
			if err != nil {
				continue // the kubelet logs and skips keys url.Parse rejects
			}
			normalized = append(normalized, k)
			byKey[k] = append(byKey[k], raw)
		}
		var want []string
		got, _ := keyring.Lookup(image)
		for _, c := range got {
			want = append(want, c.Username)
		}
		var ours []string
		for _, k := range match.Lookup(normalized, image) {
			ours = append(ours, byKey[k]...)
		}
		if len(want) > 0 {
			nonEmpty++
		}
		if strings.Join(ours, "\n") != strings.Join(want, "\n") {
			disagreements++
			if disagreements <= 10 {
				t.Errorf("image %q keys %q: ours %q, kubelet %q", image, normalized, ours, want)
			}
		}
	}
	summary := fmt.Sprintf("matchdiff: %d generated keyrings, %d with credentials for the image, %d disagreements", sets, nonEmpty, disagreements)
	t.Log(summary)
	fmt.Println(summary)
	if nonEmpty < sets/10 || nonEmpty > sets*9/10 {
		t.Errorf("generator is unbalanced: %d of %d lookups return credentials", nonEmpty, sets)
	}
}
