package dockercfg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/imagecred/image-credential-provider/internal/quote"
)

// File is one parsed docker config file.
type File struct {
	// Path names the file in errors and in the get command's output.
	Path string
	// Auths are the credential entries, sorted by Key. In a file read by the static
	// backend, an entry that cannot be decoded is kept with Err set (Parse fails
	// instead).
	Auths []Entry
	// CredHelpers maps a registry (as docker writes it: "gcr.io",
	// "https://index.docker.io/v1/") to a credential helper name ("gcloud" runs
	// docker-credential-gcloud). Only config.json has them.
	CredHelpers map[string]string
	// BadCredHelpers maps a credHelpers registry whose value is not a helper name to
	// why; such an entry still claims its registry (docker would not use credsStore
	// there), but no helper can be run for it. Never set by Parse, which fails instead.
	BadCredHelpers map[string]error
	// CredsStore is the helper for every registry without a CredHelpers entry.
	CredsStore string
	// Problems are parts of the file that could not be read and that belong to no
	// single registry: a "credsStore" that is not a helper name, a "credHelpers" that
	// is not an object. The kubelet ignores both, so the file's auths are still used.
	// Never set by Parse, which fails instead.
	Problems []error
}

// Entry is one credential entry of a docker config file.
type Entry struct {
	// Key is the entry's key as written in the file ("https://index.docker.io/v1/",
	// "*.my-registry.example/images").
	Key string
	// Username and Password, from "auth" when it is set, else from "username" and
	// "password". Both may be empty (docker writes empty entries for credsStore logins).
	Username, Password string
	// Err says why the entry cannot be used (its "auth" does not decode, it is not an
	// object, a field is not a string), without any of its values; it is nil for a
	// usable entry. Never set by Parse, which fails instead.
	Err error
}

// Empty reports whether the entry holds no credentials at all.
func (e Entry) Empty() bool { return e.Username == "" && e.Password == "" }

// configJSONKeys are top-level keys of docker's config.json; a file with none of them
// is read as a legacy .dockercfg (a bare map of registry to entry).
var configJSONKeys = []string{
	"auths", "credHelpers", "credsStore", "HttpHeaders", "psFormat", "imagesFormat",
	"detachKeys", "currentContext", "proxies", "plugins", "cliPluginsExtraDirs",
	"aliases", "features", "experimental", "stackOrchestrator", "kubernetes",
}

// Parse reads a docker config file of either format, as strictly as the kubelet: any
// part that cannot be decoded (an entry's "auth", a credential helper name) makes the
// whole file an error. A file named ".dockercfg" is the legacy bare map, as is any
// other file without a config.json top-level key such as "auths", "credHelpers" or
// "credsStore"; everything else is config.json. path only names the file in errors,
// as written. Errors never contain a secret, not even a fragment of a malformed value.
func Parse(path string, data []byte) (*File, error) {
	f, err := parsePartial(path, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.firstBroken(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ParseConfigJSON reads docker's config.json ({"auths": {...}, "credHelpers": {...},
// "credsStore": "..."}, other keys ignored) as strictly as Parse.
func ParseConfigJSON(path string, data []byte) (*File, error) {
	return strict(path, parseConfigJSON, data)
}

// ParseLegacy reads the legacy .dockercfg format, a bare map of registry to entry, as
// strictly as Parse.
func ParseLegacy(path string, data []byte) (*File, error) {
	return strict(path, parseLegacy, data)
}

func strict(path string, parse func(string, []byte) (*File, error), data []byte) (*File, error) {
	f, err := parse(path, data)
	if err == nil {
		err = f.firstBroken()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// firstBroken is the first part of f that could not be decoded, in a stable order:
// entries by key, then credHelpers by registry, then the file-wide problems.
func (f *File) firstBroken() error {
	for _, e := range f.Auths {
		if e.Err != nil {
			return fmt.Errorf("entry %s: %w", quoteKey(e.Key), e.Err)
		}
	}
	regs := make([]string, 0, len(f.BadCredHelpers))
	for reg := range f.BadCredHelpers {
		regs = append(regs, reg)
	}
	sort.Strings(regs)
	if len(regs) > 0 {
		return fmt.Errorf("credHelpers entry %s: %w", quoteKey(regs[0]), f.BadCredHelpers[regs[0]])
	}
	if len(f.Problems) > 0 {
		return f.Problems[0]
	}
	return nil
}

// parsePartial reads what it can of a docker config file of either format (see
// Parse). It fails only when the file as a whole cannot be read, as the kubelet
// would fail it: not JSON, not an object, "auths" not an object. A part the kubelet
// would also refuse, an entry that cannot be decoded, is kept with Entry.Err set;
// parts the kubelet ignores (credHelpers, credsStore) are kept in BadCredHelpers and
// Problems. Errors do not name the file.
func parsePartial(path string, data []byte) (*File, error) {
	if filepath.Base(path) == ".dockercfg" {
		return parseLegacy(path, data)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, errors.New(describeFileError(data, err))
	}
	for k := range top {
		for _, known := range configJSONKeys {
			if strings.EqualFold(k, known) {
				return parseConfigJSON(path, data)
			}
		}
	}
	if len(top) == 0 {
		return &File{Path: path}, nil
	}
	return parseLegacy(path, data)
}

func parseConfigJSON(path string, data []byte) (*File, error) {
	var top struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredHelpers json.RawMessage            `json:"credHelpers"`
		CredsStore  json.RawMessage            `json:"credsStore"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, errors.New(describeJSONError(err, "a JSON object"))
	}
	f := parseAuths(path, top.Auths)
	if len(top.CredHelpers) > 0 {
		var helpers map[string]json.RawMessage
		if err := json.Unmarshal(top.CredHelpers, &helpers); err != nil {
			f.Problems = append(f.Problems, fmt.Errorf("credHelpers: %s", describeJSONError(err, "an object")))
		}
		for reg, raw := range helpers {
			var name string
			err := json.Unmarshal(raw, &name)
			if err != nil {
				err = errors.New(describeJSONError(err, "a helper name"))
			} else {
				err = checkHelperName(name)
			}
			if err != nil {
				if f.BadCredHelpers == nil {
					f.BadCredHelpers = map[string]error{}
				}
				f.BadCredHelpers[reg] = err
				continue
			}
			if f.CredHelpers == nil {
				f.CredHelpers = map[string]string{}
			}
			f.CredHelpers[reg] = name
		}
	}
	if len(top.CredsStore) > 0 {
		var name string
		err := json.Unmarshal(top.CredsStore, &name)
		if err != nil {
			err = errors.New(describeJSONError(err, "a helper name"))
		} else if name != "" {
			err = checkHelperName(name)
		}
		if err != nil {
			f.Problems = append(f.Problems, fmt.Errorf("credsStore: %w", err))
		} else {
			f.CredsStore = name
		}
	}
	return f, nil
}

func parseLegacy(path string, data []byte) (*File, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, errors.New(describeFileError(data, err))
	}
	return parseAuths(path, top), nil
}

func parseAuths(path string, auths map[string]json.RawMessage) *File {
	f := &File{Path: path}
	for key, raw := range auths {
		e, err := parseEntry(key, raw)
		if err != nil {
			e = Entry{Key: key, Err: err}
		}
		f.Auths = append(f.Auths, e)
	}
	sort.Slice(f.Auths, func(i, j int) bool { return f.Auths[i].Key < f.Auths[j].Key })
	return f
}

// parseEntry decodes one entry. As in the kubelet, field names are matched without
// regard to case, unknown fields (identitytoken, ...) are ignored, "email" must be a
// string if present, and a non-empty "auth" overrides "username" and "password".
func parseEntry(key string, raw json.RawMessage) (Entry, error) {
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Email    string `json:"email"`
		Auth     string `json:"auth"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return Entry{}, errors.New(describeJSONError(err, "an object"))
	}
	e := Entry{Key: key, Username: v.Username, Password: v.Password}
	if v.Auth != "" {
		var err error
		if e.Username, e.Password, err = DecodeAuth(v.Auth); err != nil {
			return Entry{}, err
		}
	}
	return e, nil
}

// DecodeAuth decodes an "auth" value, base64 of "username:password", the way the
// kubelet does: a value ending in "=" is padded base64, any other unpadded; the text is
// split at the first ":". Unlike the kubelet, surrounding white space is ignored. The
// error never contains the value.
func DecodeAuth(auth string) (username, password string, err error) {
	s := strings.TrimSpace(auth)
	enc := base64.RawStdEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return "", "", fmt.Errorf(`"auth" is not valid base64 (bad input at byte %d of %d)`, int64(corrupt), len(s))
		}
		return "", "", errors.New(`"auth" is not valid base64`)
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", errors.New(`"auth" does not decode to username:password (no ":")`)
	}
	return user, pass, nil
}

// describeJSONError says what is wrong without quoting the input: encoding/json's
// syntax errors quote the offending character, which may belong to a secret.
func describeJSONError(err error, want string) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax) && strings.Contains(syntax.Error(), "unexpected end"):
		return "malformed JSON (empty or truncated)"
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %s holds a JSON %s, want %s", quote.String(typ.Field), typ.Value, jsonKind(typ.Type))
		}
		return fmt.Sprintf("holds a JSON %s, want %s", typ.Value, want)
	}
	return "malformed JSON"
}

// describeFileError is describeJSONError for a whole file, data, whose syntax errors
// are placed by line and column.
func describeFileError(data []byte, err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) && !strings.Contains(syntax.Error(), "unexpected end") {
		before := data[:min(max(int(syntax.Offset)-1, 0), len(data))]
		line := bytes.Count(before, []byte{'\n'}) + 1
		col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
		return fmt.Sprintf("malformed JSON at line %d, column %d", line, col)
	}
	return describeJSONError(err, "a JSON object")
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	}
	return "a " + t.Kind().String()
}

// checkHelperName refuses helper names that would not name a docker-credential-*
// program on PATH (a "/" would make it a path).
func checkHelperName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.TrimSpace(name) != name || strings.ContainsRune(name, 0) {
		return fmt.Errorf("credential helper name %s is not a plain name", quote.String(name))
	}
	return nil
}

// quoteKey quotes a docker config key (or credHelpers registry) for a message, with
// any user info masked ("https://user:pass@reg.example" is shown as
// "https://***@reg.example"): the kubelet ignores it, and it may hold a password.
func quoteKey(key string) string {
	scheme, rest := "", key
	for _, s := range []string{"https://", "http://"} {
		if strings.HasPrefix(key, s) {
			scheme, rest = s, key[len(s):]
		}
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return quote.String(key)
	}
	shown := scheme + "***" + authority[at:]
	if hasPath {
		shown += "/" + path
	}
	return quote.String(shown)
}
