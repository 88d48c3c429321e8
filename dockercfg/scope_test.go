package dockercfg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/providers"
)

// secrets that must never appear in an error, a problem or a warning: the raw and
// decoded forms of every password the test files hold, broken or not.
func leaked(s string) []string {
	var out []string
	for _, v := range []string{secret, "s3cr3t", b64(secret), b64raw(secret), b64("bad-user:" + secret), "good-pass", "other-pass", "helper-secret"} {
		if strings.Contains(s, v) {
			out = append(out, v)
		}
	}
	return out
}

// entries that cannot be decoded, each hiding the secret in its own way.
var brokenEntries = map[string]string{
	"bad base64":   `{"auth":"` + secret + `!!"}`,
	"no colon":     `{"auth":"` + b64("bad-user"+secret) + `"}`,
	"not object":   `"` + b64("bad-user:"+secret) + `"`,
	"number field": `{"username":"bad-user","password":12345}`,
	"email type":   `{"auth":"` + b64("bad-user:"+secret) + `","email":7}`,
}

// TestBrokenPartsAreScoped: every kind of broken part of a docker config file affects
// only the images it would have served. Each case runs the static backend alone
// through the dispatcher, as the plugin does, and checks the answer, its
// cacheDuration (0 exactly when a problem was hit), its cacheKeyType, the problems
// reported (in the answer and as warnings) or the error, and that no secret appears in
// any of them.
func TestBrokenPartsAreScoped(t *testing.T) {
	setupHelpers(t)
	// What the operating system says of a missing file and of a directory read as a
	// file ("no such file or directory" and "is a directory" on Linux).
	probe := t.TempDir()
	missing, isDir := osWords(t, filepath.Join(probe, "missing")), osWords(t, probe)
	const good = `{"username":"good-user","password":"good-pass"}`
	const other = `{"username":"other-user","password":"other-pass"}`
	entries := func(kv ...string) string {
		var parts []string
		for i := 0; i+1 < len(kv); i += 2 {
			parts = append(parts, fmt.Sprintf("%q:%s", kv[i], kv[i+1]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	auths := func(kv ...string) string { return `{"auths":` + entries(kv...) + `}` }
	withTop := func(top string, kv ...string) string { return `{"auths":` + entries(kv...) + `,` + top + `}` }
	tests := []struct {
		name  string
		files []string // contents, in order; "<missing>" and "<dir>" for such paths
		image string
		// serves is whether the backend serves the image; when false the answer is
		// the dispatcher's empty one.
		serves bool
		users  map[string]string // normalized key → username of the answer
		kt     providers.CacheKeyType
		// problems are substrings, one per problem expected (in order); none means
		// cacheDuration DefaultCacheDuration, some means 0.
		problems []string
		err      []string // substrings of the error; nil for none
	}{
		// A file that cannot be read or parsed contributes nothing, never blocks.
		{
			name:  "unparseable file next to a good one",
			files: []string{`{"auths":{"reg.example":` + good, auths("reg.example", good)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0" skipped: malformed JSON (empty or truncated)`},
		},
		{
			name:  "unparseable file and a public image",
			files: []string{`{"auths":["` + secret + `"]}`},
			image: "quay.io/a/b", serves: true,
			users: map[string]string{}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0" skipped: field "auths" holds a JSON array, want an object`},
		},
		{
			name:  "configured file missing",
			files: []string{"<missing>", auths("reg.example", good)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0" skipped: ` + missing},
		},
		{
			name:  "configured file is a directory",
			files: []string{"<dir>"},
			image: "quay.io/a/b", serves: true,
			users: map[string]string{}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0" skipped: ` + isDir},
		},
		// An auths entry that cannot be decoded affects only the images it matches.
		{
			name:  "broken entry for the image, a good one too",
			files: []string{auths("reg.example", good, "reg.example/team", brokenEntries["bad base64"])},
			image: "reg.example/team/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0", entry "reg.example/team": "auth" is not valid base64 (bad input at byte 6 of 14); answering with the other credentials`},
		},
		{
			name:  "broken entry is the image's only credential",
			files: []string{auths("reg.example", brokenEntries["no colon"], "other.example", good)},
			image: "reg.example/app", serves: true,
			err: []string{`static: registry "reg.example": no usable credential for this image: docker config file "`, `file0", entry "reg.example": "auth" does not decode to username:password`},
		},
		{
			name:  "broken entry for another path of the registry",
			files: []string{auths("reg.example", good, "reg.example/team", brokenEntries["not object"])},
			image: "reg.example/other/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.ImagePluginCacheKeyType,
		},
		{
			name:  "broken entry's path only matches, good entry elsewhere on the registry",
			files: []string{auths("reg.example/other", good, "reg.example/team", brokenEntries["number field"])},
			image: "reg.example/team/app", serves: true,
			err: []string{`entry "reg.example/team": field "password" holds a JSON number, want a string`},
		},
		{
			name:  "broken entry for another registry",
			files: []string{auths("reg.example", good, "other.example", brokenEntries["bad base64"])},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
		},
		{
			name:  "broken entry for another registry, public image",
			files: []string{auths("other.example", brokenEntries["email type"])},
			image: "quay.io/a/b",
		},
		{
			name:  "broken wildcard entry, a good exact one",
			files: []string{auths("*.reg.example", brokenEntries["email type"], "a.reg.example", good)},
			image: "a.reg.example/app", serves: true,
			users: map[string]string{"a.reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`entry "*.reg.example": field "email" holds a JSON number, want a string`},
		},
		{
			name:  "broken entry with a port, image without",
			files: []string{auths("reg.example:5000", brokenEntries["bad base64"], "reg.example", good)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
		},
		{
			name:  "broken entry with a port, image with it",
			files: []string{auths("reg.example:5000", brokenEntries["bad base64"], "reg.example", good)},
			image: "reg.example:5000/app", serves: true,
			err: []string{`registry "reg.example:5000"`, `entry "reg.example:5000"`},
		},
		{
			name:  "broken Docker Hub fallback, only credential",
			files: []string{auths("https://index.docker.io/v1/", brokenEntries["bad base64"])},
			image: "docker.io/library/nginx", serves: true,
			err: []string{`registry "docker.io"`, `entry "https://index.docker.io/v1/"`},
		},
		{
			name:  "broken Docker Hub fallback, not tried when another key matches",
			files: []string{auths("https://index.docker.io/v1/", brokenEntries["bad base64"], "docker.io/library", good)},
			image: "docker.io/library/nginx", serves: true,
			users: map[string]string{"docker.io/library": "good-user"}, kt: providers.ImagePluginCacheKeyType,
		},
		{
			name:  "broken entry whose key holds a password",
			files: []string{auths("https://user:"+secret+"@reg.example", brokenEntries["bad base64"])},
			image: "reg.example/app", serves: true,
			err: []string{`entry "https://***@reg.example": "auth" is not valid base64`},
		},
		{
			name:  "broken entry in one file, good entry for the image in another",
			files: []string{auths("reg.example", brokenEntries["bad base64"]), auths("reg.example", other)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "other-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0", entry "reg.example"`},
		},
		// credsStore: missing or "not found" is no credentials, never an error.
		{
			name:  "credsStore helper missing, entry for the image",
			files: []string{withTop(`"credsStore":"desktop"`, "reg.example", good, "quay.io", `{}`)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0", credsStore: credential helper "docker-credential-desktop" not found in PATH; no credentials from it`},
		},
		{
			name:  "credsStore helper missing, public image",
			files: []string{withTop(`"credsStore":"desktop"`, "quay.io", `{}`)},
			image: "quay.io/a/b", serves: true,
			users: map[string]string{}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`credsStore: credential helper "docker-credential-desktop" not found in PATH`},
		},
		{
			name:  "credsStore says credentials not found",
			files: []string{withTop(`"credsStore":"notfound"`, "reg.example", good)},
			image: "quay.io/a/b", serves: true,
			users: map[string]string{}, kt: providers.RegistryPluginCacheKeyType,
		},
		{
			name:  "credsStore helper fails",
			files: []string{withTop(`"credsStore":"fail"`, "reg.example", good)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`credsStore: credential helper "docker-credential-fail" for "reg.example" failed with exit status 3`},
		},
		{
			name:  "credsStore is not a helper name",
			files: []string{withTop(`"credsStore":["`+secret+`"]`, "reg.example", good)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0": credsStore: holds a JSON array, want a helper name; ignored`},
		},
		// A credHelpers helper that fails affects only its registry.
		{
			name:  "credHelpers helper fails for the image's registry, only credential",
			files: []string{withTop(`"credHelpers":{"reg.example":"fail"}`, "reg.example", `{}`, "other.example", good)},
			image: "reg.example/app", serves: true,
			err: []string{`static: registry "reg.example": no usable credential for this image: docker config file "`, `credHelpers entry "reg.example": credential helper "docker-credential-fail" for "reg.example" failed with exit status 3`},
		},
		{
			name:  "credHelpers helper missing for the image's registry",
			files: []string{withTop(`"credHelpers":{"reg.example":"gone"}`, "reg.example", `{}`)},
			image: "reg.example/app", serves: true,
			err: []string{`credHelpers entry "reg.example": credential helper "docker-credential-gone" not found in PATH`},
		},
		{
			name:  "credHelpers helper fails, a file credential too",
			files: []string{withTop(`"credHelpers":{"reg.example":"garbage"}`, "reg.example", good)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`credHelpers entry "reg.example": credential helper "docker-credential-garbage" for "reg.example": output is not the helper protocol's JSON`},
		},
		{
			name:  "credHelpers helper fails for another registry",
			files: []string{withTop(`"credHelpers":{"reg.example":"fail"}`, "other.example", good)},
			image: "other.example/app", serves: true,
			users: map[string]string{"other.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
		},
		{
			name:  "credHelpers helper fails for another registry, public image",
			files: []string{withTop(`"credHelpers":{"reg.example":"fail"}`, "reg.example", `{}`)},
			image: "quay.io/a/b",
		},
		{
			name:  "credHelpers helper says credentials not found",
			files: []string{withTop(`"credHelpers":{"reg.example":"notfound"}`, "reg.example", `{}`)},
			image: "reg.example/app", serves: true,
			users: map[string]string{}, kt: providers.RegistryPluginCacheKeyType,
		},
		{
			name:  "credHelpers value is not a helper name",
			files: []string{withTop(`"credHelpers":{"reg.example":"../bin/sh","other.example":"ok"}`, "reg.example", `{}`)},
			image: "reg.example/app", serves: true,
			err: []string{`credHelpers entry "reg.example": credential helper name "../bin/sh" is not a plain name`},
		},
		{
			name:  "credHelpers value is not a helper name, other registry",
			files: []string{withTop(`"credHelpers":{"reg.example":7,"other.example":"ok"}`, "reg.example", `{}`)},
			image: "other.example/app", serves: true,
			users: map[string]string{"other.example": "helper-user"}, kt: providers.RegistryPluginCacheKeyType,
		},
		{
			name:  "credHelpers is not an object",
			files: []string{withTop(`"credHelpers":"`+secret+`"`, "reg.example", good)},
			image: "reg.example/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`credHelpers: holds a JSON string, want an object; ignored`},
		},
		// Problems add up, in file order.
		{
			name:  "several problems",
			files: []string{"<missing>", withTop(`"credsStore":"desktop"`, "reg.example", good, "reg.example/team", brokenEntries["bad base64"])},
			image: "reg.example/team/app", serves: true,
			users: map[string]string{"reg.example": "good-user"}, kt: providers.RegistryPluginCacheKeyType,
			problems: []string{`file0" skipped`, `credsStore`, `entry "reg.example/team"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for i, data := range tt.files {
				path := filepath.Join(dir, fmt.Sprintf("file%d", i))
				switch data {
				case "<missing>":
				case "<dir>":
					if err := os.Mkdir(path, 0o755); err != nil {
						t.Fatal(err)
					}
				default:
					writeFile(t, path, data)
				}
				paths = append(paths, path)
			}
			p := newProvider(t, Config{Files: paths, HelperTimeout: durationOf(5 * time.Second)})
			img := image(tt.image)
			if got := p.Serves(img); got != tt.serves {
				t.Errorf("Serves = %v, want %v", got, tt.serves)
			}
			var warnings []string
			d := &providers.Dispatcher{Providers: []providers.Provider{p}, Warnf: func(format string, args ...any) {
				warnings = append(warnings, fmt.Sprintf(format, args...))
			}}
			ans, err := d.Resolve(context.Background(), providers.Request{Image: img})
			for _, s := range append(append([]string{fmt.Sprint(err)}, warnings...), problemsOf(ans)...) {
				if l := leaked(s); l != nil {
					t.Errorf("%q leaks %q", s, l)
				}
				if strings.Contains(s, "\n") {
					t.Errorf("%q is not one line", s)
				}
			}
			if tt.err != nil {
				if err == nil {
					t.Fatalf("no error; answer %+v", ans)
				}
				for _, w := range tt.err {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.serves {
				if len(ans.Auth) != 0 || len(ans.Contributions) != 0 || ans.CacheDuration != providers.DefaultNoMatchCacheDuration || len(warnings) != 0 {
					t.Errorf("answer %+v, warnings %q; want the empty answer of an image no backend serves", ans, warnings)
				}
				return
			}
			got := map[string]string{}
			for k, a := range ans.Auth {
				n, err := match.NormalizeKey(k)
				if err != nil {
					t.Fatalf("answer key %q: %v", k, err)
				}
				got[n] = a.Username
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.users) {
				t.Errorf("answer %v, want %v", got, tt.users)
			}
			if ans.CacheKeyType != tt.kt {
				t.Errorf("cacheKeyType %s, want %s", ans.CacheKeyType, tt.kt)
			}
			wantDur := DefaultCacheDuration
			if len(tt.problems) > 0 {
				wantDur = 0
			}
			if ans.CacheDuration != wantDur {
				t.Errorf("cacheDuration %s, want %s (problems %q)", ans.CacheDuration, wantDur, ans.Problems)
			}
			if len(ans.Problems) != len(tt.problems) {
				t.Fatalf("problems %q, want %d like %q", ans.Problems, len(tt.problems), tt.problems)
			}
			for i, w := range tt.problems {
				if !strings.HasPrefix(ans.Problems[i], "static: ") || !strings.Contains(ans.Problems[i], w) {
					t.Errorf("problem %q does not name the backend and %q", ans.Problems[i], w)
				}
				if i >= len(warnings) || !strings.HasPrefix(warnings[i], ans.Problems[i]) {
					t.Errorf("problem %q not warned about (warnings %q)", ans.Problems[i], warnings)
				}
			}
		})
	}
}

func problemsOf(ans *providers.Answer) []string {
	if ans == nil {
		return nil
	}
	return ans.Problems
}

// TestMatchImagesCoversServes: for every host without a port, Serves is true exactly
// when one of MatchImages matches an image of that host the way the kubelet matches
// matchImages (internal/match), broken parts included.
func TestMatchImagesCoversServes(t *testing.T) {
	setupHelpers(t)
	hosts := []string{
		"reg.example", "a.reg.example", "b.a.reg.example", "other.example", "docker.io", "index.docker.io",
		"quay.io", "gcr.io", "us.gcr.io", "localhost", "x.y.z.example", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
	}
	tests := []struct {
		name  string
		files []string
		want  []string // MatchImages
	}{
		{"nothing", []string{`{}`}, []string{}},
		{
			"auths, broken ones too, paths and ports; keys the kubelet cannot parse back match nothing",
			[]string{`{"auths":{"reg.example/team":{},"https://a.reg.example/v2/":{"auth":"!!"},"*.a.reg.example":{},"localhost:5000":{},"reg.example:port":{},"other.example/%00":{}}}`},
			[]string{"*.a.reg.example", "a.reg.example", "localhost:5000", "reg.example"},
		},
		{
			"Docker Hub spellings",
			[]string{`{"auths":{"https://index.docker.io/v1/":{}}}`, `{"https://index.docker.io/v1/library":{}}`},
			[]string{"docker.io", "index.docker.io"},
		},
		{
			"credHelpers, usable or not",
			[]string{`{"credHelpers":{"gcr.io":"gcloud","*.gcr.io":"gcloud","other.example":"../x"}}`},
			[]string{"*.gcr.io", "gcr.io", "other.example"},
		},
		{
			"credsStore: every host",
			[]string{`{"auths":{"reg.example":{},"reg.example:5000":{},"a.b.c.d.e.f.g.h.i":{}},"credsStore":"desktop"}`},
			append(EveryHost(), "a.b.c.d.e.f.g.h.i", "reg.example:5000"),
		},
		{
			"a file that does not parse: every host",
			[]string{`{"auths":{"reg.example":{}}}`, `{`},
			EveryHost(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for i, data := range tt.files {
				paths = append(paths, writeFile(t, filepath.Join(dir, fmt.Sprintf("f%d.json", i)), data))
			}
			p := newProvider(t, Config{Files: paths})
			got := p.MatchImages()
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("MatchImages = %q, want %q", got, want)
			}
			for _, h := range hosts {
				img := image(h + "/team/app")
				matched := false
				for _, pat := range got {
					matched = matched || match.Match(pat, img.Repository())
				}
				if serves := p.Serves(img); serves != matched {
					t.Errorf("%s: Serves = %v, matched by MatchImages = %v", h, serves, matched)
				}
			}
		})
	}
}

func TestEveryHost(t *testing.T) {
	pats := EveryHost()
	if len(pats) != EveryHostLabels || pats[0] != "*" || pats[2] != "*.*.*" {
		t.Fatalf("EveryHost = %q", pats)
	}
	covered := func(image string) bool {
		for _, p := range pats {
			if match.Match(p, image) {
				return true
			}
		}
		return false
	}
	for img, want := range map[string]bool{
		"localhost/app": true, "quay.io/a/b": true, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app": true,
		"a.b.c.d.e.f.g.h/app": true, "a.b.c.d.e.f.g.h.i/app": false, "reg.example:5000/app": false,
	} {
		if covered(img) != want {
			t.Errorf("%s covered = %v, want %v", img, !want, want)
		}
	}
}

func durationOf(d time.Duration) duration.Duration { return duration.Of(d) }

// osWords is what the operating system says, without the path, when reading path as a
// file fails.
func osWords(t *testing.T, path string) string {
	t.Helper()
	_, err := os.ReadFile(path)
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("reading %s: %v, want an error", path, err)
	}
	return pe.Err.Error()
}
