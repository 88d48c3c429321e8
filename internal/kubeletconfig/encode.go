package kubeletconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Notes are comments written into a YAML file; JSON has none.
type Notes struct {
	// Header lines go at the top of the file.
	Header []string
	// MatchImages holds, by provider name, a comment line to write before the
	// matchImages entry of each index.
	MatchImages map[string]map[int]string
}

// Encode writes c in format f (YAML or JSON), in apiVersion v1 with its fields in the
// kubelet's documented order; Decode reads the result back to the same values.
func Encode(c *Config, f Format, notes *Notes) []byte {
	out := *c
	out.APIVersion, out.Kind = V1, Kind
	if f == JSON {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(jsonConfig(&out)) // strings, lists and durations: no error is possible
		return b.Bytes()
	}
	var w yamlWriter
	if notes != nil {
		for _, h := range notes.Header {
			w.comment(0, h)
		}
	}
	w.line(0, "apiVersion: "+scalar(out.APIVersion))
	w.line(0, "kind: "+scalar(out.Kind))
	if len(out.Providers) == 0 {
		w.line(0, "providers: []")
		return w.b.Bytes()
	}
	w.line(0, "providers:")
	for _, p := range out.Providers {
		var comments map[int]string
		if notes != nil {
			comments = notes.MatchImages[p.Name]
		}
		w.provider(2, p, comments)
	}
	return w.b.Bytes()
}

// jsonConfig is c with its fields in the order Encode writes YAML.
func jsonConfig(c *Config) any {
	type prov struct {
		Name                 string           `json:"name"`
		APIVersion           string           `json:"apiVersion"`
		MatchImages          []string         `json:"matchImages"`
		DefaultCacheDuration any              `json:"defaultCacheDuration,omitempty"`
		Args                 []string         `json:"args,omitempty"`
		Env                  []EnvVar         `json:"env,omitempty"`
		TokenAttributes      *TokenAttributes `json:"tokenAttributes,omitempty"`
	}
	out := struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Providers  []prov `json:"providers"`
	}{APIVersion: c.APIVersion, Kind: c.Kind, Providers: []prov{}}
	for _, p := range c.Providers {
		q := prov{Name: p.Name, APIVersion: p.APIVersion, MatchImages: p.MatchImages, Args: p.Args, Env: p.Env, TokenAttributes: p.TokenAttributes}
		if q.MatchImages == nil {
			q.MatchImages = []string{}
		}
		if p.DefaultCacheDuration != nil {
			q.DefaultCacheDuration = p.DefaultCacheDuration.Duration.String()
		}
		out.Providers = append(out.Providers, q)
	}
	return out
}

type yamlWriter struct{ b bytes.Buffer }

// provider writes p as an item of the providers list, its dash at column indent, with
// the comment of comments[i] before matchImages item i.
func (w *yamlWriter) provider(indent int, p Provider, comments map[int]string) {
	w.line(indent, "- name: "+scalar(p.Name))
	in := indent + 2
	w.line(in, "apiVersion: "+scalar(p.APIVersion))
	w.list(in, "matchImages", p.MatchImages, comments)
	if p.DefaultCacheDuration != nil {
		w.line(in, "defaultCacheDuration: "+scalar(p.DefaultCacheDuration.Duration.String()))
	}
	w.list(in, "args", p.Args, nil)
	if len(p.Env) > 0 {
		w.line(in, "env:")
		for _, e := range p.Env {
			w.line(in+2, "- name: "+scalar(e.Name))
			w.line(in+4, "value: "+scalar(e.Value))
		}
	}
	if t := p.TokenAttributes; t != nil {
		w.line(in, "tokenAttributes:")
		w.line(in+2, "serviceAccountTokenAudience: "+scalar(t.ServiceAccountTokenAudience))
		if t.RequireServiceAccount != nil {
			w.line(in+2, fmt.Sprintf("requireServiceAccount: %t", *t.RequireServiceAccount))
		}
		w.line(in+2, "cacheType: "+scalar(t.CacheType))
		w.list(in+2, "requiredServiceAccountAnnotationKeys", t.RequiredServiceAccountAnnotationKeys, nil)
		w.list(in+2, "optionalServiceAccountAnnotationKeys", t.OptionalServiceAccountAnnotationKeys, nil)
	}
}

func (w *yamlWriter) line(indent int, s string) {
	w.b.WriteString(strings.Repeat(" ", indent))
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *yamlWriter) comment(indent int, s string) {
	for _, l := range strings.Split(s, "\n") {
		if l == "" {
			w.line(indent, "#")
			continue
		}
		w.line(indent, "# "+l)
	}
}

// list writes key and its items, with the comment of comments[i] before item i; an
// empty list is left out, except matchImages, which the kubelet requires.
func (w *yamlWriter) list(indent int, key string, items []string, comments map[int]string) {
	if len(items) == 0 {
		if key == "matchImages" {
			w.line(indent, key+": []")
		}
		return
	}
	w.line(indent, key+":")
	for i, it := range items {
		if c, ok := comments[i]; ok {
			w.comment(indent+2, c)
		}
		w.line(indent+2, "- "+scalar(it))
	}
}

// scalar writes s as a YAML scalar that reads back as the string s: plain when it is
// a simple word no YAML reader takes for anything else, else double-quoted with JSON's
// escapes (which YAML's double-quoted style shares).
func scalar(s string) string {
	if plain(s) {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// plain reports whether s can be written unquoted: a letter, then letters, digits and
// "-._/", and not a word YAML 1.1 reads as a boolean or null.
func plain(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '/') {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}
