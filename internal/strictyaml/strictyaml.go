// Package strictyaml reads a configuration file, YAML or JSON, into a Go struct by
// the struct's json tags, and says where and what is wrong when it cannot:
//
//	3:13: cache.disabled: want true or false, got 3
//	5:3: ecr.regsitries: unknown field (did you mean registries?); allowed here: profile, roleARN, ...
//
// Guarantees: every error is an *Error that carries the line (and, but for a few
// syntax errors, the column) of the place in the file it is about and the path of the
// field; an error names what the file may hold there, never a Go type; unknown fields
// and fields given twice are errors (unless Options say otherwise); a document is
// read in time and memory bounded by its size, aliases included; Decode never panics.
//
// The document is parsed with go.yaml.in/yaml/v3 into a node tree, which keeps the
// position of every key and value, and the tree is then walked against the target
// type. JSON is read by the same parser (a JSON document is a YAML document); a JSON
// syntax error is reported at the line and column encoding/json finds it.
package strictyaml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/imagecred/image-credential-provider/internal/quote"
)

// Options change what Decode accepts and prints.
type Options struct {
	// IgnoreUnknown skips fields the target does not have instead of refusing them
	// (for files shared with other programs, such as azure.json).
	IgnoreUnknown bool
	// HideValues keeps the file's values out of errors: an error says what kind of
	// value it found ("got a number"), not the value (for files that hold secrets).
	HideValues bool
}

// Error is one problem at one place in a document.
type Error struct {
	// Line and Column are 1-based; Column is 0 when the parser did not say (some
	// YAML syntax errors).
	Line, Column int
	// Path is the field path ("cache.disabled", "ecr.registries[0].region"); empty for
	// the document itself.
	Path string
	// Msg says what is wrong and what is allowed.
	Msg string
}

// Error is "line:column: path: msg", without the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Line))
	if e.Column > 0 {
		b.WriteString(":" + strconv.Itoa(e.Column))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Pos is a place in a document.
type Pos struct{ Line, Column int }

// Positions maps the path of every field the document sets (as in Error.Path) to the
// position of its value, so that a caller checking the values afterwards can point at
// them.
type Positions map[string]Pos

// Errorf is an *Error at the position of path, or at the top of the document when the
// document does not set path.
func (p Positions) Errorf(path, format string, args ...any) *Error {
	pos, ok := p[path]
	if !ok {
		pos = Pos{1, 1}
	}
	return &Error{Line: pos.Line, Column: pos.Column, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Limits on what one document may make the decoder do.
const (
	// maxDepth bounds nesting, aliases included.
	maxDepth = 64
	// minBudget is the least number of nodes a document may expand to; a document
	// may expand to eight times its size, whatever aliases it uses.
	minBudget = 10000
)

// Decode reads the one document in data into v, which must be a non-nil pointer to a
// struct, and returns where each field it set was. An empty document leaves v as it
// is. Every error is an *Error.
func Decode(data []byte, v any, opts Options) (Positions, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, errors.New("strictyaml: Decode needs a non-nil pointer")
	}
	if err := checkText(data); err != nil {
		return nil, err
	}
	root, err := parse(data)
	if err != nil || root == nil {
		return Positions{}, err
	}
	d := &decoder{opts: opts, pos: Positions{}, budget: max(minBudget, 8*len(data))}
	if err := d.value(root, rv.Elem(), "", 0); err != nil {
		return nil, err
	}
	return d.pos, nil
}

// checkText refuses what YAML parsers reject without saying where (invalid UTF-8,
// control characters) and the line separators that only some programs count.
func checkText(data []byte) error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Error{Line: line, Column: col, Msg: "not UTF-8 text"}
		case r == '\n', r == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r >= 0x7f && r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfffe, r == 0xffff:
			// U+0085, U+2028 and U+2029 end a line for the YAML parser and for few
			// editors: refused, so that line numbers mean the same to both.
			return &Error{Line: line, Column: col, Msg: fmt.Sprintf("control character %U is not allowed", r)}
		}
		i += size
		col++
	}
	return nil
}

// parse reads the one document of data; nil when there is none.
func parse(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(data, err)
	}
	var next yaml.Node
	switch err := safeDecode(dec, &next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(data, err)
	default:
		return nil, &Error{Line: max(next.Line, 1), Column: next.Column, Msg: "a second document (---): the file holds one"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// safeDecode is dec.Decode, with a panic of the parser turned into an error.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

// syntaxError places a parser error: at encoding/json's line and column for a
// document that is meant to be JSON, else at the line the YAML parser names.
func syntaxError(data []byte, err error) *Error {
	if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		var v any
		var syn *json.SyntaxError
		if jerr := json.Unmarshal(data, &v); errors.As(jerr, &syn) {
			at, msg := int(syn.Offset)-1, "malformed JSON"
			if strings.Contains(syn.Error(), "unexpected end") {
				at, msg = len(data), "malformed JSON: it ends too early"
			}
			line, col := lineCol(data, at)
			return &Error{Line: line, Column: col, Msg: msg}
		}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	if line < 1 {
		// Errors without a line (an alias of an unknown anchor, ...) are about the document as a
		// whole as far as the parser says; point at its start.
		line = 1
	}
	if last := bytes.Count(data, []byte{'\n'}) + 1; line > last {
		line = last
	}
	return &Error{Line: line, Msg: "not valid YAML: " + msg}
}

// lineCol is the 1-based line and column of the byte at index i (len(data): the end).
func lineCol(data []byte, i int) (line, col int) {
	before := data[:min(max(i, 0), len(data))]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

type decoder struct {
	opts   Options
	pos    Positions
	budget int
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) *Error {
	return &Error{Line: max(n.Line, 1), Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// value decodes n into v.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, depth int) error {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || depth >= maxDepth {
			return d.errorf(n, path, "aliases nested too deeply")
		}
		n, depth = n.Alias, depth+1
	}
	if depth >= maxDepth {
		return d.errorf(n, path, "nested too deeply")
	}
	if d.budget--; d.budget < 0 {
		return d.errorf(n, path, "the document expands to too many values (aliases?)")
	}
	if path != "" {
		d.pos[path] = Pos{max(n.Line, 1), n.Column}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return nil
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		raw, err := d.toJSON(n, path, depth)
		if err != nil {
			return err
		}
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			return d.errorf(n, path, "%s", err.Error())
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.value(n, v.Elem(), path, depth)
	case reflect.Struct:
		return d.structValue(n, v, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			want := "a list"
			if et := v.Type().Elem(); et.Kind() == reflect.Struct && !reflect.PointerTo(et).Implements(unmarshalerType) {
				want = "a list of mappings of " + listNames(fieldsOf(et), 6)
			}
			return d.mismatch(n, path, want)
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		return d.mapValue(n, v, path, depth)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!binary" {
			return d.mismatch(n, path, "text")
		}
		// Plain numbers and words are text where text is wanted (an account id
		// written as 123456789012).
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		b, ok := boolean(n)
		if !ok {
			return d.mismatch(n, path, "true or false")
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, v.Type().Bits())
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
			return d.mismatch(n, path, "a whole number")
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.Value, 0, v.Type().Bits())
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil {
			return d.mismatch(n, path, "a whole number, 0 or more")
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		tag := n.ShortTag()
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), v.Type().Bits())
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || err != nil {
			return d.mismatch(n, path, "a number")
		}
		v.SetFloat(f)
		return nil
	}
	return d.errorf(n, path, "cannot be set from a file")
}

// structValue decodes a mapping into the struct v, field by field, by json tag.
func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string, depth int) error {
	fields := fieldsOf(v.Type())
	if n.Kind != yaml.MappingNode {
		return d.mismatch(n, path, "a mapping of "+listNames(fields, 6))
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name, err := d.key(key, path, depth)
		if err != nil {
			return err
		}
		sub := join(path, name)
		if first, dup := seen[name]; dup {
			return d.errorf(key, sub, "set twice (first on line %d)", first.Line)
		}
		seen[name] = key
		f, ok := fields[name]
		if !ok {
			if d.opts.IgnoreUnknown {
				continue
			}
			msg := "unknown field"
			if s := suggest(name, fields); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			return d.errorf(key, sub, "%s; allowed here: %s", msg, listNames(fields, 0))
		}
		if err := d.value(val, fieldByIndex(v, f.index), sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// mapValue decodes a mapping into the map v (string keys).
func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yaml.MappingNode {
		return d.mismatch(n, path, "a mapping")
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.errorf(n, path, "cannot be set from a file")
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name, err := d.key(key, path, depth)
		if err != nil {
			return err
		}
		sub := path + "[" + quote.String(name) + "]"
		if first, dup := seen[name]; dup {
			return d.errorf(key, sub, "set twice (first on line %d)", first.Line)
		}
		seen[name] = key
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.value(val, elem, sub, depth+1); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(name).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
	return nil
}

// key reads a mapping key: a plain name.
func (d *decoder) key(key *yaml.Node, path string, depth int) (string, error) {
	for key.Kind == yaml.AliasNode && key.Alias != nil && depth < maxDepth {
		key, depth = key.Alias, depth+1
	}
	if key.Kind != yaml.ScalarNode {
		return "", d.errorf(key, path, "a key must be a name, not %s", d.describe(key))
	}
	if key.ShortTag() == "!!merge" {
		return "", d.errorf(key, path, "merge keys (<<) are not supported; write the fields out")
	}
	return key.Value, nil
}

// mismatch is the error for a value of the wrong kind.
func (d *decoder) mismatch(n *yaml.Node, path, want string) *Error {
	return d.errorf(n, path, "want %s, got %s", want, d.describe(n))
}

// describe says what n is, for an error: its kind, and the value of a scalar unless
// values are hidden.
func (d *decoder) describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if !d.opts.HideValues {
			switch n.ShortTag() {
			case "!!int", "!!float", "!!bool":
				if n.Style == 0 && len(n.Value) <= 64 {
					return n.Value
				}
			case "!!null":
				return "nothing"
			}
			return quote.String(n.Value)
		}
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "true or false"
		case "!!null":
			return "nothing"
		}
		return "text"
	}
	return "an alias"
}

// toJSON renders n as JSON, for a type that reads itself from JSON.
func (d *decoder) toJSON(n *yaml.Node, path string, depth int) ([]byte, error) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || depth >= maxDepth {
			return nil, d.errorf(n, path, "aliases nested too deeply")
		}
		n, depth = n.Alias, depth+1
	}
	if depth >= maxDepth {
		return nil, d.errorf(n, path, "nested too deeply")
	}
	if d.budget--; d.budget < 0 {
		return nil, d.errorf(n, path, "the document expands to too many values (aliases?)")
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return []byte("null"), nil
		case "!!bool":
			if b, ok := boolean(n); ok {
				return strconv.AppendBool(nil, b), nil
			}
		case "!!int", "!!float":
			if json.Valid([]byte(n.Value)) {
				return []byte(n.Value), nil
			}
		}
		return json.Marshal(n.Value)
	case yaml.SequenceNode:
		var b bytes.Buffer
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			raw, err := d.toJSON(item, path, depth+1)
			if err != nil {
				return nil, err
			}
			b.Write(raw)
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	case yaml.MappingNode:
		var b bytes.Buffer
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			name, err := d.key(n.Content[i], path, depth)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(name)
			b.Write(k)
			b.WriteByte(':')
			raw, err := d.toJSON(n.Content[i+1], path, depth+1)
			if err != nil {
				return nil, err
			}
			b.Write(raw)
		}
		b.WriteByte('}')
		return b.Bytes(), nil
	}
	return nil, d.errorf(n, path, "cannot read %s here", d.describe(n))
}

// boolean reads a plain true/false; the YAML 1.1 words (yes, no, on, off) too, as
// sigs.k8s.io/yaml and so the kubelet's own configuration files accept them.
func boolean(n *yaml.Node) (value, ok bool) {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return false, false
	}
	switch n.Value {
	case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
		return true, true
	case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N":
		return false, true
	}
	return false, false
}

// field is one settable struct field.
type field struct {
	name  string
	index []int
}

// fieldsOf lists the fields of t as encoding/json sees them: by json tag name, else
// the Go name; "-" and unexported fields left out; embedded structs inlined.
func fieldsOf(t reflect.Type) map[string]field {
	out := map[string]field{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				walk(ft, idx)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if _, taken := out[name]; !taken {
				out[name] = field{name: name, index: idx}
			}
		}
	}
	walk(t, nil)
	return out
}

// fieldByIndex is v.FieldByIndex, allocating embedded pointers on the way.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// listNames lists the field names in declaration order, at most limit of them (0: all).
func listNames(fields map[string]field, limit int) string {
	all := make([]field, 0, len(fields))
	for _, f := range fields {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].index, all[j].index
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	names := make([]string, 0, len(all))
	for _, f := range all {
		names = append(names, f.name)
	}
	if limit > 0 && len(names) > limit {
		return strings.Join(names[:limit], ", ") + ", ..."
	}
	return strings.Join(names, ", ")
}

// suggest is the known field name closest to name, when it is close enough to be a
// typo: the same but for case, or at most two edits away.
func suggest(name string, fields map[string]field) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k), bestDist); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is at least
// limit.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

// join is the path of field name below path: "path.name", or path["name"] (quoted,
// escaped) for a name that is not a plain word.
func join(path, name string) string {
	plain := name != ""
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	switch {
	case !plain:
		return path + "[" + quote.String(name) + "]"
	case path == "":
		return name
	}
	return path + "." + name
}
