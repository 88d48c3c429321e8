package dockercfg

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Config
		wantErr string
	}{
		{
			name: "config.json layout",
			in:   `{"auths":{"https://registry.example.com/v1/":{"auth":"` + b64("user:pa:ss") + `"},"reg2.example.com:5000":{"username":"u2","password":"p2"}}}`,
			want: Config{"registry.example.com": {"user", "pa:ss"}, "reg2.example.com:5000": {"u2", "p2"}},
		},
		{
			name: "legacy .dockercfg layout",
			in:   `{"registry.example.com":{"auth":"` + b64("u:p") + `","email":"x@example.com"}}`,
			want: Config{"registry.example.com": {"u", "p"}},
		},
		{
			name: "auth overrides username and password",
			in:   `{"auths":{"r.example.com":{"auth":"` + b64("a:b") + `","username":"x","password":"y"}}}`,
			want: Config{"r.example.com": {"a", "b"}},
		},
		{
			name: "unpadded auth",
			in:   `{"auths":{"r.example.com":{"auth":"` + strings.TrimRight(b64("ab:c"), "=") + `"}}}`,
			want: Config{"r.example.com": {"ab", "c"}},
		},
		{
			name: "path kept, /v2/ cut",
			in:   `{"auths":{"https://r.example.com/v2/team":{"username":"u","password":"p"}}}`,
			want: Config{"r.example.com/team": {"u", "p"}},
		},
		{name: "empty", in: `{}`, want: Config{}},
		{name: "not JSON", in: `nope`, wantErr: "not a JSON object"},
		{name: "auths not an object", in: `{"auths":[]}`, wantErr: `"auths" is not a JSON object`},
		{name: "entry not an object", in: `{"auths":{"r":"x"}}`, wantErr: `entry "r"`},
		{name: "auth not base64", in: `{"auths":{"r":{"auth":"!!!"}}}`, wantErr: "not base64"},
		{name: "auth without colon", in: `{"auths":{"r":{"auth":"` + b64("nocolon") + `"}}}`, wantErr: "user:password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrorsHideSecrets(t *testing.T) {
	_, err := Parse([]byte(`{"auths":{"r":{"auth":"` + b64("user-no-colon-secret") + `"}}}`))
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("err = %v", err)
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		key, image string
		want       bool
	}{
		{"registry.example.com", "registry.example.com/team/app", true},
		{"registry.example.com", "other.example.com/team/app", false},
		{"*.example.com", "registry.example.com/app", true},
		{"*.example.com", "a.b.example.com/app", false},
		{"registry.example.com/team", "registry.example.com/team/app", true},
		{"registry.example.com/team", "registry.example.com/teamx/app", true}, // raw prefix, as the kubelet
		{"registry.example.com/team", "registry.example.com/other/app", false},
		{"registry.example.com:5000", "registry.example.com:5000/app", true},
		{"registry.example.com", "registry.example.com:5000/app", false},
		{"registry.example.com:5000", "registry.example.com/app", false},
		{"gcr.io", "gcr.io/p/app", true},
		{"[", "x/y", false},
	}
	for _, tt := range tests {
		if got := Matches(tt.key, tt.image); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.key, tt.image, got, tt.want)
		}
	}
}

func TestFor(t *testing.T) {
	cfg := Config{"a.example.com": {"a", "1"}, "*.example.com": {"w", "2"}, "b.example.com": {"b", "3"}}
	got := cfg.For("a.example.com/x")
	want := Config{"a.example.com": {"a", "1"}, "*.example.com": {"w", "2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("For = %v, want %v", got, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"auths":{"https://r.example.com/v1/":{"auth":"dTpw"}}}`))
	f.Add([]byte(`{"r.example.com":{"username":"u","password":"p"}}`))
	f.Add([]byte(`{"auths":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		for k := range cfg {
			if u, ok := parse(k); !ok || u.Hostname() == "" {
				t.Fatalf("key %q is not a normalised, parseable key", k)
			}
		}
	})
}

func FuzzMatches(f *testing.F) {
	f.Add("*.example.com", "a.example.com/app")
	f.Add("r.example.com:5000/team", "r.example.com:5000/team/app")
	f.Fuzz(func(t *testing.T, key, image string) {
		if !Matches(key, image) {
			return
		}
		k, _ := parse(key)
		i, _ := parse(image)
		if k.Port() != i.Port() {
			t.Fatalf("%q matched %q across ports", key, image)
		}
	})
}
