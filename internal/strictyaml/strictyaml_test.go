package strictyaml

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/duration"
)

// target is shaped like the plugin's configuration: nested structs, lists of
// structs, pointers, a type that reads itself from JSON, an ignored field, an
// embedded struct.
type target struct {
	APIVersion string             `json:"apiVersion"`
	Backends   []string           `json:"backends,omitempty"`
	Timeout    *duration.Duration `json:"timeout,omitempty"`
	Cache      struct {
		Dir      string `json:"dir,omitempty"`
		Disabled bool   `json:"disabled,omitempty"`
	} `json:"cache,omitempty"`
	ECR struct {
		Registries []struct {
			Host   string `json:"host"`
			Region string `json:"region"`
			FIPS   bool   `json:"fips,omitempty"`
		} `json:"registries,omitempty"`
	} `json:"ecr,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Count     int               `json:"count,omitempty"`
	Ratio     float64           `json:"ratio,omitempty"`
	Enabled   *bool             `json:"enabled,omitempty"`
	Verbosity int               `json:"-"`
	embedded
}

type embedded struct {
	Extra string `json:"extra,omitempty"`
}

func TestDecodeGood(t *testing.T) {
	yamlDoc := `apiVersion: v1
backends: [static, ecr]
timeout: 45s
cache:
  dir: /var/cache/x
  disabled: yes
ecr:
  registries:
  - host: registry.example.com
    region: eu-west-1
    fips: true
labels: {a: b}
count: 0x10
ratio: 1.5
enabled: false
extra: inline
`
	jsonDoc := "{\n\t\"apiVersion\": \"v1\",\n\t\"backends\": [\"static\", \"ecr\"],\n\t\"timeout\": \"45s\",\n" +
		"\t\"cache\": {\"dir\": \"/var/cache/x\", \"disabled\": true},\n" +
		"\t\"ecr\": {\"registries\": [{\"host\": \"registry.example.com\", \"region\": \"eu-west-1\", \"fips\": true}]},\n" +
		"\t\"labels\": {\"a\": \"b\"}, \"count\": 16, \"ratio\": 1.5, \"enabled\": false, \"extra\": \"inline\"\n}\n"
	for name, doc := range map[string]string{"yaml": yamlDoc, "json": jsonDoc} {
		t.Run(name, func(t *testing.T) {
			var got target
			pos, err := Decode([]byte(doc), &got, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.APIVersion != "v1" || !reflect.DeepEqual(got.Backends, []string{"static", "ecr"}) ||
				got.Timeout == nil || got.Timeout.Duration != 45*time.Second || got.Cache.Dir != "/var/cache/x" || !got.Cache.Disabled ||
				len(got.ECR.Registries) != 1 || got.ECR.Registries[0].Region != "eu-west-1" || !got.ECR.Registries[0].FIPS ||
				got.Labels["a"] != "b" || got.Count != 16 || got.Ratio != 1.5 || got.Enabled == nil || *got.Enabled || got.Extra != "inline" {
				t.Errorf("decoded %+v", got)
			}
			if p := pos["ecr.registries[0].region"]; p.Line != 10 && name == "yaml" {
				t.Errorf("position of ecr.registries[0].region: %+v", p)
			}
			if p := pos["cache.disabled"]; name == "json" && (p.Line != 5 || p.Column != 47) {
				t.Errorf("position of cache.disabled in JSON: %+v", p)
			}
		})
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, doc := range []string{"", "\n\n", "# only a comment\n", "~\n"} {
		got := target{APIVersion: "kept"}
		if _, err := Decode([]byte(doc), &got, Options{}); err != nil || got.APIVersion != "kept" && doc != "~\n" {
			t.Errorf("%q: %v, %+v", doc, err, got)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		opts      Options
		want      string
	}{
		{"bool from a number", "cache:\n  disabled: 3\n", Options{}, `2:13: cache.disabled: want true or false, got 3`},
		{"bool from quoted text", "cache:\n  disabled: \"true\"\n", Options{}, `2:13: cache.disabled: want true or false, got "true"`},
		{"bool in JSON", `{"cache": {"disabled": 3}}`, Options{}, `1:24: cache.disabled: want true or false, got 3`},
		{"value hidden", `{"cache": {"disabled": "s3cr3t"}}`, Options{HideValues: true}, `1:24: cache.disabled: want true or false, got text`},
		{"unknown field with a suggestion", "bakends: [static]\n", Options{}, `1:1: bakends: unknown field (did you mean backends?); allowed here: apiVersion, backends, timeout, cache, ecr, labels, count, ratio, enabled, extra`},
		{"unknown field by case", "ecr:\n  Registries: []\n", Options{}, `2:3: ecr.Registries: unknown field (did you mean registries?); allowed here: registries`},
		{"unknown nested field", "ecr:\n  registries:\n  - host: a\n    regoin: b\n", Options{}, `4:5: ecr.registries[0].regoin: unknown field (did you mean region?); allowed here: host, region, fips`},
		{"unknown field without a suggestion", "zzz: 1\n", Options{}, `1:1: zzz: unknown field; allowed here:`},
		{"list wanted", "backends: static\n", Options{}, `1:11: backends: want a list, got "static"`},
		{"mapping wanted", "ecr: [a]\n", Options{}, `1:6: ecr: want a mapping of registries, got a list`},
		{"text wanted", "backends: [[a]]\n", Options{}, `1:12: backends[0]: want text, got a list`},
		{"list of mappings", "ecr:\n  registries:\n    host: a\n", Options{}, `3:5: ecr.registries: want a list of mappings of host, region, fips, got a mapping`},
		{"number wanted", "count: many\n", Options{}, `1:8: count: want a whole number, got "many"`},
		{"duration", "timeout: soon\n", Options{}, `1:10: timeout: invalid duration "soon": want a duration such as "30s" or "5m"`},
		{"duration not text", "timeout: [1]\n", Options{}, `1:10: timeout: want a duration string such as "30s" or "5m"`},
		{"set twice", "count: 1\ncount: 2\n", Options{}, `2:1: count: set twice (first on line 1)`},
		{"set twice in JSON", `{"count": 1, "count": 2}`, Options{}, `1:14: count: set twice (first on line 1)`},
		{"ignored field is unknown", "Verbosity: 3\n", Options{}, `1:1: Verbosity: unknown field`},
		{"document is a list", "- a\n", Options{}, `1:1: want a mapping of apiVersion, backends, timeout, cache, ecr, labels, ..., got a list`},
		{"merge key", "base: &b {dir: x}\ncache:\n  <<: *b\n", Options{IgnoreUnknown: true}, `3:3: cache: merge keys (<<) are not supported`},
		{"key not a name", "? [a]\n: b\n", Options{}, `1:3: a key must be a name, not a list`},
		{"second document", "count: 1\n---\ncount: 2\n", Options{}, `2:1: a second document (---): the file holds one`},
		{"YAML syntax", "cache:\n  dir: a\n   disabled: true\n", Options{}, `3: not valid YAML: mapping values are not allowed in this context`},
		{"JSON syntax", "{\n  \"count\": 1\n  \"ratio\": 2\n}\n", Options{}, `3:3: malformed JSON`},
		{"JSON cut short", "{\n  \"count\": 1,\n", Options{}, `3:1: malformed JSON: it ends too early`},
		{"not UTF-8", "count: 1\nextra: \xff\n", Options{}, `2:8: not UTF-8 text`},
		{"control character", "extra: a\x1bb\n", Options{}, `1:9: control character U+001B is not allowed`},
		{"self alias", "backends: &x [*x]\n", Options{}, `backends[0]: want text, got a list`},
		{"labels set twice", "labels: {a: b, a: c}\n", Options{}, `1:16: labels["a"]: set twice (first on line 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got target
			_, err := Decode([]byte(tt.doc), &got, tt.opts)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %s\nwant it to contain\n  %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "strictyaml.") {
				t.Errorf("error names Go types: %s", err)
			}
		})
	}
}

func TestDecodeIgnoreUnknown(t *testing.T) {
	var got target
	if _, err := Decode([]byte("subscriptionId: 1\ncount: 2\nloadBalancer: {a: [1, 2]}\n"), &got, Options{IgnoreUnknown: true}); err != nil || got.Count != 2 {
		t.Fatalf("%v, %+v", err, got)
	}
}

// A document that expands exponentially through aliases is refused, quickly.
func TestDecodeAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("a" + string(rune('0'+i%10)) + string(rune('a'+i)) + ": &a" + string(rune('a'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			if i == 1 {
				b.WriteString("*a0")
			} else {
				b.WriteString("*a" + string(rune('a'+i-1)))
			}
		}
		b.WriteString("]\n")
	}
	b.WriteString("labels: *a" + string(rune('a'+11)) + "\n")
	type bomb struct {
		Labels [][][][][][][][][][][][]string `json:"labels"`
	}
	start := time.Now()
	_, err := Decode([]byte(b.String()), &bomb{}, Options{IgnoreUnknown: true})
	if err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Fatalf("error %v, want the expansion refused", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nbackends: [static]\ncache: {disabled: true}\n",
		`{"ecr": {"registries": [{"host": "a", "region": "b"}]}, "timeout": "3s"}`,
		"a: &x [*x]\n", "count: 0x1_0\nratio: .inf\n", "? [a]\n: b\n", "---\n---\n", "{\n\"a\": ,}",
		"labels:\n  a: b\n  a: c\n", "cache:\n  <<: {dir: x}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, {IgnoreUnknown: true, HideValues: true}} {
			var got target
			_, err := Decode(data, &got, opts)
			if err == nil {
				continue
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			// YAML breaks lines at \n, \r\n and a lone \r.
			lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) - bytes.Count(data, []byte("\r\n")) + 1
			if e.Line < 1 || e.Line > lines || e.Column < 0 {
				t.Fatalf("error %q at line %d column %d of a %d-line document", err, e.Line, e.Column, lines)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error spans lines: %q", err)
			}
		}
	})
}
