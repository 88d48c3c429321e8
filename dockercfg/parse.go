package dockercfg

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// File is one parsed docker config file.
type File struct {
	// Path names the file in errors and in the get command's output.
	Path string
	// Auths are the credential entries, sorted by Key.
	Auths []Entry
	// CredHelpers maps a registry (as docker writes it: "gcr.io",
	// "https://index.docker.io/v1/") to a credential helper name ("gcloud" runs
	// docker-credential-gcloud). Only config.json has them.
	CredHelpers map[string]string
	// CredsStore is the helper for every registry without a CredHelpers entry.
	CredsStore string
}

// Entry is one credential entry of a docker config file.
type Entry struct {
	// Key is the entry's key as written in the file ("https://index.docker.io/v1/",
	// "*.my-registry.example/images").
	Key string
	// Username and Password, from "auth" when it is set, else from "username" and
	// "password". Both may be empty (docker writes empty entries for credsStore logins).
	Username, Password string
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

// Parse reads a docker config file of either format: a file named ".dockercfg" is the
// legacy bare map, as is any other file without a config.json top-level key such as
// "auths", "credHelpers" or "credsStore"; everything else is config.json. path only
// names the file in errors. Errors never contain a secret, not even a fragment of a
// malformed value.
func Parse(path string, data []byte) (*File, error) {
	if filepath.Base(path) == ".dockercfg" {
		return ParseLegacy(path, data)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %s", path, describeJSONError(err, "a JSON object"))
	}
	for k := range top {
		for _, known := range configJSONKeys {
			if strings.EqualFold(k, known) {
				return ParseConfigJSON(path, data)
			}
		}
	}
	if len(top) == 0 {
		return &File{Path: path}, nil
	}
	return ParseLegacy(path, data)
}

// ParseConfigJSON reads docker's config.json: {"auths": {...}, "credHelpers": {...},
// "credsStore": "..."}. Other keys are ignored.
func ParseConfigJSON(path string, data []byte) (*File, error) {
	var top struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredHelpers map[string]json.RawMessage `json:"credHelpers"`
		CredsStore  json.RawMessage            `json:"credsStore"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %s", path, describeJSONError(err, "a JSON object"))
	}
	f, err := parseAuths(path, top.Auths)
	if err != nil {
		return nil, err
	}
	for reg, raw := range top.CredHelpers {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, fmt.Errorf("%s: credHelpers entry %q: %s", path, reg, describeJSONError(err, "a helper name"))
		}
		if err := checkHelperName(name); err != nil {
			return nil, fmt.Errorf("%s: credHelpers entry %q: %w", path, reg, err)
		}
		if f.CredHelpers == nil {
			f.CredHelpers = map[string]string{}
		}
		f.CredHelpers[reg] = name
	}
	if len(top.CredsStore) > 0 {
		if err := json.Unmarshal(top.CredsStore, &f.CredsStore); err != nil {
			return nil, fmt.Errorf("%s: credsStore: %s", path, describeJSONError(err, "a helper name"))
		}
		if f.CredsStore != "" {
			if err := checkHelperName(f.CredsStore); err != nil {
				return nil, fmt.Errorf("%s: credsStore: %w", path, err)
			}
		}
	}
	return f, nil
}

// ParseLegacy reads the legacy .dockercfg format: a bare map of registry to entry.
func ParseLegacy(path string, data []byte) (*File, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %s", path, describeJSONError(err, "a JSON object"))
	}
	return parseAuths(path, top)
}

func parseAuths(path string, auths map[string]json.RawMessage) (*File, error) {
	f := &File{Path: path}
	for key, raw := range auths {
		e, err := parseEntry(key, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %q: %w", path, key, err)
		}
		f.Auths = append(f.Auths, e)
	}
	sort.Slice(f.Auths, func(i, j int) bool { return f.Auths[i].Key < f.Auths[j].Key })
	return f, nil
}

// parseEntry decodes one entry. As in the kubelet, field names are matched without
// regard to case, unknown fields (email, identitytoken, ...) are ignored, and a
// non-empty "auth" overrides "username" and "password".
func parseEntry(key string, raw json.RawMessage) (Entry, error) {
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
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
			return fmt.Sprintf("field %q holds a JSON %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type))
		}
		return fmt.Sprintf("holds a JSON %s, want %s", typ.Value, want)
	}
	return "malformed JSON"
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
		return fmt.Errorf("credential helper name %q is not a plain name", name)
	}
	return nil
}
