package frontend

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/imagecred/image-credential-provider/internal/textfile"
)

// configCache reads cache.dir and cache.disabled from the plugin's config file without
// a YAML library: linking one costs every replay about 0.2 ms of package initialization,
// an eighth of a process start.
//
// It reads the block-style YAML the documentation shows (and JSON, which is YAML too)
// and gives up (ok false) on anything else: flow mappings, anchors, aliases, tags,
// block scalars, escapes, tabs, several documents, repeated keys. Giving up costs a
// replay, never a wrong answer: a recorded answer's key holds a digest of the config
// file's bytes, so a directory read by mistake holds no answer for this config.
// FuzzConfigCache checks that whenever it answers, a YAML decoder agrees.
func configCache(data []byte) (dir string, disabled, ok bool) {
	data = textfile.StripBOM(data) // as the companions read it
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var file struct {
			Cache *struct {
				Dir      *string `json:"dir"`
				Disabled *bool   `json:"disabled"`
			} `json:"cache"`
		}
		if json.Unmarshal(t, &file) != nil {
			return "", false, false
		}
		if c := file.Cache; c != nil {
			if c.Dir != nil {
				dir = *c.Dir
			}
			if c.Disabled != nil {
				disabled = *c.Disabled
			}
		}
		return dir, disabled, true
	}
	var (
		inCache     bool // the lines read belong to the top-level cache mapping
		childIndent = -1 // the indentation of cache's keys, once seen
		seenTop     = map[string]bool{}
		seenChild   = map[string]bool{}
		first       = true // no content line yet: a leading "---" is allowed
		text        = string(data)
	)
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimSuffix(line, "\r")
		if strings.ContainsRune(line, '\t') {
			return "", false, false
		}
		content := strings.TrimLeft(line, " ")
		if content == "" || content[0] == '#' {
			continue
		}
		if first && strings.TrimRight(content, " ") == "---" && len(content) == len(line) {
			first = false
			continue
		}
		first = false
		indent := len(line) - len(content)
		key, val, ok := keyValue(content)
		if !ok {
			return "", false, false
		}
		if (strings.EqualFold(key, "cache") && key != "cache") || (inCache && indent > 0 &&
			(strings.EqualFold(key, "dir") && key != "dir" || strings.EqualFold(key, "disabled") && key != "disabled")) {
			return "", false, false // the plugin's decoder matches keys without regard to case
		}
		if indent == 0 {
			if key == "-" || seenTop[key] {
				return "", false, false
			}
			seenTop[key] = true
			inCache = key == "cache"
			if inCache && val != "" {
				return "", false, false // cache: {dir: ...} or cache: null
			}
			if !inCache && val == "" {
				// A nested mapping or list under another key: its lines are skipped
				// below, as long as they are plain enough to be read safely.
				continue
			}
			if !otherValue(val) {
				return "", false, false
			}
			continue
		}
		if !inCache {
			// Lines under another top-level key: only their form matters.
			if !otherValue(val) {
				return "", false, false
			}
			continue
		}
		if childIndent == -1 {
			childIndent = indent
		}
		if indent != childIndent || key == "-" {
			return "", false, false // deeper nesting under cache: not ours to read
		}
		if seenChild[key] {
			return "", false, false
		}
		seenChild[key] = true
		v, ok := scalar(val)
		if !ok {
			return "", false, false
		}
		switch key {
		case "dir":
			if v.plain && (v.s == "~" || strings.EqualFold(v.s, "null")) {
				return "", false, false
			}
			dir = v.s
		case "disabled":
			switch {
			case v.plain && (v.s == "true" || v.s == "True" || v.s == "TRUE"):
				disabled = true
			case v.plain && (v.s == "false" || v.s == "False" || v.s == "FALSE"):
				disabled = false
			default:
				return "", false, false
			}
		}
	}
	return dir, disabled, true
}

// keyValue splits "key: value" (or "key:"), key a plain word; a list item ("- x") is
// returned as key "-" so its form is still checked.
func keyValue(content string) (key, val string, ok bool) {
	if strings.HasPrefix(content, "- ") || content == "-" {
		item := strings.TrimSpace(strings.TrimPrefix(content, "-"))
		if _, v, ok := keyValue(item); ok && item != "" && item[0] != '-' {
			return "-", v, true // "- key: value", the first key of a mapping in a list
		}
		return "-", item, true
	}
	i := strings.Index(content, ":")
	if i <= 0 {
		return "", "", false
	}
	key = content[:i]
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "", "", false
		}
	}
	rest := content[i+1:]
	if rest != "" && rest[0] != ' ' {
		return "", "", false
	}
	val = strings.TrimSpace(rest)
	if strings.HasPrefix(val, "#") {
		val = ""
	}
	return key, val, true
}

// otherValue reports whether val, the value of a key that is not cache's, is plain
// enough not to change how the lines around it read: a one-line scalar, or a one-line
// flow list of plain words such as the documented `backends: [static, ecr]` or
// `files: [C:\k\config.json]` (a colon inside a word, as in a Windows path, is part
// of it; one that ends a word would start a mapping).
func otherValue(val string) bool {
	if strings.HasPrefix(val, "[") {
		if i := strings.Index(val, " #"); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		inner, ok := strings.CutSuffix(val[1:], "]")
		if !ok || strings.ContainsAny(inner, "[]{}'\"#&*!|>?%@`") {
			return false
		}
		for _, item := range strings.Split(inner, ",") {
			item = strings.TrimSpace(item)
			if strings.HasPrefix(item, ":") || strings.HasSuffix(item, ":") || strings.Contains(item, ": ") {
				return false
			}
		}
		return true
	}
	_, ok := scalar(val)
	return ok
}

type scalarValue struct {
	s     string
	plain bool // unquoted
}

// scalar reads a one-line scalar: plain (a trailing " #" comment cut), 'single' or
// "double" quoted without escapes. Anything YAML could read another way is refused.
func scalar(val string) (scalarValue, bool) {
	if val == "" {
		return scalarValue{plain: true}, true
	}
	switch val[0] {
	case '\'', '"':
		q := val[0]
		end := strings.IndexByte(val[1:], q)
		if end < 0 {
			return scalarValue{}, false
		}
		s, rest := val[1:1+end], strings.TrimSpace(val[2+end:])
		if strings.ContainsRune(s, '\\') || (q == '\'' && strings.HasPrefix(rest, "'")) {
			return scalarValue{}, false // escapes, or '' inside single quotes
		}
		if rest != "" && rest[0] != '#' {
			return scalarValue{}, false
		}
		return scalarValue{s: s}, true
	case '&', '*', '!', '|', '>', '{', '[', '%', '@', '`', '?', ':', ',', '#', '-':
		return scalarValue{}, false
	}
	if i := strings.Index(val, " #"); i >= 0 {
		val = strings.TrimSpace(val[:i])
	}
	if strings.Contains(val, ": ") || strings.ContainsAny(val, "\"'") {
		return scalarValue{}, false
	}
	return scalarValue{s: val, plain: true}, true
}
