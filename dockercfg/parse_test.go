package dockercfg

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func b64raw(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

func TestParse(t *testing.T) {
	tests := []struct {
		name, path, data string
		want             *File
	}{
		{
			name: "config.json with username and password",
			path: "config.json",
			data: `{"auths":{"reg.example":{"username":"fake-user","password":"fake-pass"}}}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "reg.example", Username: "fake-user", Password: "fake-pass"}}},
		},
		{
			name: "auth overrides username and password",
			path: "config.json",
			data: `{"auths":{"reg.example":{"username":"ignored","password":"ignored","auth":"` + b64("fake-user:fake-pass") + `"}}}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "reg.example", Username: "fake-user", Password: "fake-pass"}}},
		},
		{
			name: "unpadded auth, password with colons, email and identitytoken ignored",
			path: "config.json",
			data: `{"auths":{"reg.example":{"auth":"` + b64raw("u:p:a:ss") + `","email":"x@example.com","identitytoken":"fake"}}}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "reg.example", Username: "u", Password: "p:a:ss"}}},
		},
		{
			name: "auth with surrounding white space",
			path: "config.json",
			data: `{"auths":{"reg.example":{"auth":"  ` + b64("u1:p1") + ` \n"}}}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "reg.example", Username: "u1", Password: "p1"}}},
		},
		{
			name: "field names in any case, as encoding/json and the kubelet",
			path: "config.json",
			data: `{"Auths":{"reg.example":{"Username":"u","PASSWORD":"p"}}}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "reg.example", Username: "u", Password: "p"}}},
		},
		{
			name: "entries sorted by key, empty entries kept",
			path: "config.json",
			data: `{"auths":{"z.example":{},"a.example":{"auth":"` + b64("a:b") + `"},"https://index.docker.io/v1/":{"username":"hub"}}}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "a.example", Username: "a", Password: "b"}, {Key: "https://index.docker.io/v1/", Username: "hub"}, {Key: "z.example"}}},
		},
		{
			name: "credHelpers and credsStore",
			path: "config.json",
			data: `{"auths":{"reg.example":{}},"credHelpers":{"gcr.io":"gcloud"},"credsStore":"desktop","psFormat":"x"}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "reg.example"}}, CredHelpers: map[string]string{"gcr.io": "gcloud"}, CredsStore: "desktop"},
		},
		{
			name: "config.json without auths",
			path: "config.json",
			data: `{"credsStore":"desktop"}`,
			want: &File{Path: "config.json", CredsStore: "desktop"},
		},
		{
			name: "legacy .dockercfg",
			path: "/x/.dockercfg",
			data: `{"https://index.docker.io/v1/":{"auth":"` + b64("hub-user:hub-pass") + `","email":"x@example.com"}}`,
			want: &File{Path: "/x/.dockercfg", Auths: []Entry{{Key: "https://index.docker.io/v1/", Username: "hub-user", Password: "hub-pass"}}},
		},
		{
			name: "legacy format under another name is recognized by content",
			path: "/x/creds.json",
			data: `{"reg.example":{"username":"u","password":"p"}}`,
			want: &File{Path: "/x/creds.json", Auths: []Entry{{Key: "reg.example", Username: "u", Password: "p"}}},
		},
		{
			name: "empty object",
			path: "config.json",
			data: `{}`,
			want: &File{Path: "config.json"},
		},
		{
			name: "null entry is empty",
			path: "config.json",
			data: `{"auths":{"reg.example":null}}`,
			want: &File{Path: "config.json", Auths: []Entry{{Key: "reg.example"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.path, []byte(tt.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// secret is a value that must never appear in an error.
const secret = "s3cr3t-Value"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data string
		wantIn     []string // substrings of the error
	}{
		{"not JSON", `{"auths":{"reg.example":{"password":"` + secret + `"`, []string{"/etc/cfg.json", "malformed JSON"}},
		{"syntax error next to a secret", `{"auths":{"reg.example":{"password":` + secret + `}}}`, []string{"/etc/cfg.json", "malformed JSON at line 1, column 37"}},
		{"syntax error on a later line", "{\n  \"auths\": {\n    \"reg.example\": {\"password\": " + secret + "}}}", []string{"/etc/cfg.json", "malformed JSON at line 3, column 33"}},
		{"bad base64", `{"auths":{"reg.example":{"auth":"` + secret + `!!"}}}`, []string{"/etc/cfg.json", `entry "reg.example"`, "not valid base64"}},
		{"bad padded base64", `{"auths":{"reg.example":{"auth":"` + secret + `=="}}}`, []string{`entry "reg.example"`, "not valid base64"}},
		{"auth without colon", `{"auths":{"reg.example":{"auth":"` + b64(secret) + `"}}}`, []string{`entry "reg.example"`, `no ":"`}},
		{"password of the wrong type", `{"auths":{"reg.example":{"password":12345}}}`, []string{`entry "reg.example"`, `"password"`, "number"}},
		{"entry of the wrong type", `{"auths":{"reg.example":"` + secret + `"}}`, []string{`entry "reg.example"`, "string"}},
		{"auths of the wrong type", `{"auths":["` + secret + `"]}`, []string{"/etc/cfg.json", "array"}},
		{"top level not an object", `["` + secret + `"]`, []string{"/etc/cfg.json", "array"}},
		{"helper name with a slash", `{"credHelpers":{"reg.example":"../../bin/sh"}}`, []string{`credHelpers entry "reg.example"`, "not a plain name"}},
		{"credsStore of the wrong type", `{"credsStore":1}`, []string{"credsStore", "number"}},
		{"empty file", ``, []string{"/etc/cfg.json", "malformed JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("/etc/cfg.json", []byte(tt.data))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			msg := err.Error()
			for _, w := range tt.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, leak := range []string{secret, "s3cr3t", b64(secret)} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q leaks %q", msg, leak)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
		})
	}
}

func TestParseLegacyErrors(t *testing.T) {
	_, err := Parse("/root/.dockercfg", []byte(`{"reg.example":{"auth":"`+secret+`"}}`))
	if err == nil || !strings.Contains(err.Error(), `/root/.dockercfg: entry "reg.example"`) || strings.Contains(err.Error(), secret) {
		t.Fatalf("error = %v, want one naming the file and entry without the value", err)
	}
}

func TestDecodeAuth(t *testing.T) {
	tests := []struct {
		auth, user, pass string
		wantErr          bool
	}{
		{auth: b64("u:p"), user: "u", pass: "p"},
		{auth: b64raw("u:p"), user: "u", pass: "p"},
		{auth: b64("user:"), user: "user", pass: ""},
		{auth: b64(":pass"), user: "", pass: "pass"},
		{auth: b64("a:b:c"), user: "a", pass: "b:c"},
		{auth: " " + b64("u:p") + "\t", user: "u", pass: "p"},
		{auth: b64("nocolon"), wantErr: true},
		{auth: "%%%", wantErr: true},
		{auth: b64raw("u:pw") + "=", wantErr: true}, // padding that does not fit
	}
	for _, tt := range tests {
		u, p, err := DecodeAuth(tt.auth)
		if (err != nil) != tt.wantErr {
			t.Errorf("DecodeAuth(%q) error = %v, wantErr %v", tt.auth, err, tt.wantErr)
			continue
		}
		if u != tt.user || p != tt.pass {
			t.Errorf("DecodeAuth(%q) = %q, %q; want %q, %q", tt.auth, u, p, tt.user, tt.pass)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("config.json", []byte(`{"auths":{"reg.example":{"auth":"`+b64("u:p")+`"}},"credHelpers":{"gcr.io":"gcloud"},"credsStore":"desktop"}`))
	f.Add(".dockercfg", []byte(`{"reg.example":{"username":"u","password":"p"}}`))
	f.Add("x", []byte(`{"reg.example":{"auth":"!!"}}`))
	f.Add("x", []byte(`[`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		file, err := Parse(name, data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(name, "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for i := 1; i < len(file.Auths); i++ {
			if file.Auths[i-1].Key > file.Auths[i].Key {
				t.Fatalf("entries not sorted: %q before %q", file.Auths[i-1].Key, file.Auths[i].Key)
			}
		}
		for _, h := range file.CredHelpers {
			if checkHelperName(h) != nil {
				t.Fatalf("helper name %q accepted", h)
			}
		}
	})
}

func FuzzDecodeAuth(f *testing.F) {
	f.Add(b64("u:p"))
	f.Add(b64raw("u:p"))
	f.Add("!!")
	f.Fuzz(func(t *testing.T, auth string) {
		u, p, err := DecodeAuth(auth)
		if err != nil {
			if len(auth) >= 4 && strings.Contains(err.Error(), auth) {
				t.Fatalf("error %q echoes the value", err)
			}
			return
		}
		// What decodes must round-trip through docker's padded encoding.
		if u2, p2, err := DecodeAuth(b64(u + ":" + p)); err != nil || u2 != u || p2 != p {
			t.Fatalf("round trip of %q:%q gave %q:%q, %v", u, p, u2, p2, err)
		}
	})
}

// TestParsePartial: the static backend's reader keeps every usable part of a file and
// says what is wrong with each other part, where Parse (the kubelet's strictness)
// fails the whole file, on the first broken part in a stable order.
func TestParsePartial(t *testing.T) {
	tests := []struct {
		name, data string
		entries    map[string]string // key → username, or "ERR: cause substring"
		helpers    map[string]string // credHelpers registry → name, or "ERR: cause substring"
		store      string
		problems   []string
		strict     string // Parse's error
	}{
		{
			name:    "undecodable entries next to good ones",
			data:    `{"auths":{"a.example":{"auth":"` + secret + `!!"},"b.example":{"username":"u"},"c.example":"` + secret + `","d.example":{"auth":"` + b64(secret) + `"},"e.example":{"email":1}}}`,
			entries: map[string]string{"a.example": "ERR: not valid base64", "b.example": "u", "c.example": "ERR: holds a JSON string, want an object", "d.example": `ERR: no ":"`, "e.example": `ERR: field "email" holds a JSON number`},
			strict:  `/etc/cfg.json: entry "a.example": "auth" is not valid base64`,
		},
		{
			name:    "legacy file with a broken entry",
			data:    `{"a.example":{"auth":"` + b64("u:p") + `"},"b.example":{"password":false}}`,
			entries: map[string]string{"a.example": "u", "b.example": `ERR: field "password" holds a JSON bool`},
			strict:  `entry "b.example"`,
		},
		{
			name:    "credHelpers entries that are not helper names",
			data:    `{"credHelpers":{"a.example":"ok","b.example":"../bin/sh","c.example":3}}`,
			helpers: map[string]string{"a.example": "ok", "b.example": "ERR: is not a plain name", "c.example": "ERR: holds a JSON number, want a helper name"},
			strict:  `credHelpers entry "b.example": credential helper name "../bin/sh" is not a plain name`,
		},
		{
			name:     "credHelpers not an object, credsStore not a name",
			data:     `{"auths":{"a.example":{"username":"u"}},"credHelpers":["` + secret + `"],"credsStore":" spaced"}`,
			entries:  map[string]string{"a.example": "u"},
			problems: []string{"credHelpers: holds a JSON array, want an object", `credsStore: credential helper name " spaced" is not a plain name`},
			strict:   "credHelpers: holds a JSON array",
		},
		{
			name:  "empty credsStore is none",
			data:  `{"credsStore":""}`,
			store: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parsePartial("/etc/cfg.json", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range f.Auths {
				got[e.Key] = e.Username
				if e.Err != nil {
					got[e.Key] = "ERR: " + e.Err.Error()
					if e.Username != "" || e.Password != "" {
						t.Errorf("broken entry %q keeps credentials", e.Key)
					}
				}
			}
			compareParts(t, "entries", got, tt.entries)
			gotHelpers := map[string]string{}
			for reg, name := range f.CredHelpers {
				gotHelpers[reg] = name
			}
			for reg, err := range f.BadCredHelpers {
				gotHelpers[reg] = "ERR: " + err.Error()
			}
			compareParts(t, "credHelpers", gotHelpers, tt.helpers)
			if f.CredsStore != tt.store {
				t.Errorf("credsStore %q, want %q", f.CredsStore, tt.store)
			}
			if len(f.Problems) != len(tt.problems) {
				t.Fatalf("problems %v, want %q", f.Problems, tt.problems)
			}
			for i, w := range tt.problems {
				if !strings.Contains(f.Problems[i].Error(), w) {
					t.Errorf("problem %q does not contain %q", f.Problems[i], w)
				}
			}
			_, err = Parse("/etc/cfg.json", []byte(tt.data))
			if tt.strict == "" {
				if err != nil {
					t.Errorf("Parse: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.strict) {
				t.Errorf("Parse error %v, want one containing %q", err, tt.strict)
			}
			for _, msg := range append([]string{fmt.Sprint(err)}, values(got)...) {
				for _, leak := range []string{secret, "s3cr3t", b64(secret)} {
					if strings.Contains(msg, leak) {
						t.Errorf("%q leaks %q", msg, leak)
					}
				}
			}
		})
	}
}

func compareParts(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s %q, want %q", what, got, want)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || (strings.HasPrefix(w, "ERR: ") && !strings.Contains(g, strings.TrimPrefix(w, "ERR: "))) || (!strings.HasPrefix(w, "ERR: ") && g != w) {
			t.Errorf("%s[%q] = %q, want %q", what, k, g, w)
		}
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestQuoteKey(t *testing.T) {
	for key, want := range map[string]string{
		"reg.example/team":                            `"reg.example/team"`,
		"https://index.docker.io/v1/":                 `"https://index.docker.io/v1/"`,
		"https://user:" + secret + "@reg.example/v2/": `"https://***@reg.example/v2/"`,
		"u:" + secret + "@a@reg.example":              `"***@reg.example"`,
		"reg.example/a@b":                             `"reg.example/a@b"`,
		"http://x@reg\n.example":                      `"http://***@reg\n.example"`,
	} {
		if got := quoteKey(key); got != want {
			t.Errorf("quoteKey(%q) = %s, want %s", key, got, want)
		}
	}
}
