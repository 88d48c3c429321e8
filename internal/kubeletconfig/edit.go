package kubeletconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/imagecred/image-credential-provider/internal/quote"
)

// Edit returns data, an existing YAML configuration file, with p in place as Merge
// puts it, changing nothing else: every byte outside p's entry is kept, so are the
// file's comments, its other providers as written (their key order, quoting, flow
// lists, YAML aliases) and its apiVersion. p's entry is written as Encode writes it,
// with comments[i] before matchImages item i; it replaces the lines of the entry of
// the same name where it stands, or is added after the last provider. The one other
// change: when p needs apiVersion v1 (tokenAttributes) and the file is in an older
// version, the file's apiVersion value becomes v1 where it stands.
//
// Edit checks its result: it reads back to exactly the providers Merge gives. When
// the file does not allow such an edit (JSON, a providers list in flow style, an
// entry of p's name using YAML aliases, several documents) or the result would not
// read back so, Edit returns an error that says why, and the caller writes the file
// anew with Encode.
func Edit(data []byte, p Provider, comments map[int]string) ([]byte, error) {
	if FormatOf(data) == JSON {
		return nil, errors.New("it is JSON")
	}
	old, err := Decode(data)
	if err != nil {
		return nil, err
	}
	seq, root, err := providerList(data)
	if err != nil {
		return nil, err
	}
	version := old.APIVersion
	if p.TokenAttributes != nil && version != V1 {
		// One value changes on its line: the lines of the providers stay where they are.
		if data, err = setAPIVersion(data, root); err != nil {
			return nil, err
		}
		version = V1
	}
	lines := splitLines(data)
	crlf := bytes.Contains(data, []byte("\r\n"))

	at := -1
	for i, item := range seq.Content {
		if nameOf(item) == p.Name {
			at = i
			break
		}
	}
	var w yamlWriter
	w.provider(seq.Column-1, p, comments)
	entry := w.b.Bytes()

	var start, end int // the lines replaced, 0-based, end excluded
	if at >= 0 {
		if usesAliases(seq.Content[at]) {
			return nil, fmt.Errorf("its entry %s uses YAML aliases (&name, *name)", quote.String(p.Name))
		}
		if start, err = dashLine(lines, seq, seq.Content[at]); err != nil {
			return nil, err
		}
		if end, err = entryEnd(lines, seq, at, start); err != nil {
			return nil, err
		}
	} else {
		last := len(seq.Content) - 1
		first, err := dashLine(lines, seq, seq.Content[last])
		if err != nil {
			return nil, err
		}
		if end, err = entryEnd(lines, seq, last, first); err != nil {
			return nil, err
		}
		start = end
		if end > 0 && !bytes.HasSuffix(lines[end-1], []byte("\n")) {
			// The file ends without a newline after its last provider.
			entry = append([]byte("\n"), entry...)
		}
	}
	if crlf {
		entry = bytes.ReplaceAll(entry, []byte("\n"), []byte("\r\n"))
	}

	var out bytes.Buffer
	for _, l := range lines[:start] {
		out.Write(l)
	}
	out.Write(entry)
	for _, l := range lines[end:] {
		out.Write(l)
	}
	result := out.Bytes()

	// The result holds exactly what Merge gives, in the file's apiVersion.
	got, err := Decode(result)
	if err != nil {
		return nil, fmt.Errorf("edited in place it would not read back: %w", err)
	}
	want, _ := Merge(old, p)
	if got.APIVersion != version || got.Kind != Kind || !bytes.Equal(Encode(got, YAML, nil), Encode(want, YAML, nil)) {
		return nil, errors.New("edited in place it would not read back to the same providers")
	}
	return result, nil
}

// providerList parses data and returns its providers list, which must be a block
// sequence, and the root mapping.
func providerList(data []byte) (seq, root *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("its YAML cannot be edited in place: %s", yamlMessage(err))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("it holds several YAML documents")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || doc.Content[0].Style&yaml.FlowStyle != 0 {
		return nil, nil, errors.New("its top level is not a block mapping")
	}
	root = doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "providers" {
			continue
		}
		seq = root.Content[i+1]
		if seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || len(seq.Content) == 0 {
			return nil, nil, errors.New("its providers are not a list in block style (one \"- name: ...\" entry after another)")
		}
		return seq, root, nil
	}
	return nil, nil, errors.New("it has no providers list")
}

// nameOf is the name of a provider entry, "" when it has none.
func nameOf(item *yaml.Node) string {
	if item.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == "name" && item.Content[i+1].Kind == yaml.ScalarNode {
			return item.Content[i+1].Value
		}
	}
	return ""
}

// usesAliases reports whether n or a node under it is an alias (*name) or is named
// for one (&name).
func usesAliases(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return true
	}
	for _, c := range n.Content {
		if usesAliases(c) {
			return true
		}
	}
	return false
}

// splitLines splits data after each "\n"; the last line may lack one.
func splitLines(data []byte) [][]byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// isDash reports whether line is an item of a block sequence whose dashes are at
// column col (0-based): col spaces, "-", then a space or the line's end.
func isDash(line []byte, col int) bool {
	if len(line) <= col || strings.TrimLeft(string(line[:col]), " ") != "" || line[col] != '-' {
		return false
	}
	rest := line[col+1:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

// dashLine is the line (0-based) of item's dash in seq: the item's own line, or one
// before it with only blank and comment lines between.
func dashLine(lines [][]byte, seq, item *yaml.Node) (int, error) {
	col := seq.Column - 1
	for l := item.Line - 1; l >= 0 && l < len(lines); l-- {
		if isDash(lines[l], col) {
			return l, nil
		}
		if l < item.Line-1 && !isBlankOrComment(lines[l]) {
			break
		}
	}
	return 0, fmt.Errorf("the entry at line %d cannot be edited in place: its \"-\" was not found", item.Line)
}

// entryEnd is the line (0-based) after the last line of item i of seq, whose dash is
// on line first: the next item's dash line, else the next line indented no more than
// the dashes (a key of the top level, a document marker), else the file's end;
// without the blank lines and the comment lines indented no more than the item's keys
// before it, which belong to what follows. (A line indented more is the item's: a
// comment on its last field, or the content of a block scalar ("|") that looks like
// one.)
func entryEnd(lines [][]byte, seq *yaml.Node, i, first int) (int, error) {
	end := len(lines)
	if i+1 < len(seq.Content) {
		next, err := dashLine(lines, seq, seq.Content[i+1])
		if err != nil {
			return 0, err
		}
		end = next
	} else {
		for l := first + 1; l < len(lines); l++ {
			if !isBlankOrComment(lines[l]) && indent(lines[l]) <= seq.Column-1 {
				end = l
				break
			}
		}
	}
	keys := seq.Content[i].Column - 1
	for end > first+1 && isBlankOrComment(lines[end-1]) && (isBlank(lines[end-1]) || indent(lines[end-1]) <= keys) {
		end--
	}
	return end, nil
}

// indent is the number of spaces line starts with.
func indent(line []byte) int { return len(line) - len(bytes.TrimLeft(line, " ")) }

func isBlank(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }

func isBlankOrComment(line []byte) bool {
	t := bytes.TrimLeft(line, " \t")
	return len(t) == 0 || t[0] == '#' || t[0] == '\n' || t[0] == '\r'
}

// setAPIVersion replaces the value of the top-level apiVersion of data, where it
// stands and in its quoting, with V1.
func setAPIVersion(data []byte, root *yaml.Node) ([]byte, error) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "apiVersion" {
			continue
		}
		v := root.Content[i+1]
		lines := splitLines(data)
		if v.Kind != yaml.ScalarNode || v.Line < 1 || v.Line > len(lines) {
			break
		}
		line := lines[v.Line-1]
		// Column counts characters; what precedes the value on its line is the key,
		// spaces and a colon, all ASCII unless the key is quoted oddly.
		at := v.Column - 1
		if at > len(line) || !isASCII(line[:at]) {
			break
		}
		for _, q := range []string{"", `"`, `'`} {
			if bytes.HasPrefix(line[at:], []byte(q+v.Value+q)) {
				var out bytes.Buffer
				for _, l := range lines[:v.Line-1] {
					out.Write(l)
				}
				out.Write(line[:at])
				out.WriteString(q + V1 + q)
				out.Write(line[at+len(q+v.Value+q):])
				for _, l := range lines[v.Line:] {
					out.Write(l)
				}
				return out.Bytes(), nil
			}
		}
		break
	}
	return nil, errors.New("its apiVersion, which must become " + V1 + " for tokenAttributes, cannot be edited in place")
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
