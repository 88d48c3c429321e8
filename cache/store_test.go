package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/providers"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openAt(t testing.TB, dir string, c *clock, opts Options) *Store {
	t.Helper()
	if c != nil {
		opts.Now = c.Now
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t testing.TB, c *clock, opts Options) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "cache"), c, opts)
}

func gkey(registry string) providers.CacheKey {
	return providers.CacheKey{Backend: "gcr", Identity: "node|mds=fake", Scope: providers.RegistryPluginCacheKeyType, Registry: registry}
}

// upstream is a fake backend call: it counts calls and issues numbered tokens that
// live for lifetime from the clock's now, or fails with err.
type upstream struct {
	c        *clock
	calls    atomic.Int32
	lifetime time.Duration
	err      error
	delay    time.Duration
}

func (u *upstream) fetch(ctx context.Context) (*providers.Result, error) {
	n := u.calls.Add(1)
	if u.delay > 0 {
		time.Sleep(u.delay)
	}
	if u.err != nil {
		return nil, u.err
	}
	lt := u.lifetime
	if lt == 0 {
		lt = time.Hour
	}
	var exp time.Time
	if lt > 0 {
		exp = u.c.Now().Add(lt)
	}
	return &providers.Result{
		Auth:         map[string]providers.AuthConfig{"gcr.io": {Username: "oauth2accesstoken", Password: fmt.Sprintf("fake-token-%d", n)}},
		CacheKeyType: providers.RegistryPluginCacheKeyType,
		Expiry:       exp,
	}, nil
}

func password(r *providers.Result) string { return r.Auth["gcr.io"].Password }

func TestKeyHash(t *testing.T) {
	base := providers.CacheKey{Backend: "ecr", Identity: "role=arn:aws:iam::1:role/r", Scope: providers.RegistryPluginCacheKeyType,
		Registry: "1.dkr.ecr.us-east-1.amazonaws.com", Repo: "", SANamespace: "ns", SAName: "sa", SAUID: "uid-1"}
	// Pinned: a change of the encoding orphans every entry on every node.
	const pinned = "bcbef063ee7e70c8016ae5f7a8c06ae8ff4dfda1f2f63030e5f1e2f89a335063"
	h := KeyHash(base)
	if h != pinned || !isKeyHash(h) {
		t.Fatalf("KeyHash = %q, want %q", h, pinned)
	}
	variants := map[string]func(k *providers.CacheKey){
		"backend":      func(k *providers.CacheKey) { k.Backend = "gcr" },
		"identity":     func(k *providers.CacheKey) { k.Identity += "x" },
		"scope":        func(k *providers.CacheKey) { k.Scope = providers.ImagePluginCacheKeyType },
		"registry":     func(k *providers.CacheKey) { k.Registry = "2.dkr.ecr.us-east-1.amazonaws.com" },
		"sa namespace": func(k *providers.CacheKey) { k.SANamespace = "other" },
		"sa name":      func(k *providers.CacheKey) { k.SAName = "other" },
		"sa uid":       func(k *providers.CacheKey) { k.SAUID = "uid-2" },
		"shifted boundary": func(k *providers.CacheKey) {
			k.Backend, k.Identity = "ecrr", strings.TrimPrefix(k.Identity, "r")
		},
		"namespace/name boundary": func(k *providers.CacheKey) { k.SANamespace, k.SAName = "n", "ssa" },
	}
	seen := map[string]string{h: "base"}
	for name, mut := range variants {
		k := base
		mut(&k)
		hk := KeyHash(k)
		if prev, dup := seen[hk]; dup {
			t.Errorf("%s hashes like %s", name, prev)
		}
		seen[hk] = name
	}
}

// The scope decides which fields of a key count: a Global entry serves every
// registry, a Registry entry every repository of its registry, an Image entry one
// repository; the service account always counts.
func TestKeyHashFollowsScope(t *testing.T) {
	const (
		g = providers.GlobalPluginCacheKeyType
		r = providers.RegistryPluginCacheKeyType
		i = providers.ImagePluginCacheKeyType
	)
	mut := map[string]func(k *providers.CacheKey){
		"registry": func(k *providers.CacheKey) { k.Registry = "other.example:5000" },
		"repo":     func(k *providers.CacheKey) { k.Repo = "reg.example/other" },
		"identity": func(k *providers.CacheKey) { k.Identity = "other" },
		"backend":  func(k *providers.CacheKey) { k.Backend = "other" },
		"sa ns":    func(k *providers.CacheKey) { k.SANamespace = "other" },
		"sa name":  func(k *providers.CacheKey) { k.SAName = "other" },
		"sa uid":   func(k *providers.CacheKey) { k.SAUID = "other" },
		"no sa":    func(k *providers.CacheKey) { k.SANamespace, k.SAName, k.SAUID = "", "", "" },
	}
	tests := []struct {
		scope   providers.CacheKeyType
		field   string
		sameKey bool
	}{
		{g, "registry", true}, {g, "repo", true}, {g, "identity", false}, {g, "backend", false},
		{g, "sa ns", false}, {g, "sa name", false}, {g, "sa uid", false}, {g, "no sa", false},
		{r, "registry", false}, {r, "repo", true}, {r, "identity", false}, {r, "backend", false},
		{r, "sa ns", false}, {r, "sa name", false}, {r, "sa uid", false}, {r, "no sa", false},
		{i, "registry", false}, {i, "repo", false}, {i, "identity", false}, {i, "backend", false},
		{i, "sa ns", false}, {i, "sa name", false}, {i, "sa uid", false}, {i, "no sa", false},
		{"", "registry", false}, {"", "repo", false}, // unknown scope: every field counts
		{"Bogus", "registry", false}, {"Bogus", "repo", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.scope)+"/"+tt.field, func(t *testing.T) {
			a := providers.CacheKey{Backend: "acr", Identity: "mi", Scope: tt.scope, Registry: "reg.example",
				Repo: "reg.example/team/app", SANamespace: "ns", SAName: "sa", SAUID: "u1"}
			b := a
			mut[tt.field](&b)
			if same := KeyHash(a) == KeyHash(b); same != tt.sameKey {
				t.Fatalf("same key = %v, want %v", same, tt.sameKey)
			}
		})
	}
}

// Through Fetch: what the scope leaves out shares the entry, and the entry's listing
// does not name a registry or repository it is not bound to.
func TestFetchSharesEntriesByScope(t *testing.T) {
	tests := []struct {
		scope     providers.CacheKeyType
		wantCalls int32
		wantReg   string
		wantRepo  string
	}{
		{providers.GlobalPluginCacheKeyType, 1, "", ""},
		{providers.RegistryPluginCacheKeyType, 2, "a.example", ""},
		{providers.ImagePluginCacheKeyType, 3, "a.example", "a.example/one"},
	}
	for _, tt := range tests {
		t.Run(string(tt.scope), func(t *testing.T) {
			c := &clock{t: t0}
			s := newStore(t, c, Options{})
			u := &upstream{c: c}
			for _, img := range []struct{ reg, repo string }{{"a.example", "a.example/one"}, {"a.example", "a.example/two"}, {"b.example", "b.example/one"}} {
				k := providers.CacheKey{Backend: "acr", Identity: "mi", Scope: tt.scope, Registry: img.reg, Repo: img.repo}
				for j := 0; j < 2; j++ {
					if _, err := s.Fetch(context.Background(), k, u.fetch); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := u.calls.Load(); n != tt.wantCalls {
				t.Fatalf("%d upstream calls, want %d", n, tt.wantCalls)
			}
			infos, err := s.List()
			if err != nil || len(infos) != int(tt.wantCalls) {
				t.Fatalf("List: %+v %v", infos, err)
			}
			want := KeyHash(providers.CacheKey{Backend: "acr", Identity: "mi", Scope: tt.scope, Registry: "a.example", Repo: "a.example/one"})
			var first *Info
			for k := range infos {
				if infos[k].Hash == want {
					first = &infos[k]
				}
			}
			if first == nil || first.Registry != tt.wantReg || first.Repo != tt.wantRepo {
				t.Fatalf("entry of a.example/one listed as %+v, want registry %q repo %q", first, tt.wantReg, tt.wantRepo)
			}
		})
	}
}

func TestFetchLifetimes(t *testing.T) {
	boom := errors.New("gcr: registry gcr.io: metadata server unreachable")
	type step struct {
		advance    time.Duration
		fail       bool
		wantCalls  int32         // upstream calls so far
		wantPass   string        // password served; "" = an error
		wantDur    time.Duration // CacheDuration of the answer (-1: the fetched result's own)
		wantErrMsg string
	}
	tests := []struct {
		name     string
		lifetime time.Duration // of every token the fake issues; <0: no expiry
		maxDur   time.Duration // the backend's own CacheDuration
		steps    []step
	}{
		{"miss then hits until fresh-until, then refresh", time.Hour, 0, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{0, false, 1, "fake-token-1", 54 * time.Minute, ""},
			{30 * time.Minute, false, 1, "fake-token-1", 24 * time.Minute, ""},
			{24*time.Minute - time.Second, false, 1, "fake-token-1", time.Second, ""},
			{time.Second, false, 2, "fake-token-2", -1, ""},
			{time.Minute, false, 2, "fake-token-2", 53 * time.Minute, ""},
		}},
		{"12h token fresh for 10h48m", 12 * time.Hour, 0, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{10*time.Hour + 47*time.Minute, false, 1, "fake-token-1", time.Minute, ""},
			{time.Minute, false, 2, "fake-token-2", -1, ""},
		}},
		{"short token: 1 minute minimum margin", 5 * time.Minute, 0, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{0, false, 1, "fake-token-1", 4 * time.Minute, ""},
			{4 * time.Minute, false, 2, "fake-token-2", -1, ""},
		}},
		{"stale entry served when the refresh fails, 1 minute", time.Hour, 0, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{55 * time.Minute, true, 2, "fake-token-1", time.Minute, ""},
			{0, true, 3, "fake-token-1", time.Minute, ""}, // the next run tries again
		}},
		{"stale entry near expiry: never kept into its last minute", time.Hour, 0, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{55 * time.Minute, true, 2, "fake-token-1", time.Minute, ""},                                 // 5m left
			{3 * time.Minute, true, 3, "fake-token-1", time.Minute, ""},                                  // 2m left
			{time.Second, true, 4, "fake-token-1", 59 * time.Second, ""},                                 // 1m59s left
			{29 * time.Second, true, 5, "fake-token-1", 30 * time.Second, ""},                            // 1m30s left
			{29*time.Second + 500*time.Millisecond, true, 6, "fake-token-1", 500 * time.Millisecond, ""}, // 1m0.5s left
			{500 * time.Millisecond, true, 7, "fake-token-1", 0, ""},                                     // 1m left: used once, not kept
			{59 * time.Second, true, 8, "fake-token-1", 0, ""},                                           // 1s left
			{time.Second, true, 9, "", 0, "unreachable"},                                                 // expired
		}},
		{"expired entry never served", time.Hour, 0, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{time.Hour, true, 2, "", 0, "unreachable"},
			{time.Hour, true, 3, "", 0, "unreachable"},
		}},
		{"no entry and failure: the error", time.Hour, 0, []step{
			{0, true, 1, "", 0, "metadata server unreachable"},
		}},
		{"no expiry: not stored", -1, 0, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{0, false, 2, "fake-token-2", -1, ""},
		}},
		{"backend's own cacheDuration caps freshness", time.Hour, 5 * time.Minute, []step{
			{0, false, 1, "fake-token-1", -1, ""},
			{time.Minute, false, 1, "fake-token-1", 4 * time.Minute, ""},
			{4 * time.Minute, false, 2, "fake-token-2", -1, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			s := newStore(t, c, Options{})
			u := &upstream{c: c, lifetime: tt.lifetime}
			fetch := func(ctx context.Context) (*providers.Result, error) {
				r, err := u.fetch(ctx)
				if r != nil {
					r.CacheDuration = tt.maxDur
				}
				return r, err
			}
			for i, st := range tt.steps {
				c.Add(st.advance)
				u.err = nil
				if st.fail {
					u.err = boom
				}
				r, err := s.Fetch(context.Background(), gkey("gcr.io"), fetch)
				if got := u.calls.Load(); got != st.wantCalls {
					t.Fatalf("step %d: %d upstream calls, want %d", i, got, st.wantCalls)
				}
				if st.wantPass == "" {
					if err == nil || !strings.Contains(err.Error(), st.wantErrMsg) {
						t.Fatalf("step %d: got %v, %v; want error %q", i, r, err, st.wantErrMsg)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if password(r) != st.wantPass {
					t.Fatalf("step %d: served %s, want %s", i, password(r), st.wantPass)
				}
				if st.wantDur >= 0 && r.CacheDuration != st.wantDur {
					t.Fatalf("step %d: CacheDuration %v, want %v", i, r.CacheDuration, st.wantDur)
				}
				if st.wantDur < 0 && r.CacheDuration != tt.maxDur {
					t.Fatalf("step %d: fetched result's CacheDuration changed to %v", i, r.CacheDuration)
				}
				if !r.Expiry.After(c.Now()) && tt.lifetime > 0 {
					t.Fatalf("step %d: served an expired result", i)
				}
				if r.CacheKeyType != providers.RegistryPluginCacheKeyType {
					t.Fatalf("step %d: cacheKeyType %q", i, r.CacheKeyType)
				}
			}
		})
	}
}

// flakyBackend is a Cacheable backend whose token lives an hour and whose upstream
// fails while down is set.
type flakyBackend struct {
	c     *clock
	down  atomic.Bool
	calls atomic.Int32
}

func (b *flakyBackend) Name() string                    { return "gcr" }
func (b *flakyBackend) Serves(img providers.Image) bool { return img.Host == "gcr.io" }
func (b *flakyBackend) CacheIdentity(providers.Request) (string, providers.CacheKeyType) {
	return "node", providers.RegistryPluginCacheKeyType
}
func (b *flakyBackend) Credentials(context.Context, providers.Request) (*providers.Result, error) {
	n := b.calls.Add(1)
	if b.down.Load() {
		return nil, errors.New("gcr: registry gcr.io: metadata server unreachable")
	}
	return &providers.Result{
		Auth:         map[string]providers.AuthConfig{"gcr.io": {Username: "oauth2accesstoken", Password: fmt.Sprintf("fake-token-%d", n)}},
		CacheKeyType: providers.RegistryPluginCacheKeyType,
		Expiry:       b.c.Now().Add(time.Hour),
	}, nil
}

// What the kubelet gets for a stale entry, through the dispatcher as the binary uses
// it: the token, with cacheDuration 1m, ending a minute before expiry, 0s in the last
// minute (what the README's token cache section says).
func TestStaleAnswerCacheDuration(t *testing.T) {
	tests := []struct {
		left    time.Duration // until the cached token expires
		wantDur time.Duration // the answer's cacheDuration; <0: no answer (error)
	}{
		{6 * time.Minute, time.Minute}, // the first stale instant
		{2 * time.Minute, time.Minute},
		{119 * time.Second, 59 * time.Second},
		{90 * time.Second, 30 * time.Second},
		{61 * time.Second, time.Second},
		{60*time.Second + 999*time.Millisecond, 0}, // the kubelet's durations are whole seconds
		{time.Minute, 0},
		{time.Second, 0},
		{0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.left.String(), func(t *testing.T) {
			c := &clock{t: t0}
			s := newStore(t, c, Options{})
			b := &flakyBackend{c: c}
			d := &providers.Dispatcher{Providers: []providers.Provider{b}, Cache: s, Now: c.Now}
			req := providers.Request{Image: providers.Image{Host: "gcr.io", Path: "p/app"}}
			if _, err := d.Resolve(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			c.Add(time.Hour - tt.left)
			b.down.Store(true)
			ans, err := d.Resolve(context.Background(), req)
			if b.calls.Load() != 2 {
				t.Fatalf("%d upstream calls, want 2 (the refresh was not tried)", b.calls.Load())
			}
			if tt.wantDur < 0 {
				if err == nil {
					t.Fatalf("an expired token was served: %+v", ans)
				}
				return
			}
			if err != nil || ans.Auth["gcr.io"].Password != "fake-token-1" {
				t.Fatalf("got %+v %v, want the stale token", ans, err)
			}
			if ans.CacheDuration != tt.wantDur {
				t.Fatalf("cacheDuration %v, want %v", ans.CacheDuration, tt.wantDur)
			}
		})
	}
}

func TestFetchDoesNotStoreExpiredResults(t *testing.T) {
	c := &clock{t: t0}
	s := newStore(t, c, Options{})
	u := &upstream{c: c}
	past := func(ctx context.Context) (*providers.Result, error) {
		r, _ := u.fetch(ctx)
		r.Expiry = c.Now().Add(-time.Second)
		return r, nil
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Fetch(context.Background(), gkey("gcr.io"), past); err != nil {
			t.Fatal(err)
		}
	}
	if u.calls.Load() != 2 {
		t.Fatalf("%d calls: an already expired result was cached", u.calls.Load())
	}
	if infos, _ := s.List(); len(infos) != 0 {
		t.Fatalf("entries %v", infos)
	}
}

func TestServedResultIsACopy(t *testing.T) {
	c := &clock{t: t0}
	s := newStore(t, c, Options{})
	u := &upstream{c: c}
	s.Fetch(context.Background(), gkey("gcr.io"), u.fetch)
	r, _ := s.Fetch(context.Background(), gkey("gcr.io"), u.fetch)
	r.Auth["gcr.io"] = providers.AuthConfig{Password: "changed"}
	r2, _ := s.Fetch(context.Background(), gkey("gcr.io"), u.fetch)
	if password(r2) != "fake-token-1" {
		t.Fatalf("served %q", password(r2))
	}
}

// Every way an entry file can be damaged or planted: the entry is ignored (one new
// upstream call), replaced by a good file, and its content is never served.
func TestTamperedEntriesIgnoredAndReplaced(t *testing.T) {
	type tamperCase = struct {
		name   string
		tamper func(t *testing.T, s *Store, path string)
	}
	tests := []tamperCase{
		{"byte flipped in the token", func(t *testing.T, s *Store, path string) {
			editFile(t, path, func(b []byte) []byte {
				i := strings.Index(string(b), "fake-token-1")
				b[i+3] ^= 0x01
				return b
			})
		}},
		{"byte flipped in the checksum", func(t *testing.T, s *Store, path string) {
			editFile(t, path, func(b []byte) []byte { b[len(magic)+3] ^= 0x01; return b })
		}},
		{"expiry pushed later", func(t *testing.T, s *Store, path string) {
			editFile(t, path, func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"expiry":"2030`, `"expiry":"2031`, 1))
			})
		}},
		{"truncated to half", func(t *testing.T, s *Store, path string) {
			editFile(t, path, func(b []byte) []byte { return b[:len(b)/2] })
		}},
		{"truncated by the last newline", func(t *testing.T, s *Store, path string) {
			editFile(t, path, func(b []byte) []byte { return b[:len(b)-1] })
		}},
		{"empty", func(t *testing.T, s *Store, path string) { editFile(t, path, func(b []byte) []byte { return nil }) }},
		{"zeroed, as a crash can leave a file whose data never reached the disk", func(t *testing.T, s *Store, path string) {
			editFile(t, path, func(b []byte) []byte { return make([]byte, len(b)) })
		}},
		{"another key's entry renamed over it", func(t *testing.T, s *Store, path string) {
			other := &upstream{c: &clock{t: t0}}
			if _, err := s.Fetch(context.Background(), gkey("eu.gcr.io"), other.fetch); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(s.Dir(), KeyHash(gkey("eu.gcr.io"))), path); err != nil {
				t.Fatal(err)
			}
		}},
		{"a directory", func(t *testing.T, s *Store, path string) {
			os.Remove(path)
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, pc := range platformTamperCases() {
		tests = append(tests, tamperCase{pc.name, pc.tamper})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			s := newStore(t, c, Options{})
			u := &upstream{c: c}
			key := gkey("gcr.io")
			path := filepath.Join(s.Dir(), KeyHash(key))
			if _, err := s.Fetch(context.Background(), key, u.fetch); err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, s, path)
			if infos, err := s.List(); err != nil || len(infos) != 1 || infos[0].State != Invalid || infos[0].Hash != KeyHash(key) {
				t.Errorf("List after tampering: %+v %v, want the entry shown invalid", infos, err)
			}
			r, err := s.Fetch(context.Background(), key, u.fetch)
			if err != nil || password(r) != "fake-token-2" || u.calls.Load() != 2 {
				t.Fatalf("after tampering: %v %v, %d calls; want a fresh fetch", r, err, u.calls.Load())
			}
			checkPrivateFile(t, path)
			if r, _ := s.Fetch(context.Background(), key, u.fetch); password(r) != "fake-token-2" || u.calls.Load() != 2 {
				t.Fatalf("replacement not served from the cache")
			}
		})
	}
}

func editFile(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A process killed mid-write leaves only a temporary file: the entry is either the old
// one or absent, never half-written, and the leftover is swept later.
func TestKilledWriterLeavesNoHalfEntry(t *testing.T) {
	c := &clock{t: t0}
	s := newStore(t, c, Options{SweepInterval: time.Minute})
	u := &upstream{c: c}
	key := gkey("gcr.io")
	s.Fetch(context.Background(), key, u.fetch)
	tmp := filepath.Join(s.Dir(), tmpPrefix+KeyHash(key)[:16]+"-123")
	if err := os.WriteFile(tmp, []byte(magic+"abc\n{\"key\":"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * leftoverAge)
	os.Chtimes(tmp, old, old)
	if r, err := s.Fetch(context.Background(), key, u.fetch); err != nil || password(r) != "fake-token-1" {
		t.Fatalf("%v %v", r, err)
	}
	c.Add(2 * time.Minute)
	s.Fetch(context.Background(), gkey("eu.gcr.io"), u.fetch) // a store: sweeps
	if _, err := os.Lstat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover temporary file not swept: %v", err)
	}
}

// N stores on one directory (N separate open file descriptions, as N processes) that
// miss the same key at once make exactly one upstream call, and all get its outcome:
// its token, or its failure (or the stale entry) when it fails.
func TestConcurrentMissesMakeOneUpstreamCall(t *testing.T) {
	boom := errors.New("gcr: registry gcr.io: metadata server unreachable")
	tests := []struct {
		name      string
		prime     bool // store a token first, then let it go stale
		fail      bool
		wantPass  string // "" = the error
		wantCalls int32  // including the priming call
	}{
		{"miss, upstream works", false, false, "fake-token-1", 1},
		{"miss, upstream fails: one call, every waiter gets its error", false, true, "", 1},
		{"stale, upstream works", true, false, "fake-token-2", 2},
		{"stale, upstream fails: one call, every waiter gets the stale token", true, true, "fake-token-1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			c := &clock{t: t0}
			u := &upstream{c: c}
			if tt.prime {
				openAt(t, dir, c, Options{}).Fetch(context.Background(), gkey("gcr.io"), u.fetch)
				c.Add(55 * time.Minute)
			}
			u.delay = 150 * time.Millisecond // every other fetch starts while the first runs
			if tt.fail {
				u.err = boom
			}
			const n = 50
			var ready, wg sync.WaitGroup
			start := make(chan struct{})
			got := make([]string, n)
			errs := make([]error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				ready.Add(1)
				go func() {
					defer wg.Done()
					s, err := Open(dir, Options{Now: c.Now})
					ready.Done()
					if err != nil {
						errs[i] = err
						return
					}
					<-start
					r, err := s.Fetch(context.Background(), gkey("gcr.io"), u.fetch)
					if err != nil {
						errs[i] = err
						return
					}
					got[i] = password(r)
				}()
			}
			ready.Wait()
			close(start)
			wg.Wait()
			for i := range got {
				if tt.wantPass == "" {
					if errs[i] == nil || errs[i].Error() != boom.Error() {
						t.Fatalf("fetch %d: %q %v, want the upstream error", i, got[i], errs[i])
					}
					continue
				}
				if errs[i] != nil || got[i] != tt.wantPass {
					t.Fatalf("fetch %d: %q %v, want %s", i, got[i], errs[i], tt.wantPass)
				}
			}
			if n := u.calls.Load(); n != tt.wantCalls {
				t.Fatalf("%d upstream calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

// A failure recorded by an earlier, not concurrent, process does not stop the next
// one from calling upstream; a success clears the record.
func TestRecordedFailureOnlySharedWithWaiters(t *testing.T) {
	c := &clock{t: t0}
	s := newStore(t, c, Options{})
	u := &upstream{c: c, err: errors.New("acr: registry r.azurecr.io: throttled")}
	key := gkey("gcr.io")
	for i := 1; i <= 3; i++ {
		if _, err := s.Fetch(context.Background(), key, u.fetch); err == nil || u.calls.Load() != int32(i) {
			t.Fatalf("try %d: %v after %d calls", i, err, u.calls.Load())
		}
	}
	lockPath := filepath.Join(s.Dir(), KeyHash(key)+lockSuffix)
	if b, _ := os.ReadFile(lockPath); !strings.HasPrefix(string(b), failureTag) || !strings.Contains(string(b), "throttled") {
		t.Fatalf("lock file %q: failure not recorded", b)
	}
	u.err = nil
	if r, err := s.Fetch(context.Background(), key, u.fetch); err != nil || password(r) != "fake-token-4" {
		t.Fatalf("%v %v", r, err)
	}
	if b, _ := os.ReadFile(lockPath); len(b) != 0 {
		t.Fatalf("lock file %q after a success", b)
	}
}

// A failure record is shared only with processes that waited while it was made: one
// dated in the future (the clock was stepped back after a failed fetch) or before the
// process began to wait is ignored, upstream is called, and the record is replaced
// (cleared after a success, rewritten with the new time after a failure).
func TestFailureRecordOutsideTheWaitIsIgnored(t *testing.T) {
	tests := []struct {
		name   string
		at     time.Duration // the record's date, from the wall clock's now
		stale  bool          // a stale entry is on disk
		fail   bool          // the new upstream call fails
		wantPw string        // "" = the new call's error
	}{
		{"an hour in the future", time.Hour, false, false, "fake-token-1"},
		{"seconds in the future", 5 * time.Second, false, false, "fake-token-1"},
		{"in the future, stale entry", time.Hour, true, false, "fake-token-2"},
		{"in the future, upstream still failing", time.Hour, false, true, ""},
		{"an hour old", -time.Hour, false, false, "fake-token-1"},
		{"older than the longest wait", -(DefaultLockWait + time.Second), false, false, "fake-token-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			s := newStore(t, c, Options{})
			u := &upstream{c: c}
			key := gkey("gcr.io")
			calls := int32(0)
			if tt.stale {
				if _, err := s.Fetch(context.Background(), key, u.fetch); err != nil {
					t.Fatal(err)
				}
				c.Add(55 * time.Minute)
				calls = 1
			}
			lockPath := filepath.Join(s.Dir(), KeyHash(key)+lockSuffix)
			rec := fmt.Sprintf("%s%d %s\n", failureTag, time.Now().Add(tt.at).UnixNano(), "gcr: registry gcr.io: recorded earlier")
			if err := os.WriteFile(lockPath, []byte(rec), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.fail {
				u.err = errors.New("gcr: registry gcr.io: failing now")
			}
			before := time.Now()
			r, err := s.Fetch(context.Background(), key, u.fetch)
			if n := u.calls.Load(); n != calls+1 {
				t.Fatalf("%d upstream calls, want %d: the record blocked the call (%v %v)", n, calls+1, r, err)
			}
			b, _ := os.ReadFile(lockPath)
			if tt.wantPw == "" {
				if err == nil || !strings.Contains(err.Error(), "failing now") {
					t.Fatalf("got %v %v, want the new failure", r, err)
				}
				ts, _, _ := strings.Cut(strings.TrimPrefix(string(b), failureTag), " ")
				ns, perr := strconv.ParseInt(ts, 10, 64)
				if at := time.Unix(0, ns); perr != nil || at.Before(before) || at.After(time.Now()) || !strings.Contains(string(b), "failing now") {
					t.Fatalf("lock file %q: the record was not replaced by the new failure", b)
				}
				return
			}
			if err != nil || password(r) != tt.wantPw {
				t.Fatalf("got %v %v, want %s", r, err, tt.wantPw)
			}
			if len(b) != 0 {
				t.Fatalf("lock file %q after a success", b)
			}
		})
	}
}

func TestFailureRecord(t *testing.T) {
	tests := []struct {
		name    string
		content string // written to the lock file before failure(); "" = use recordFailure
		err     string
		wantOK  bool
		wantMsg string
	}{
		{"recorded", "", "ecr: registry r: throttled", true, "ecr: registry r: throttled"},
		{"newlines folded", "", "line one\nline two\r", true, "line one line two "},
		{"long message cut", "", strings.Repeat("x", 3*maxFailureMsg), true, strings.Repeat("x", maxFailureMsg)},
		{"empty file", "\x00", "", false, ""},
		{"torn record", failureTag + "123 half", "", false, ""},
		{"bad time", failureTag + "abc msg\n", "", false, ""},
		{"no message", failureTag + "123 \n", "", false, ""},
		{"foreign content", "hello\n", "", false, ""},
		{"two lines", failureTag + "123 a\nb\n", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, nil, Options{})
			l, err := s.lock(context.Background(), "k", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			defer l.unlock()
			at := time.Unix(0, 1234567890123456789)
			switch tt.content {
			case "":
				l.recordFailure(at, errors.New(tt.err))
			case "\x00":
			default:
				writeAt(l.h, []byte(tt.content))
			}
			gotAt, msg, ok := l.failure()
			if ok != tt.wantOK || msg != tt.wantMsg {
				t.Fatalf("failure() = %v %q %v, want %q %v", gotAt, msg, ok, tt.wantMsg, tt.wantOK)
			}
			if ok && !gotAt.Equal(at) {
				t.Fatalf("time %v, want %v", gotAt, at)
			}
		})
	}
}

func FuzzFailureRecord(f *testing.F) {
	f.Add([]byte(failureTag + "1 x\n"))
	f.Add([]byte(failureTag + "-5 a b c\n"))
	f.Add([]byte("junk"))
	dir := f.TempDir()
	s, err := Open(filepath.Join(dir, "c"), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := s.lock(context.Background(), "fuzz", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer l.unlock()
		truncateFile(l.h)
		writeAt(l.h, data)
		at, msg, ok := l.failure()
		if !ok {
			return
		}
		if msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("accepted %q as %v %q", data, at, msg)
		}
		l.recordFailure(at, errors.New(msg))
		at2, msg2, ok := l.failure()
		if !ok || !at2.Equal(at) || len(msg2) > maxFailureMsg || strings.ContainsAny(msg2, "\r\n") {
			t.Fatalf("re-recorded %q: %v %q %v", msg, at2, msg2, ok)
		}
	})
}

func TestLockWaitIsBounded(t *testing.T) {
	tests := []struct {
		name      string
		prime     time.Duration // >0: an entry is stored, then the clock advances by this
		ctx       func() (context.Context, context.CancelFunc)
		wantPass  string
		wantCalls int32
		wantErr   string
	}{
		{"no entry: fetch without the lock after the wait", 0, background, "fake-token-1", 1, ""},
		{"stale entry: served", 55 * time.Minute, background, "fake-token-1", 1, ""},
		{"expired entry: fetch without the lock", 61 * time.Minute, background, "fake-token-2", 2, ""},
		{"context cancelled while waiting", 0, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, "", 0, "context canceled"},
		{"context deadline shortens the wait", 0, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, "fake-token-1", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			wait := 100 * time.Millisecond
			if strings.Contains(tt.name, "deadline") {
				wait = time.Hour
			}
			s := newStore(t, c, Options{LockWait: wait})
			u := &upstream{c: c}
			key := gkey("gcr.io")
			if tt.prime > 0 {
				s.Fetch(context.Background(), key, u.fetch)
				c.Add(tt.prime)
			}
			held, err := s.lock(context.Background(), KeyHash(key), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			defer held.unlock()
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			r, err := s.Fetch(ctx, key, u.fetch)
			if el := time.Since(start); el > 5*time.Second {
				t.Fatalf("waited %v", el)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "gcr: registry gcr.io") {
					t.Fatalf("got %v %v, want error %q", r, err, tt.wantErr)
				}
				return
			}
			if err != nil || password(r) != tt.wantPass || u.calls.Load() != tt.wantCalls {
				t.Fatalf("got %v %v after %d calls; want %s after %d", r, err, u.calls.Load(), tt.wantPass, tt.wantCalls)
			}
		})
	}
}

func background() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// A waiter whose lock file is swept (unlinked) while it waits takes the lock again on
// the new file instead of believing it holds a lock nobody else can see.
func TestLockOnSweptFileIsRetaken(t *testing.T) {
	s := newStore(t, nil, Options{})
	name := KeyHash(gkey("gcr.io"))
	path := filepath.Join(s.Dir(), name+lockSuffix)
	first, err := s.lock(context.Background(), name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *fileLock)
	go func() {
		l, err := s.lock(context.Background(), name, time.Now().Add(10*time.Second))
		if err != nil {
			t.Error(err)
		}
		done <- l
	}()
	time.Sleep(30 * time.Millisecond) // the waiter has opened the old file
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	first.unlock()
	l := <-done
	if l == nil {
		t.FailNow()
	}
	defer l.unlock()
	if !sameFile(l.h, path) {
		t.Fatal("the waiter holds a lock on an unlinked file")
	}
	if _, ok := s.tryLockPath(path); ok {
		t.Fatal("the lock file at the path is not locked")
	}
}

func TestSweep(t *testing.T) {
	c := &clock{t: t0}
	s := newStore(t, c, Options{SweepInterval: 5 * time.Minute})
	u := &upstream{c: c}
	ctx := context.Background()
	dir := s.Dir()
	entry := func(host string) string { return filepath.Join(dir, KeyHash(gkey(host))) }
	store := func(host string) {
		t.Helper()
		if _, err := s.Fetch(ctx, gkey(host), u.fetch); err != nil {
			t.Fatal(err)
		}
	}
	store("a") // t0: sweeps (no marker yet), expires t0+60m

	unknown := filepath.Join(dir, "README")
	garbage := entry("garbage")
	orphanLock := entry("gone") + lockSuffix
	youngLock := entry("young") + lockSuffix
	heldLock := entry("held") + lockSuffix
	oldTmp := filepath.Join(dir, tmpPrefix+"0123456789abcdef-1")
	youngTmp := filepath.Join(dir, tmpPrefix+"0123456789abcdef-2")
	for _, p := range []string{unknown, garbage, orphanLock, youngLock, heldLock, oldTmp, youngTmp} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * leftoverAge)
	for _, p := range []string{orphanLock, heldLock, oldTmp} {
		os.Chtimes(p, old, old)
	}
	held, ok := s.tryLockPath(heldLock)
	if !ok {
		t.Fatal("cannot lock")
	}
	defer held.unlock()

	c.Add(2 * time.Minute)
	store("b") // within the interval: no sweep
	if !exists(garbage) || !exists(orphanLock) {
		t.Fatal("a store swept within the sweep interval")
	}

	c.Add(59 * time.Minute) // t0+61m: a expired, the sweep is due
	store("c")
	for p, want := range map[string]bool{
		entry("a"):              false, // expired
		entry("b"):              true,
		entry("c"):              true,
		garbage:                 false, // invalid
		unknown:                 true,  // not ours to delete
		orphanLock:              false, // old lock of an absent entry
		youngLock:               true,  // may be in use right now
		heldLock:                true,  // in use
		oldTmp:                  false, // left by a killed writer
		youngTmp:                true,  // may be being written
		entry("b") + lockSuffix: true,
	} {
		if exists(p) != want {
			t.Errorf("%s: exists=%v, want %v", filepath.Base(p), !want, want)
		}
	}

	c.Add(2 * time.Minute) // t0+63m: b (t0+62m) expired
	for i := 0; i < 3; i++ {
		store("c") // hits: never sweep
	}
	store("d") // a store within the interval of the last sweep
	if !exists(entry("b")) {
		t.Fatal("swept within the interval")
	}
	c.Add(4 * time.Minute)
	store("e")
	if exists(entry("b")) {
		t.Fatal("expired entry kept past a due sweep")
	}
	if u.calls.Load() != 5 {
		t.Fatalf("%d upstream calls, want 5", u.calls.Load())
	}
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestEvictionOldestFirst(t *testing.T) {
	c0 := &clock{t: t0}
	probe := newStore(t, c0, Options{})
	probe.Fetch(context.Background(), gkey("h1"), (&upstream{c: c0}).fetch)
	fi, err := os.Stat(filepath.Join(probe.Dir(), KeyHash(gkey("h1"))))
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size() // every entry below has this size (same lengths)

	tests := []struct {
		name string
		opts Options
		want string // registries kept
	}{
		{"entry count", Options{MaxEntries: 3}, "h3,h4,h5"},
		{"bytes", Options{MaxBytes: 3*size + size/2}, "h3,h4,h5"},
		{"bytes exactly", Options{MaxBytes: 2 * size}, "h4,h5"},
		{"the entry just stored is kept even alone over the bound", Options{MaxBytes: size / 2}, "h5"},
		{"under both bounds", Options{MaxEntries: 5, MaxBytes: 5 * size}, "h1,h2,h3,h4,h5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			tt.opts.SweepInterval = 24 * time.Hour // only the bounds trigger sweeps
			s := newStore(t, c, tt.opts)
			u := &upstream{c: c}
			for _, h := range []string{"h1", "h2", "h3", "h4", "h5"} {
				if _, err := s.Fetch(context.Background(), gkey(h), u.fetch); err != nil {
					t.Fatal(err)
				}
				c.Add(time.Second)
			}
			infos, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range infos {
				got = append(got, in.Registry)
			}
			if strings.Join(got, ",") != tt.want {
				t.Fatalf("kept %v, want %s", got, tt.want)
			}
			ents, _ := os.ReadDir(s.Dir())
			n := 0
			for _, de := range ents {
				if isKeyHash(de.Name()) {
					n++
				}
			}
			if n != len(got) {
				t.Fatalf("%d entry files", n)
			}
		})
	}
}

func TestStoredResultShapes(t *testing.T) {
	tests := []struct {
		name      string
		auth      map[string]providers.AuthConfig
		wantCalls int32 // after two Fetches
		wantKeys  int
	}{
		{"no credentials (nil auth) is an answer and is kept", nil, 1, 0},
		{"empty auth kept", map[string]providers.AuthConfig{}, 1, 0},
		{"several keys kept", map[string]providers.AuthConfig{"a.example": {Username: "u", Password: "p"}, "*.b.example": {Username: "u2", Password: "p2"}}, 1, 2},
		{"an entry over 1 MiB is served but not kept", map[string]providers.AuthConfig{"a.example": {Username: "u", Password: strings.Repeat("p", maxEntrySize)}}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			s := newStore(t, c, Options{})
			var calls int32
			fetch := func(context.Context) (*providers.Result, error) {
				calls++
				return &providers.Result{Auth: tt.auth, CacheKeyType: providers.ImagePluginCacheKeyType, Expiry: c.Now().Add(time.Hour)}, nil
			}
			for i := 0; i < 2; i++ {
				r, err := s.Fetch(context.Background(), gkey("gcr.io"), fetch)
				if err != nil || len(r.Auth) != tt.wantKeys || r.CacheKeyType != providers.ImagePluginCacheKeyType {
					t.Fatalf("fetch %d: %+v %v", i, r, err)
				}
				for k, v := range tt.auth {
					if r.Auth[k] != v {
						t.Fatalf("fetch %d: %s = %v", i, k, r.Auth[k])
					}
				}
			}
			if calls != tt.wantCalls {
				t.Fatalf("%d upstream calls, want %d", calls, tt.wantCalls)
			}
			if _, err := os.Lstat(filepath.Join(s.Dir(), KeyHash(gkey("gcr.io")))); (err == nil) != (tt.wantCalls == 1) {
				t.Fatalf("entry file: %v", err)
			}
		})
	}
}

func TestListAndPurge(t *testing.T) {
	c := &clock{t: t0}
	s := newStore(t, c, Options{SweepInterval: 24 * time.Hour})
	ctx := context.Background()
	u := &upstream{c: c}
	sa := providers.CacheKey{Backend: "ecr", Identity: "wi", Scope: providers.ImagePluginCacheKeyType,
		Registry: "1.dkr.ecr.us-east-1.amazonaws.com", Repo: "1.dkr.ecr.us-east-1.amazonaws.com/team/app",
		SANamespace: "team", SAName: "puller", SAUID: "u-1"}
	s.Fetch(ctx, gkey("expired.gcr.io"), u.fetch)
	c.Add(35 * time.Minute)
	s.Fetch(ctx, gkey("stale.gcr.io"), u.fetch)
	c.Add(30 * time.Minute)
	s.Fetch(ctx, sa, u.fetch)
	c.Add(25 * time.Minute) // now t0+90m: the first expired at +60m, the second fresh until +89m
	os.WriteFile(filepath.Join(s.Dir(), KeyHash(gkey("bad"))), []byte("junk"), 0o600)

	infos, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		registry, repo, sa string
		state              State
	}{
		{"expired.gcr.io", "", "", Expired},
		{"stale.gcr.io", "", "", Stale},
		{sa.Registry, sa.Repo, "team/puller", Fresh},
		{"", "", "", Invalid},
	}
	if len(infos) != len(want) {
		t.Fatalf("List: %+v", infos)
	}
	for i, w := range want {
		in := infos[i]
		if in.Registry != w.registry || in.Repo != w.repo || in.ServiceAccount != w.sa || in.State != w.state || !isKeyHash(in.Hash) {
			t.Errorf("entry %d: %+v, want %+v", i, in, w)
		}
	}
	if dump := fmt.Sprintf("%+v", infos); strings.Contains(dump, "fake-token") || strings.Contains(dump, "u-1") {
		t.Fatalf("List shows a secret or the SA UID: %s", dump)
	}

	unknown := filepath.Join(s.Dir(), "README")
	os.WriteFile(unknown, nil, 0o600)
	if err := s.Purge(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(s.Dir())
	if len(ents) != 1 || ents[0].Name() != "README" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("after Purge: %v", names)
	}
	if infos, _ := s.List(); len(infos) != 0 {
		t.Fatalf("List after Purge: %v", infos)
	}
}

// sp is a fake Cacheable backend whose tokens are bound to the service account that
// asked: the password names the account, so serving it to another shows.
type saBackend struct {
	calls atomic.Int32
	c     *clock
}

func (b *saBackend) Name() string                    { return "fakecloud" }
func (b *saBackend) Serves(img providers.Image) bool { return img.Host == "reg.example" }
func (b *saBackend) CacheIdentity(req providers.Request) (string, providers.CacheKeyType) {
	return "wi|audience=fake", providers.RegistryPluginCacheKeyType
}
func (b *saBackend) Credentials(ctx context.Context, req providers.Request) (*providers.Result, error) {
	b.calls.Add(1)
	sa := req.ServiceAccount
	return &providers.Result{
		Auth:         map[string]providers.AuthConfig{"reg.example": {Username: "x", Password: "token-for-" + sa.Namespace + "/" + sa.Name + "/" + sa.UID}},
		CacheKeyType: providers.RegistryPluginCacheKeyType,
		Expiry:       b.c.Now().Add(time.Hour),
	}, nil
}

// A token cached for one service account is never served to another, through the
// dispatcher as the binary uses it; and the service account token is never stored.
func TestDispatcherNeverServesOneServiceAccountsTokenToAnother(t *testing.T) {
	c := &clock{t: t0}
	s := newStore(t, c, Options{})
	b := &saBackend{c: c}
	d := &providers.Dispatcher{Providers: []providers.Provider{b}, Cache: s, Now: c.Now}
	accounts := []providers.ServiceAccount{
		{Token: "pod-token-secret-A", Namespace: "team-a", Name: "puller", UID: "uid-a"},
		{Token: "pod-token-secret-B", Namespace: "team-b", Name: "puller", UID: "uid-b"},
		{Token: "pod-token-secret-C", Namespace: "team-a", Name: "puller", UID: "uid-a2"}, // same name, recreated
		{Token: "pod-token-secret-D", Namespace: "team-a", Name: "other", UID: "uid-a"},
	}
	for round := 0; round < 2; round++ {
		for _, sa := range accounts {
			sa := sa
			ans, err := d.Resolve(context.Background(), providers.Request{Image: providers.Image{Host: "reg.example", Path: "app"}, ServiceAccount: &sa})
			if err != nil {
				t.Fatal(err)
			}
			want := "token-for-" + sa.Namespace + "/" + sa.Name + "/" + sa.UID
			if got := ans.Auth["reg.example"].Password; got != want {
				t.Fatalf("round %d: %s/%s got %q", round, sa.Namespace, sa.Name, got)
			}
		}
	}
	if n := b.calls.Load(); n != int32(len(accounts)) {
		t.Fatalf("%d backend calls, want one per service account (%d)", n, len(accounts))
	}
	ents, _ := os.ReadDir(s.Dir())
	for _, de := range ents {
		data, _ := os.ReadFile(filepath.Join(s.Dir(), de.Name()))
		if strings.Contains(string(data), "pod-token-secret") {
			t.Fatalf("%s holds a service account token", de.Name())
		}
	}
}

func FuzzDecode(f *testing.F) {
	key := KeyHash(gkey("gcr.io"))
	good, _ := encode(&entry{Key: key, Backend: "gcr", Registry: "gcr.io", Issued: t0, Expiry: t0.Add(time.Hour),
		Auth: map[string]providers.AuthConfig{"gcr.io": {Username: "u", Password: "p"}}})
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(magic + "\n{}\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decode(key, data)
		if err != nil {
			return
		}
		if e.Key != key || e.Expiry.IsZero() {
			t.Fatalf("accepted %+v", e)
		}
		again, err := encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decode(key, again); err != nil {
			t.Fatalf("re-encoded entry rejected: %v", err)
		}
	})
}

// BenchmarkFetchHit is the cache's part of a warm invocation: one fresh entry read,
// checked and decoded. The token sizes are those of a Google access token and of an
// ECR authorization token.
func BenchmarkFetchHit(b *testing.B) {
	for _, size := range []int{256, 3 << 10} {
		b.Run(fmt.Sprintf("token=%dB", size), func(b *testing.B) {
			s := newStore(b, nil, Options{})
			var calls int
			fetch := func(context.Context) (*providers.Result, error) {
				calls++
				return &providers.Result{
					Auth:         map[string]providers.AuthConfig{"gcr.io": {Username: "oauth2accesstoken", Password: strings.Repeat("t", size)}},
					CacheKeyType: providers.RegistryPluginCacheKeyType,
					Expiry:       time.Now().Add(time.Hour),
				}, nil
			}
			key := gkey("gcr.io")
			s.Fetch(context.Background(), key, fetch)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Fetch(context.Background(), key, fetch); err != nil {
					b.Fatal(err)
				}
			}
			if calls != 1 {
				b.Fatal("miss")
			}
		})
	}
}

// BenchmarkOpenAndHit is what one warm process does: open the store, then hit.
func BenchmarkOpenAndHit(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "cache")
	u := &upstream{c: &clock{t: time.Now()}}
	key := gkey("gcr.io")
	openAt(b, dir, nil, Options{}).Fetch(context.Background(), key, u.fetch)
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Fetch(context.Background(), key, u.fetch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchMissAndStore is the cache's part of a cold invocation: the entry has
// expired, so Fetch takes the key's lock, calls upstream (in memory here) and stores
// the new entry.
func BenchmarkFetchMissAndStore(b *testing.B) {
	c := &clock{t: time.Now()}
	s := newStore(b, c, Options{SweepInterval: 100000 * time.Hour})
	u := &upstream{c: c}
	key := gkey("gcr.io")
	b.ReportAllocs()
	for b.Loop() {
		c.Add(2 * time.Hour) // the last entry has expired
		if _, err := s.Fetch(context.Background(), key, u.fetch); err != nil {
			b.Fatal(err)
		}
	}
}
