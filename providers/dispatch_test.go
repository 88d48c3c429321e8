package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeProvider struct {
	name   string
	hosts  []string
	res    *Result
	err    error
	calls  int
	mu     sync.Mutex
	ident  string
	scope  CacheKeyType
	gotReq Request
}

func (f *fakeProvider) Name() string { return f.name }
func (f *fakeProvider) Serves(img Image) bool {
	for _, h := range f.hosts {
		if h == img.Host {
			return true
		}
	}
	return false
}
func (f *fakeProvider) Credentials(_ context.Context, req Request) (*Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.gotReq = req
	return f.res, f.err
}

type cacheableProvider struct{ *fakeProvider }

func (c cacheableProvider) CacheIdentity(Request) (string, CacheKeyType) {
	return c.ident, c.scope
}

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func req(host string) Request { return Request{Image: Image{Host: host, Path: "team/app"}} }

func TestResolveMerge(t *testing.T) {
	static := func(kt CacheKeyType, d time.Duration, keys ...string) *Result {
		r := &Result{Auth: map[string]AuthConfig{}, CacheKeyType: kt, CacheDuration: d}
		for _, k := range keys {
			r.Auth[k] = AuthConfig{Username: "u-" + k, Password: "p"}
		}
		return r
	}
	tests := []struct {
		name      string
		providers []Provider
		host      string
		wantKeys  []string
		wantKT    CacheKeyType
		wantDur   time.Duration
		wantErr   string
	}{
		{
			name:      "no backend serves the host",
			providers: []Provider{&fakeProvider{name: "a", hosts: []string{"x"}}},
			host:      "y", wantKT: RegistryPluginCacheKeyType, wantDur: DefaultNoMatchCacheDuration,
		},
		{
			name:      "one backend",
			providers: []Provider{&fakeProvider{name: "a", hosts: []string{"h"}, res: static(RegistryPluginCacheKeyType, time.Minute, "h")}},
			host:      "h", wantKeys: []string{"h"}, wantKT: RegistryPluginCacheKeyType, wantDur: time.Minute,
		},
		{
			name: "narrowest key type and shortest duration win",
			providers: []Provider{
				&fakeProvider{name: "a", hosts: []string{"h"}, res: static(RegistryPluginCacheKeyType, time.Hour, "h")},
				&fakeProvider{name: "b", hosts: []string{"h"}, res: static(ImagePluginCacheKeyType, 2*time.Hour, "h/team")},
			},
			host: "h", wantKeys: []string{"h", "h/team"}, wantKT: ImagePluginCacheKeyType, wantDur: time.Hour,
		},
		{
			name: "Global is narrowed to Registry when more than one backend is enabled",
			providers: []Provider{
				&fakeProvider{name: "a", hosts: []string{"h"}, res: static(GlobalPluginCacheKeyType, time.Hour, "h")},
				&fakeProvider{name: "b", hosts: []string{"other"}},
			},
			host: "h", wantKeys: []string{"h"}, wantKT: RegistryPluginCacheKeyType, wantDur: time.Hour,
		},
		{
			name:      "Global stays Global with a single backend",
			providers: []Provider{&fakeProvider{name: "a", hosts: []string{"h"}, res: static(GlobalPluginCacheKeyType, time.Hour, "h")}},
			host:      "h", wantKeys: []string{"h"}, wantKT: GlobalPluginCacheKeyType, wantDur: time.Hour,
		},
		{
			name: "token expiry caps the duration with the safety margin",
			providers: []Provider{&fakeProvider{name: "a", hosts: []string{"h"},
				res: &Result{Auth: map[string]AuthConfig{"h": {}}, CacheKeyType: RegistryPluginCacheKeyType, Expiry: t0.Add(10 * time.Hour)}}},
			host: "h", wantKeys: []string{"h"}, wantKT: RegistryPluginCacheKeyType, wantDur: 9 * time.Hour,
		},
		{
			name: "partial failure answers the successes with cacheDuration 0",
			providers: []Provider{
				&fakeProvider{name: "a", hosts: []string{"h"}, err: errors.New("a: registry h: boom")},
				&fakeProvider{name: "b", hosts: []string{"h"}, res: static(RegistryPluginCacheKeyType, time.Hour, "h")},
			},
			host: "h", wantKeys: []string{"h"}, wantKT: RegistryPluginCacheKeyType, wantDur: 0,
		},
		{
			name: "every backend fails",
			providers: []Provider{
				&fakeProvider{name: "a", hosts: []string{"h"}, err: errors.New("a: registry h: boom")},
				&fakeProvider{name: "b", hosts: []string{"h"}, err: errors.New("b: registry h: bang")},
			},
			host: "h", wantErr: "a: registry h: boom; b: registry h: bang",
		},
		{
			name:      "nil result is an error, not an empty answer",
			providers: []Provider{&fakeProvider{name: "a", hosts: []string{"h"}}},
			host:      "h", wantErr: "a: registry h: backend returned no result",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dispatcher{Providers: tt.providers, Now: func() time.Time { return t0 }}
			ans, err := d.Resolve(context.Background(), req(tt.host))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range ans.Auth {
				keys = append(keys, k)
			}
			if strings.Join(sorted(keys), ",") != strings.Join(tt.wantKeys, ",") {
				t.Errorf("keys = %v, want %v", keys, tt.wantKeys)
			}
			if ans.CacheKeyType != tt.wantKT || ans.CacheDuration != tt.wantDur {
				t.Errorf("got %s %s, want %s %s", ans.CacheKeyType, ans.CacheDuration, tt.wantKT, tt.wantDur)
			}
		})
	}
}

// TestResolveProblems: a backend that answers with problems gets cacheDuration 0, its
// problems reach the answer in backend order and each is a warning; an answer without
// problems keeps its cacheDuration.
func TestResolveProblems(t *testing.T) {
	res := func(d time.Duration, problems ...string) *Result {
		return &Result{Auth: map[string]AuthConfig{"h": {}}, CacheKeyType: RegistryPluginCacheKeyType, CacheDuration: d, Problems: problems}
	}
	tests := []struct {
		name      string
		providers []Provider
		wantDur   time.Duration
		problems  []string
	}{
		{"no problems", []Provider{&fakeProvider{name: "a", hosts: []string{"h"}, res: res(time.Minute)}}, time.Minute, nil},
		{"one backend with problems", []Provider{&fakeProvider{name: "a", hosts: []string{"h"}, res: res(time.Minute, "a: p1", "a: p2")}}, 0, []string{"a: p1", "a: p2"}},
		{
			"problems of one backend zero the merged answer",
			[]Provider{
				&fakeProvider{name: "a", hosts: []string{"h"}, res: res(time.Hour)},
				&fakeProvider{name: "b", hosts: []string{"h"}, res: res(time.Minute, "b: p")},
				&fakeProvider{name: "c", hosts: []string{"other"}, res: res(time.Minute, "c: not asked")},
			},
			0, []string{"b: p"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var warnings []string
			d := &Dispatcher{Providers: tt.providers, Warnf: func(format string, args ...any) {
				warnings = append(warnings, fmt.Sprintf(format, args...))
			}}
			ans, err := d.Resolve(context.Background(), req("h"))
			if err != nil {
				t.Fatal(err)
			}
			if ans.CacheDuration != tt.wantDur {
				t.Errorf("cacheDuration %s, want %s", ans.CacheDuration, tt.wantDur)
			}
			if fmt.Sprint(ans.Problems) != fmt.Sprint(tt.problems) {
				t.Errorf("problems %q, want %q", ans.Problems, tt.problems)
			}
			if len(warnings) != len(tt.problems) {
				t.Fatalf("warnings %q, want one per problem %q", warnings, tt.problems)
			}
			for i, p := range tt.problems {
				if !strings.HasPrefix(warnings[i], p+"; ") {
					t.Errorf("warning %q does not report %q", warnings[i], p)
				}
			}
			for _, c := range ans.Contributions {
				if len(c.Result.Problems) > 0 && c.CacheDuration != 0 {
					t.Errorf("%s: contribution with problems has cacheDuration %s", c.Backend, c.CacheDuration)
				}
			}
		})
	}
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestResolveEarlierProviderWinsKey(t *testing.T) {
	a := &fakeProvider{name: "a", hosts: []string{"h"}, res: &Result{Auth: map[string]AuthConfig{"h": {Username: "a"}}, CacheDuration: time.Minute}}
	b := &fakeProvider{name: "b", hosts: []string{"h"}, res: &Result{Auth: map[string]AuthConfig{"h": {Username: "b"}}, CacheDuration: time.Minute}}
	ans, err := (&Dispatcher{Providers: []Provider{a, b}}).Resolve(context.Background(), req("h"))
	if err != nil {
		t.Fatal(err)
	}
	if ans.Auth["h"].Username != "a" {
		t.Errorf("key h went to %q, want the earlier backend a", ans.Auth["h"].Username)
	}
}

type recordingCache struct {
	keys []CacheKey
}

func (c *recordingCache) Fetch(ctx context.Context, key CacheKey, fetch func(context.Context) (*Result, error)) (*Result, error) {
	c.keys = append(c.keys, key)
	return fetch(ctx)
}

func TestResolveCacheKeys(t *testing.T) {
	sa := &ServiceAccount{Token: "secret-token", Namespace: "ns", Name: "sa", UID: "uid-1"}
	res := &Result{Auth: map[string]AuthConfig{"h": {}}, Expiry: t0.Add(time.Hour)}
	tests := []struct {
		name  string
		scope CacheKeyType
		sa    *ServiceAccount
		want  *CacheKey
	}{
		{name: "registry", scope: RegistryPluginCacheKeyType, want: &CacheKey{Backend: "c", Identity: "id", Scope: RegistryPluginCacheKeyType, Registry: "h"}},
		{name: "image", scope: ImagePluginCacheKeyType, want: &CacheKey{Backend: "c", Identity: "id", Scope: ImagePluginCacheKeyType, Registry: "h", Repo: "h/team/app"}},
		{name: "global", scope: GlobalPluginCacheKeyType, want: &CacheKey{Backend: "c", Identity: "id", Scope: GlobalPluginCacheKeyType}},
		{name: "service account", scope: RegistryPluginCacheKeyType, sa: sa, want: &CacheKey{Backend: "c", Identity: "id", Scope: RegistryPluginCacheKeyType, Registry: "h", SANamespace: "ns", SAName: "sa", SAUID: "uid-1"}},
		{name: "unidentified service account is never cached", scope: RegistryPluginCacheKeyType, sa: &ServiceAccount{Token: "x"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cacheableProvider{&fakeProvider{name: "c", hosts: []string{"h"}, res: res, ident: "id", scope: tt.scope}}
			c := &recordingCache{}
			r := req("h")
			r.ServiceAccount = tt.sa
			if _, err := (&Dispatcher{Providers: []Provider{p}, Cache: c, Now: func() time.Time { return t0 }}).Resolve(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(c.keys) != 0 {
					t.Fatalf("cache used with key %+v", c.keys)
				}
				return
			}
			if len(c.keys) != 1 || c.keys[0] != *tt.want {
				t.Fatalf("keys = %+v, want %+v", c.keys, *tt.want)
			}
			if strings.Contains(c.keys[0].Identity+c.keys[0].SAUID, "secret-token") {
				t.Fatal("the service account token reached a cache key")
			}
		})
	}
}

func TestNewServiceAccount(t *testing.T) {
	// header.payload.signature with the claims of a projected service account token.
	tok := "eyJhbGciOiJSUzI1NiJ9." +
		"eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dGVhbTpidWlsZGVyIiwia3ViZXJuZXRlcy5pbyI6eyJuYW1lc3BhY2UiOiJ0ZWFtIiwic2VydmljZWFjY291bnQiOnsibmFtZSI6ImJ1aWxkZXIiLCJ1aWQiOiIxMjM0In19fQ" +
		".c2ln"
	sa := NewServiceAccount(tok, map[string]string{"a": "b"})
	if sa.Namespace != "team" || sa.Name != "builder" || sa.UID != "1234" || !sa.Identified() {
		t.Fatalf("got %+v", sa)
	}
	for _, bad := range []string{"", "x", "a.b.c", "a.!!!.c", "a.bnVsbA.c"} {
		if NewServiceAccount(bad, nil).Identified() {
			t.Errorf("token %q gave an identified service account", bad)
		}
	}
}

func FuzzNewServiceAccount(f *testing.F) {
	f.Add("a.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnM6bmFtZSJ9.c")
	f.Fuzz(func(t *testing.T, tok string) {
		sa := NewServiceAccount(tok, nil)
		if sa.Token != tok {
			t.Fatal("token not kept")
		}
	})
}
