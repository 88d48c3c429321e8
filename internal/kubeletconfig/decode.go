package kubeletconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/internal/quote"
)

// Format is how a file is written.
type Format int

// The formats the kubelet reads.
const (
	YAML Format = iota
	JSON
)

// FormatOf is the format the kubelet reads data in: JSON when it starts (after white
// space) with "{", YAML otherwise.
func FormatOf(data []byte) Format {
	if bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) {
		return JSON
	}
	return YAML
}

// File is one configuration file as read.
type File struct {
	Path   string
	Data   []byte
	Format Format
	// Config is what it holds; nil when it could not be decoded.
	Config *Config
}

// Set is what the kubelet reads from its --image-credential-provider-config: one file,
// or the configuration files of a directory in the order it reads them.
type Set struct {
	// Path is the file or directory.
	Path string
	// Dir reports whether Path is a directory.
	Dir bool
	// Files are the files read, in order.
	Files []*File
}

// Providers lists every provider of the set in the kubelet's order, with the file each
// comes from and its index there.
func (s *Set) Providers() []Located {
	var out []Located
	for _, f := range s.Files {
		if f.Config == nil {
			continue
		}
		for i := range f.Config.Providers {
			out = append(out, Located{Provider: &f.Config.Providers[i], File: f, Index: i})
		}
	}
	return out
}

// Located is a provider with where it was read.
type Located struct {
	*Provider
	File  *File
	Index int
}

// Field is the field path of the provider, or of one of its fields ("matchImages[0]").
func (l Located) Field(sub string) string {
	p := fmt.Sprintf("providers[%d]", l.Index)
	if sub != "" {
		p += "." + sub
	}
	return p
}

// IsConfigFile reports whether the kubelet reads a file of this name in a directory.
func IsConfigFile(name string) bool {
	switch filepath.Ext(name) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// Read reads the kubelet's configuration at path, a file or a directory. It fails with
// one error when path cannot be read (missing, unreadable, a directory without
// configuration files); otherwise the Set holds every file, and the error, an Errors,
// lists what could not be decoded (those files have no Config).
func Read(path string) (*Set, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s := &Set{Path: path, Dir: fi.IsDir()}
	names := []string{path}
	if s.Dir {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		names = nil
		for _, e := range ents {
			if !e.IsDir() && IsConfigFile(e.Name()) {
				names = append(names, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: no configuration files (*.json, *.yaml, *.yml) in the directory", path)
		}
	}
	var errs Errors
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f := &File{Path: name, Data: data, Format: FormatOf(data)}
		c, err := Decode(data)
		if err != nil {
			errs = append(errs, asErrors(err).inFile(name)...)
		} else {
			f.Config = c
		}
		s.Files = append(s.Files, f)
	}
	return s, errs.orNil()
}

func asErrors(err error) Errors {
	var l Errors
	if errors.As(err, &l) {
		return l
	}
	return Errors{{Msg: err.Error()}}
}

// wire types: the file's fields as the kubelet's types have them, durations kept raw so
// that an error in one can name its field.
type (
	wireV1 struct {
		APIVersion string       `json:"apiVersion,omitempty"`
		Kind       string       `json:"kind,omitempty"`
		Providers  []wireV1Prov `json:"providers"`
	}
	wireV1Prov struct {
		Name                 string           `json:"name"`
		MatchImages          []string         `json:"matchImages"`
		DefaultCacheDuration json.RawMessage  `json:"defaultCacheDuration"`
		APIVersion           string           `json:"apiVersion"`
		Args                 []string         `json:"args,omitempty"`
		Env                  []EnvVar         `json:"env,omitempty"`
		TokenAttributes      *TokenAttributes `json:"tokenAttributes,omitempty"`
	}
	wireLegacy struct {
		APIVersion string           `json:"apiVersion,omitempty"`
		Kind       string           `json:"kind,omitempty"`
		Providers  []wireLegacyProv `json:"providers"`
	}
	wireLegacyProv struct {
		Name                 string          `json:"name"`
		MatchImages          []string        `json:"matchImages"`
		DefaultCacheDuration json.RawMessage `json:"defaultCacheDuration"`
		APIVersion           string          `json:"apiVersion"`
		Args                 []string        `json:"args,omitempty"`
		Env                  []EnvVar        `json:"env,omitempty"`
	}
)

// Decode reads one configuration file (YAML or JSON) as the kubelet does, strictly.
// The error is an Errors, each with the field path where there is one.
func Decode(data []byte) (*Config, error) {
	j := data
	format := FormatOf(data)
	if format == YAML {
		var err error
		if j, err = yaml.YAMLToJSON(data); err != nil {
			return nil, Errors{{Msg: "not valid YAML: " + yamlMessage(err)}}
		}
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(j, &meta); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, Errors{{Msg: "not valid JSON: " + syntaxMessage(j, syn)}}
		}
		return nil, Errors{{Msg: fmt.Sprintf("not a %s: want a mapping with apiVersion %s and kind %s", Kind, V1, Kind)}}
	}
	switch {
	case meta.Kind == "":
		return nil, Errors{{Field: "kind", Msg: "missing: want " + Kind}}
	case meta.APIVersion == "":
		return nil, Errors{{Field: "apiVersion", Msg: "missing: want " + V1}}
	case meta.Kind != Kind:
		return nil, Errors{{Field: "kind", Msg: fmt.Sprintf("%s: want %s", quote.String(meta.Kind), Kind)}}
	}
	var wire any
	switch meta.APIVersion {
	case V1:
		wire = &wireV1{}
	case V1beta1, V1alpha1:
		wire = &wireLegacy{}
	default:
		return nil, Errors{{Field: "apiVersion", Msg: fmt.Sprintf("%s: want %s, %s or %s", quote.String(meta.APIVersion), V1, V1beta1, V1alpha1)}}
	}

	var errs Errors
	if format == YAML {
		if _, err := yaml.YAMLToJSONStrict(data); err != nil {
			errs = append(errs, &Error{Msg: yamlMessage(err)})
		}
	}
	strict, err := kjson.UnmarshalStrict(j, wire, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, append(errs, decodeError(j, err))
	}
	for _, s := range strict {
		errs = append(errs, strictError(s, meta.APIVersion))
	}

	var c *Config
	var durations []json.RawMessage
	switch w := wire.(type) {
	case *wireV1:
		c = &Config{APIVersion: w.APIVersion, Kind: w.Kind}
		if w.Providers != nil {
			c.Providers = make([]Provider, len(w.Providers))
		}
		for i, p := range w.Providers {
			c.Providers[i] = Provider{Name: p.Name, MatchImages: p.MatchImages, APIVersion: p.APIVersion,
				Args: p.Args, Env: p.Env, TokenAttributes: p.TokenAttributes}
			durations = append(durations, p.DefaultCacheDuration)
		}
	case *wireLegacy:
		c = &Config{APIVersion: w.APIVersion, Kind: w.Kind}
		if w.Providers != nil {
			c.Providers = make([]Provider, len(w.Providers))
		}
		for i, p := range w.Providers {
			c.Providers[i] = Provider{Name: p.Name, MatchImages: p.MatchImages, APIVersion: p.APIVersion,
				Args: p.Args, Env: p.Env}
			durations = append(durations, p.DefaultCacheDuration)
		}
	}
	for i, raw := range durations {
		d, err := decodeDuration(raw)
		if err != nil {
			errs = append(errs, &Error{Field: fmt.Sprintf("providers[%d].defaultCacheDuration", i), Msg: err.Error()})
			continue
		}
		c.Providers[i].DefaultCacheDuration = d
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// decodeDuration reads a duration as metav1.Duration does: a Go duration string; null
// or absent is none.
func decodeDuration(raw json.RawMessage) (*duration.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf(`want a duration string such as "5m" or "1h", got %s`, jsonKind(raw))
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf(`invalid duration %s: want a duration such as "5m" or "1h"`, quote.String(s))
	}
	return duration.Ptr(d), nil
}

// jsonKind names the JSON type of a value ("a number").
func jsonKind(raw []byte) string {
	switch t := bytes.TrimSpace(raw); {
	case len(t) == 0:
		return "nothing"
	case t[0] == '"':
		return "a string"
	case t[0] == '{':
		return "a mapping"
	case t[0] == '[':
		return "a list"
	case t[0] == 't' || t[0] == 'f':
		return "true or false"
	case t[0] == 'n':
		return "null"
	}
	return "a number"
}

// fieldNames are every field name of the file, in every version.
var fieldNames = [...]string{"apiVersion", "kind", "providers", "name", "matchImages", "defaultCacheDuration",
	"args", "env", "value", "tokenAttributes", "serviceAccountTokenAudience", "cacheType", "requireServiceAccount",
	"requiredServiceAccountAnnotationKeys", "optionalServiceAccountAnnotationKeys"}

// strictError turns one of the strict decoder's complaints into an Error.
func strictError(err error, apiVersion string) *Error {
	msg := err.Error()
	var fe kjson.FieldError
	if errors.As(err, &fe) {
		switch {
		case strings.HasPrefix(msg, "unknown field"):
			path := fe.FieldPath()
			last := path[strings.LastIndexAny(path, ".]")+1:]
			if last == "tokenAttributes" && apiVersion != V1 {
				return &Error{Field: path, Msg: fmt.Sprintf("not a field of apiVersion %s: tokenAttributes needs apiVersion %s", apiVersion, V1)}
			}
			for _, known := range fieldNames {
				if strings.EqualFold(last, known) {
					return &Error{Field: path, Msg: fmt.Sprintf("unknown field: field names are case-sensitive; did you mean %s?", known)}
				}
			}
			return &Error{Field: path, Msg: "unknown field"}
		case strings.HasPrefix(msg, "duplicate field"):
			return &Error{Field: fe.FieldPath(), Msg: "given twice"}
		}
	}
	return &Error{Msg: msg}
}

// decodeError describes a fatal decoding error with its field path and no Go type name.
func decodeError(j []byte, err error) *Error {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		return &Error{Field: pathAt(j, typ.Offset), Msg: fmt.Sprintf("want %s, got %s", describeType(typ.Type), article(typ.Value))}
	case errors.As(err, &syn):
		return &Error{Msg: "not valid JSON: " + syntaxMessage(j, syn)}
	}
	return &Error{Msg: err.Error()}
}

func article(jsonValue string) string {
	switch jsonValue {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "bool":
		return "true or false"
	case "number", "string":
		return "a " + jsonValue
	}
	return jsonValue
}

// describeType says in an operator's words what a field of type t holds.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return "a value"
		}
		return "a list of mappings"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return "another value"
}

// pathAt is the field path ("providers[1].env[0].name") of the JSON value that ends at
// offset, or whose opening bracket does: where the decoder stopped on a type error.
func pathAt(data []byte, offset int64) string {
	type level struct {
		object bool
		key    string
		index  int
		// expectKey: in an object, the next string token is a key.
		expectKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*level
	path := func() string {
		var b strings.Builder
		for _, l := range stack {
			if l.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			} else {
				fmt.Fprintf(&b, "[%d]", l.index)
			}
		}
		return b.String()
	}
	// advance marks a value complete in the enclosing container.
	advance := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.object {
			top.expectKey = true
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		end := dec.InputOffset()
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.object && top.expectKey {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:len(stack)-1]
					advance()
					continue
				}
				top.key, _ = tok.(string)
				top.expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if end == offset {
				return path()
			}
			stack = append(stack, &level{object: tok == json.Delim('{'), expectKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			advance()
			continue
		}
		if end == offset {
			return path()
		}
		advance()
	}
}

// syntaxMessage is a JSON syntax error with its line and column.
func syntaxMessage(data []byte, err *json.SyntaxError) string {
	line, col := 1, 1
	for i := int64(0); i < err.Offset-1 && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %s", line, col, err.Error())
}

// yamlMessage is a YAML library error without the library's prefixes, on one line.
func yamlMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"error converting YAML to JSON: ", "yaml: ", "unmarshal errors:"} {
		msg = strings.TrimPrefix(strings.TrimSpace(msg), p)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	return strings.ReplaceAll(msg, "already set in map", "given twice")
}
