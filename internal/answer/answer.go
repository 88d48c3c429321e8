// Package answer keeps the plugin's answers to the kubelet on disk, keyed the way the
// kubelet keys its own in-memory cache of plugin answers, so that the front end the
// kubelet runs (internal/frontend) can replay an answer after a kubelet restart, for
// the rest of the cacheDuration it was given with: exactly what the kubelet would have
// done had it kept the answer in memory.
//
// A recorded answer is only ever replayed to the same plugin configuration: the key
// holds a fingerprint of the command line, the environment and the config file's
// bytes (under a single-cloud plugin's name: that name, its arguments and the
// environment), the request's apiVersion, the kubelet's cache key (the image, its
// registry, or global, as the answer's cacheKeyType says) and, in
// service-account-token mode, the pod's service account and annotations. It is stored
// in the token cache directory, with the token cache's protections (0700 dir, 0600
// files, checksums, atomic writes).
package answer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/internal/handoff"
	"github.com/imagecred/image-credential-provider/providers"
)

// Backend is the backend name answers are recorded under in the token cache.
const Backend = "kubelet-answer"

// globalKey is the kubelet's cache key for Global answers.
const globalKey = "<global>"

// Fingerprint identifies one configuration of the plugin: its arguments (argv[0]
// excluded), its environment (any variable may change an answer: credentials, endpoints,
// proxies, the PATH of credential helpers), and the bytes of its config file (nil when
// none). Every part is length-prefixed, so no two configurations share an encoding.
// The shell's "_" and the hand-over marker of internal/handoff are left out: they
// differ between the process the kubelet started and the one it handed over to. The
// environment counts as the variables a process reads from it: their order does not
// matter (qemu-user, which runs arm64 nodes emulated, reverses it at every exec), and
// of a name given twice only the first value counts, as getenv reads it.
func Fingerprint(args, environ []string, configFile []byte) string {
	e := newEncoder("icp-answer-fingerprint v3")
	e.strings("args", args)
	e.strings("env", effectiveEnv(environ))
	e.put("config")
	if configFile == nil {
		e.put("none")
	} else {
		e.put("file")
		e.put(string(configFile))
	}
	return e.sum()
}

// DropInFingerprint identifies one configuration of the plugin installed under a
// single-cloud plugin's name (internal/binaries.DropIn): that name, which decides the
// backend and how the arguments read, the arguments in that plugin's syntax (argv[0]
// excluded) and the environment, as Fingerprint counts it. Such a plugin reads no
// config file. It never equals a Fingerprint: the two are hashed in separate domains.
func DropInFingerprint(name string, args, environ []string) string {
	e := newEncoder("icp-answer-fingerprint drop-in v1")
	e.put(name)
	e.strings("args", args)
	e.strings("env", effectiveEnv(environ))
	return e.sum()
}

// effectiveEnv is environ as a process reads it, sorted: the first entry of each name,
// without the variables Fingerprint leaves out.
func effectiveEnv(environ []string) []string {
	kept := make([]string, 0, len(environ))
	seen := make(map[string]bool, len(environ))
	for _, v := range environ {
		name, _, _ := strings.Cut(v, "=")
		if v == "" || seen[name] || name == "_" || name == handoff.HandedOverBy {
			continue
		}
		seen[name] = true
		kept = append(kept, v)
	}
	sort.Strings(kept)
	return kept
}

// encoder hashes a sequence of strings, each prefixed with its length, so that the
// sequence can be read back unambiguously from the hashed bytes.
type encoder struct{ h hash.Hash }

func newEncoder(domain string) *encoder {
	e := &encoder{h: sha256.New()}
	e.put(domain)
	return e
}

func (e *encoder) put(s string) {
	var n [binary.MaxVarintLen64]byte
	e.h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	e.h.Write([]byte(s))
}

// strings puts a labelled list: its label, its length, then each element.
func (e *encoder) strings(label string, l []string) {
	e.put(label)
	e.put(strconv.Itoa(len(l)))
	for _, s := range l {
		e.put(s)
	}
}

func (e *encoder) sum() string { return hex.EncodeToString(e.h.Sum(nil)) }

// ConfigPath finds the config file named on the command line: the first --config PATH
// or --config=PATH (one or two dashes) before a "--". ok is false when --config is the
// last argument, with no value.
func ConfigPath(args []string) (path string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasVal {
			return val, true
		}
		if i+1 >= len(args) {
			return "", false
		}
		return args[i+1], true
	}
	return "", true
}

// ConfigBytes reads the config file named on the command line (see ConfigPath) for
// Fingerprint; nil when there is none or it cannot be read (the plugin itself then
// reports the problem).
func ConfigBytes(args []string) []byte {
	path, ok := ConfigPath(args)
	if !ok || path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return b
}

// Request is what of a kubelet request decides the answer's key.
type Request struct {
	APIVersion string
	// Image exactly as the kubelet sent it (its repoToPull).
	Image          string
	ServiceAccount *providers.ServiceAccount
}

// registry is the kubelet's parseRegistry: the text before the first '/'.
func registry(image string) string {
	host, _, _ := strings.Cut(image, "/")
	return host
}

// Key is where an answer of cacheKeyType kt to req is recorded.
func Key(fingerprint string, req Request, kt providers.CacheKeyType) providers.CacheKey {
	k := providers.CacheKey{Backend: Backend, Scope: kt}
	switch kt {
	case providers.ImagePluginCacheKeyType:
		k.Registry, k.Repo = registry(req.Image), req.Image
	case providers.RegistryPluginCacheKeyType:
		k.Registry = registry(req.Image)
	default:
		k.Scope = providers.GlobalPluginCacheKeyType
		k.Repo = globalKey
	}
	e := newEncoder("icp-answer-key v2")
	e.put(fingerprint)
	e.put(req.APIVersion)
	if sa := req.ServiceAccount; sa != nil {
		k.SANamespace, k.SAName, k.SAUID = sa.Namespace, sa.Name, sa.UID
		keys := make([]string, 0, len(sa.Annotations))
		for a := range sa.Annotations {
			keys = append(keys, a)
		}
		sort.Strings(keys)
		pairs := make([]string, 0, 2*len(keys))
		for _, a := range keys {
			pairs = append(pairs, a, sa.Annotations[a])
		}
		e.strings("service-account-annotations", pairs)
	} else {
		e.put("no-service-account")
	}
	k.Identity = e.sum()
	return k
}

// LookupKeys are the keys to try for req, in the kubelet's own order: the image, its
// registry, then global.
func LookupKeys(fingerprint string, req Request) []providers.CacheKey {
	return []providers.CacheKey{
		Key(fingerprint, req, providers.ImagePluginCacheKeyType),
		Key(fingerprint, req, providers.RegistryPluginCacheKeyType),
		Key(fingerprint, req, providers.GlobalPluginCacheKeyType),
	}
}

// Recordable reports whether an answer may be replayed: it has a cacheDuration of at
// least a second, every backend that serves the image succeeded without problems
// (parts of its configuration it could not use: replaying would hide the fix), and a
// service account request comes from an identified service account.
func Recordable(req Request, ans *providers.Answer) bool {
	return WhyNotRecordable(req, ans) == ""
}

// WhyNotRecordable says why ans may not be replayed (see Recordable), or "" when it
// may.
func WhyNotRecordable(req Request, ans *providers.Answer) string {
	switch {
	case len(ans.Problems) > 0:
		return "it has problems (parts of the configuration that could not be used)"
	case ans.CacheDuration < time.Second:
		return "its cacheDuration is under a second"
	case req.ServiceAccount != nil && !req.ServiceAccount.Identified():
		return "the service account token does not name its service account"
	}
	for _, c := range ans.Contributions {
		if c.Err != nil {
			return c.Backend + " failed"
		}
		if c.Result != nil && len(c.Result.Problems) > 0 {
			return c.Backend + " has problems"
		}
	}
	return ""
}

// Result is what is stored for ans, issued at now: fresh for ans.CacheDuration, never
// used past the earliest expiry of the credentials in it, and replayed only while the
// files of inputs are in the states it holds.
func Result(now time.Time, ans *providers.Answer, inputs map[string]string) *providers.Result {
	expiry := now.Add(2*ans.CacheDuration + providers.MinSafetyMargin)
	for _, c := range ans.Contributions {
		if c.Result != nil && !c.Result.Expiry.IsZero() && c.Result.Expiry.Before(expiry) {
			expiry = c.Result.Expiry
		}
	}
	auth := make(map[string]providers.AuthConfig, len(ans.Auth))
	for k, v := range ans.Auth {
		auth[k] = v
	}
	return &providers.Result{Auth: auth, CacheKeyType: ans.CacheKeyType, CacheDuration: ans.CacheDuration, Expiry: expiry, Inputs: inputs}
}
