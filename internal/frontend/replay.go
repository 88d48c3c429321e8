package frontend

import (
	"os"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/cache"
	"github.com/imagecred/image-credential-provider/internal/answer"
	"github.com/imagecred/image-credential-provider/internal/filestate"
	"github.com/imagecred/image-credential-provider/internal/protocol"
	"github.com/imagecred/image-credential-provider/providers"
)

// replayed says what replay did: the answer given, or why there was none.
type replayed struct {
	ok bool
	// why there was no answer, when ok is false.
	why string
	// image, keys, keyType and duration describe the answer, when ok.
	image    string
	keys     int
	keyType  string
	duration time.Duration
}

// records says where the answers recorded for one configuration are: the token cache
// directory and the configuration's fingerprint (internal/answer).
type records struct{ dir, fingerprint string }

// ownRecords is where the answers for the front end's own name and args are; ok is
// false, with why, when the cache is disabled or cannot be found for certain.
func ownRecords(args []string) (r records, why string) {
	config := answer.ConfigBytes(args)
	dir, ok := cacheDir(args, config)
	if !ok {
		return records{}, "the token cache is disabled, or its directory is not known for certain"
	}
	return records{dir, answer.Fingerprint(args, os.Environ(), config)}, ""
}

// dropInRecords is where the answers for a single-cloud plugin's name and its args
// are: that plugin has no cache settings, so its companion keeps them at the default
// place.
func dropInRecords(name string, args []string) (r records, why string) {
	dir, err := cache.DefaultDir()
	if err != nil {
		return records{}, "the token cache directory is not known"
	}
	return records{dir, answer.DropInFingerprint(name, args, os.Environ())}, ""
}

// replay answers the request from an answer recorded in at; r.ok is false on any doubt.
func replay(at records, data []byte, now time.Time) (out []byte, r replayed) {
	no := func(why string) ([]byte, replayed) { return nil, replayed{why: why} }
	req, err := protocol.DecodeRequest(data)
	if err != nil {
		return no("the request does not decode")
	}
	areq := answer.Request{APIVersion: req.APIVersion, Image: req.Image}
	if req.ServiceAccountToken != "" {
		areq.ServiceAccount = providers.NewServiceAccount(req.ServiceAccountToken, req.ServiceAccountAnnotations)
		if !areq.ServiceAccount.Identified() {
			return no("the service account token does not name its service account")
		}
	}
	if _, err := os.Lstat(at.dir); err != nil { // never create it: that is the companions' job
		return no("the token cache directory does not exist yet")
	}
	store, err := cache.Open(at.dir, cache.Options{Now: func() time.Time { return now }})
	if err != nil {
		return no("the token cache cannot be used")
	}
	for _, key := range answer.LookupKeys(at.fingerprint, areq) {
		res, hit := store.Peek(key)
		if !hit || res.CacheKeyType != key.Scope {
			continue
		}
		d := res.CacheDuration.Truncate(time.Second)
		if d < time.Second {
			continue
		}
		if !filestate.Set(res.Inputs).Unchanged() {
			return no("a file the recorded answer came from has changed")
		}
		out, err := encode(req.APIVersion, res, d)
		if err != nil {
			return no("the recorded answer does not encode")
		}
		return out, replayed{ok: true, image: req.Image, keys: len(res.Auth), keyType: string(res.CacheKeyType), duration: d}
	}
	return no("no fresh recorded answer")
}

// encode answers the request with a recorded result, kept for d more.
func encode(apiVersion string, res *providers.Result, d time.Duration) ([]byte, error) {
	resp := &protocol.Response{CacheKeyType: string(res.CacheKeyType), CacheDuration: d, Auth: make(map[string]protocol.AuthConfig, len(res.Auth))}
	for k, a := range res.Auth {
		resp.Auth[k] = protocol.AuthConfig{Username: a.Username, Password: a.Password}
	}
	return protocol.EncodeResponse(apiVersion, resp)
}

// cacheDir is the token cache directory the companions would use with these args:
// --cache-dir, else the config file's cache.dir, else the default; ok is false when
// the cache is disabled or the arguments cannot be read with certainty.
func cacheDir(args []string, config []byte) (dir string, ok bool) {
	var disabled bool
	if config != nil {
		var ok bool
		if dir, disabled, ok = configCache(config); !ok {
			return "", false
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "cache-dir":
			if !hasVal {
				if i+1 >= len(args) {
					return "", false
				}
				i++
				val = args[i]
			}
			dir = val
		case "no-cache":
			switch {
			case !hasVal || val == "true" || val == "1":
				disabled = true
			case val == "false" || val == "0":
				disabled = false
			default:
				return "", false
			}
		}
	}
	if disabled {
		return "", false
	}
	if dir == "" {
		d, err := cache.DefaultDir()
		if err != nil {
			return "", false
		}
		dir = d
	}
	return dir, true
}
