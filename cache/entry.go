package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/providers"
)

// An entry file is one header line and one JSON document:
//
//	icp-token-cache v1 <sha256 hex of "<key hex>\n" + the JSON document>\n
//	{"key":"<key hex>", ...}
//
// The checksum binds the content to the key it claims, so a truncated, corrupted or
// renamed file is told apart from a good one and ignored.
const (
	magic        = "icp-token-cache v1 "
	maxEntrySize = 1 << 20
	lockSuffix   = ".lock"
	tmpPrefix    = ".tmp-"
	sweepMarker  = ".sweep"
)

// entry is the content of one cache file. Nothing in it but Auth is a secret.
type entry struct {
	Key          string                          `json:"key"`
	Backend      string                          `json:"backend"`
	Registry     string                          `json:"registry,omitempty"`
	Repo         string                          `json:"repo,omitempty"`
	SANamespace  string                          `json:"saNamespace,omitempty"`
	SAName       string                          `json:"saName,omitempty"`
	CacheKeyType providers.CacheKeyType          `json:"cacheKeyType"`
	Issued       time.Time                       `json:"issued"`
	Expiry       time.Time                       `json:"expiry"`
	MaxDuration  time.Duration                   `json:"maxDuration,omitempty"` // the backend's own CacheDuration
	Auth         map[string]providers.AuthConfig `json:"auth"`
	Inputs       map[string]string               `json:"inputs,omitempty"` // file states of a recorded answer
}

// KeyHash is the name of the entry for k: the hex SHA-256 of the fields its Scope makes
// relevant (see relevant), each length-prefixed so that no two keys share an encoding.
func KeyHash(k providers.CacheKey) string {
	k = relevant(k)
	h := sha256.New()
	h.Write([]byte("icp-token-cache-key v1"))
	var n [binary.MaxVarintLen64]byte
	for _, f := range []string{k.Backend, k.Identity, string(k.Scope), k.Registry, k.Repo, k.SANamespace, k.SAName, k.SAUID} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// relevant is k with the fields its Scope leaves out cleared: a Global entry serves
// every registry and a Registry entry every repository of its registry, so they must
// not be split by what a caller happened to fill in. An unknown scope keeps every field
// (the narrowest sharing). The service account fields always count.
func relevant(k providers.CacheKey) providers.CacheKey {
	switch k.Scope {
	case providers.GlobalPluginCacheKeyType:
		k.Registry, k.Repo = "", ""
	case providers.RegistryPluginCacheKeyType:
		k.Repo = ""
	}
	return k
}

// isKeyHash reports whether name looks like an entry file name.
func isKeyHash(name string) bool {
	if len(name) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// freshUntil is when e stops being served as fresh: providers.FreshUntil, and never
// later than the backend's own cacheDuration allowed.
func (e *entry) freshUntil() time.Time {
	t := providers.FreshUntil(e.Issued, e.Expiry)
	if e.MaxDuration > 0 {
		if m := e.Issued.Add(e.MaxDuration); m.Before(t) {
			t = m
		}
	}
	return t
}

// State is how an entry stands at a given time.
type State string

// The states of an entry.
const (
	Fresh   State = "fresh"   // served from the cache
	Stale   State = "stale"   // refreshed; served only when the refresh fails
	Expired State = "expired" // never served; deleted
)

func (e *entry) state(now time.Time) State {
	switch {
	case !now.Before(e.Expiry):
		return Expired
	case now.Before(e.freshUntil()):
		return Fresh
	default:
		return Stale
	}
}

// result is the Result e gives at now, with cacheDuration d.
func (e *entry) result(d time.Duration) *providers.Result {
	auth := make(map[string]providers.AuthConfig, len(e.Auth))
	for k, v := range e.Auth {
		auth[k] = v
	}
	return &providers.Result{Auth: auth, CacheKeyType: e.CacheKeyType, Expiry: e.Expiry, CacheDuration: d, Inputs: e.Inputs}
}

// encode renders e as the bytes of its file.
func encode(e *entry) ([]byte, error) {
	// Times in UTC: formatting a local time reads the zone database, a file read a
	// cold run need not make.
	u := *e
	u.Issued, u.Expiry = e.Issued.UTC(), e.Expiry.UTC()
	body, err := json.Marshal(&u)
	if err != nil {
		return nil, err
	}
	sum := checksum(e.Key, body)
	out := make([]byte, 0, len(magic)+len(sum)+1+len(body)+1)
	out = append(out, magic...)
	out = append(out, sum...)
	out = append(out, '\n')
	out = append(out, body...)
	return append(out, '\n'), nil
}

func checksum(key string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// errInvalid marks an entry file that is not a good entry for the key asked.
var errInvalid = errors.New("invalid entry")

// decode parses the bytes of the file that should hold key.
func decode(key string, data []byte) (*entry, error) {
	rest, ok := bytes.CutPrefix(data, []byte(magic))
	if !ok {
		return nil, fmt.Errorf("%w: bad header", errInvalid)
	}
	sum, body, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok || len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, fmt.Errorf("%w: truncated", errInvalid)
	}
	body = body[:len(body)-1]
	if string(sum) != checksum(key, body) {
		return nil, fmt.Errorf("%w: checksum mismatch", errInvalid)
	}
	var e entry
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	if e.Key != key || e.Expiry.IsZero() || e.Issued.IsZero() || e.Auth == nil {
		return nil, fmt.Errorf("%w: fields", errInvalid)
	}
	return &e, nil
}

// read loads the entry for key. A file that is missing, not a regular file, not owned
// by the running user, readable or writable by others, or not a valid entry for key
// gives an error (and is replaced on the next store).
func (s *Store) read(key string) (*entry, error) {
	e, _, err := s.readSized(key)
	return e, err
}

// readSized is read, also giving the size of the file.
func (s *Store) readSized(key string) (*entry, int64, error) {
	data, size, err := s.readFile(filepath.Join(s.dir, key))
	if err != nil {
		return nil, size, err
	}
	if len(data) > int(size) {
		return nil, size, fmt.Errorf("%w: grew while read", errInvalid)
	}
	e, err := decode(key, data)
	return e, size, err
}

// write stores e atomically: a temporary file in the directory, renamed over the
// entry. Nothing is synced to disk (see the package comment).
func (s *Store) write(e *entry) error {
	data, err := encode(e)
	if err != nil {
		return err
	}
	if len(data) > maxEntrySize {
		return fmt.Errorf("entry of %d bytes is over the limit of %d", len(data), maxEntrySize)
	}
	tmp, err := s.writeTemp(tmpPrefix+e.Key[:16]+"-", data)
	if err != nil {
		return err
	}
	target := filepath.Join(s.dir, e.Key)
	if err := replaceFile(tmp, target); err != nil {
		// Something that is not a file (a directory) stands in the way: it is not a
		// valid entry, so it goes.
		if fi, lerr := os.Lstat(target); lerr != nil || fi.Mode().IsRegular() {
			os.Remove(tmp)
			return err
		}
		if err := os.RemoveAll(target); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := replaceFile(tmp, target); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	return nil
}

// saString is the service account as `cache list` shows it: namespace/name.
func (e *entry) saString() string {
	if e.SAName == "" {
		return ""
	}
	return strings.TrimPrefix(e.SANamespace+"/"+e.SAName, "/")
}
