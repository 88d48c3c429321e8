package dockercfg

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/providers"
)

// fuzzPassword is the password hidden in every fuzzed file; it looks like no text of
// ours, so any fragment of it in a message is a leak.
const fuzzPassword = "Qz7vKp2XwL9mTr4J"

// fuzzFile builds a docker config file around a secret: the "auth" of
// "fuzz-user:"+fuzzPassword, with splice inserted into it at `at`, placed as shape
// says (valid, wrong types, broken JSON next to it), the whole cut short when cut is
// non-zero. It returns the file and the auth value as placed (before the cut).
func fuzzFile(key string, shape uint8, at uint16, splice string, cut uint16) (data []byte, auth string) {
	clean := b64("fuzz-user:" + fuzzPassword)
	i := int(at) % (len(clean) + 1)
	auth = clean[:i] + splice + clean[i:]
	k, _ := json.Marshal(key)
	a, _ := json.Marshal(auth)
	p, _ := json.Marshal(fuzzPassword + splice)
	var s string
	switch shape % 8 {
	case 0:
		s = `{"auths":{` + string(k) + `:{"auth":` + string(a) + `}}}`
	case 1:
		s = `{"auths":{` + string(k) + `:{"username":"fuzz-user","password":` + string(p) + `}}}`
	case 2:
		s = `{` + string(k) + `:{"auth":` + string(a) + `,"email":"e@example.com"}}`
	case 3:
		s = `{"auths":{` + string(k) + `:{"auth":` + auth + `}}}`
	case 4:
		s = `{"auths":{` + string(k) + `:` + string(a) + `}}`
	case 5:
		s = `{"auths":{` + string(k) + `:{"auth":` + string(a) + `,"email":5}},"credsStore":"fuzz"}`
	case 6:
		s = `{"auths":{` + string(k) + `:{"password":` + fuzzPassword + splice + `}},"credHelpers":{` + string(k) + `:"x"}}`
	case 7:
		s = `{"auths":{"other.example":{"auth":` + string(a) + `},` + string(k) + `:{"auth":"` + b64("u:p") + `"}}}`
	}
	if cut > 0 {
		s = s[:int(cut)%(len(s)+1)]
	}
	return []byte(s), auth
}

// FuzzReadersNeverLeak: whatever a docker config file holds, reading it never panics,
// and no error, entry error, problem or Lookup message holds any fragment of a
// password or of an "auth" value, decoded or not.
func FuzzReadersNeverLeak(f *testing.F) {
	for shape := uint8(0); shape < 8; shape++ {
		f.Add("reg.example", shape, uint16(0), "", uint16(0))
		f.Add("reg.example/team", shape, uint16(5), "!!", uint16(0))
		f.Add("https://index.docker.io/v1/", shape, uint16(30), "=", uint16(40))
	}
	f.Add("*.reg.example:5000", uint8(0), uint16(3), "\"}", uint16(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, key string, shape uint8, at uint16, splice string, cut uint16) {
		data, auth := fuzzFile(key, shape, at, splice, cut)
		// Fragments that must not show: of the password, and of the auth value on
		// either side of the splice. A fragment that is also in the key (which
		// messages may quote) or in the splice proves nothing, so it is not checked.
		var frags []string
		addFrags := func(s string, n int) {
			for i := 0; i+n <= len(s); i++ {
				fr := s[i : i+n]
				if !strings.Contains(key, fr) && !strings.Contains(splice, fr) {
					frags = append(frags, fr)
				}
			}
		}
		addFrags(fuzzPassword, 6)
		i := int(at) % (len(auth) - len(splice) + 1)
		addFrags(auth[:i], 8)
		addFrags(auth[i+len(splice):], 8)
		check := func(what, msg string) {
			t.Helper()
			for _, fr := range frags {
				if strings.Contains(msg, fr) {
					t.Fatalf("%s %q holds %q, a fragment of a secret", what, msg, fr)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("%s %q is not one line", what, msg)
			}
		}
		checkFile := func(what string, file *File, err error) {
			t.Helper()
			if err != nil {
				check(what+" error", err.Error())
				return
			}
			for _, e := range file.Auths {
				if e.Err != nil {
					check(what+" entry error", e.Err.Error())
				}
			}
			for _, err := range file.BadCredHelpers {
				check(what+" credHelpers error", err.Error())
			}
			for _, err := range file.Problems {
				check(what+" problem", err.Error())
			}
		}
		for _, name := range []string{"config.json", ".dockercfg"} {
			file, err := Parse(name, data)
			checkFile("Parse", file, err)
			file, err = parsePartial(name, data)
			checkFile("parsePartial", file, err)
			if err == nil && file.Path != name {
				t.Fatalf("Path %q, want %q", file.Path, name)
			}
		}
		file, err := ParseConfigJSON("config.json", data)
		checkFile("ParseConfigJSON", file, err)
		file, err = ParseLegacy(".dockercfg", data)
		checkFile("ParseLegacy", file, err)
		if _, _, err := DecodeAuth(auth); err != nil {
			check("DecodeAuth error", err.Error())
		}

		// The whole backend on the file, for an image of the key's registry. The
		// credential helpers named (docker-credential-fuzz, -x) are not on PATH.
		path := filepath.Join(dir, "config.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		host := "reg.example"
		if n, err := match.NormalizeKey(key); err == nil {
			if h, _, _ := strings.Cut(n, "/"); h != "" {
				host = h
			}
		}
		t.Setenv("PATH", dir)
		p, err := New(Config{Files: []string{path}}, WithSearchPaths())
		if err != nil {
			t.Fatal(err)
		}
		patterns := p.MatchImages()
		for _, img := range []providers.Image{{Host: host, Path: "team/app"}, {Host: "other.example", Path: "app"}} {
			// Serves and MatchImages agree on every host EveryHost can cover.
			if !strings.Contains(img.Host, ":") && strings.Count(img.Host, ".") < EveryHostLabels {
				matched := false
				for _, pat := range patterns {
					matched = matched || match.Match(pat, img.Repository())
				}
				if serves := p.Serves(img); serves != matched {
					t.Fatalf("%q: Serves = %v but MatchImages %q match = %v", img.Host, serves, patterns, matched)
				}
			}
			found, err := p.Lookup(context.Background(), img)
			if err != nil {
				check("Lookup error", err.Error())
				continue
			}
			for _, pr := range found.Problems {
				check("Lookup problem", pr)
			}
		}
	})
}
