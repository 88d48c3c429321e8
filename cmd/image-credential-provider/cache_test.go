package main

// Binary-level tests of the on-disk token cache: the built plugin, run as the kubelet
// runs it, against the loopback Google fake (the simplest token backend).

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/testbin"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

// runPluginNoT runs the plugin like runPlugin but is safe from any goroutine: it
// reports failures to start in the result instead of through t.
func runPluginNoT(home string, env []string, stdin string, args ...string) (result, error) {
	r, err := testbin.Run{Bin: pluginBin, Args: args, Home: home, Env: env, Stdin: stdin}.Do()
	return result{stdout: r.Stdout, stderr: r.Stderr, code: r.Code}, err
}

func gcrRequest(image string) string { return request(gcrV1, image) }

// 50 kubelet invocations in parallel that miss the same key go upstream once: one
// fetches, the 49 others wait for it and answer with its token, and every call the
// fake sees is that one's (on a starved machine, wine or qemu running 50 processes on
// 2 cores, its first request can outlast the 5 s a metadata request may take, and the
// library sends it again: a retry within the one fetch, which its log shows). Under
// wine test/platforms.sh asks for 20 (testbin.ParallelRuns), the count issue 16 asks
// for: with 50 starting at once, wine's server left this process's fake unanswered
// for the whole 15 s a metadata fetch may take, about once in ten runs. The next
// invocation is served from the cache with no call at all; `cache list` shows the
// entry without its token; `cache purge` empties the cache.
func TestCacheParallelInvocationsMakeOneUpstreamCall(t *testing.T) {
	f, env := startGoogleFake(t)
	f.SetDelay(gcpfake.MetadataToken, 300*time.Millisecond) // the misses overlap
	dir := filepath.Join(t.TempDir(), "cache")
	args := []string{"--backends=gcr", "--cache-dir", dir}
	n := testbin.ParallelRuns(t, 50)
	results := make([]result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		home := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			// -v=2: each run logs whether it fetched or hit the cache, and its HTTP calls.
			results[i], errs[i] = runPluginNoT(home, env, gcrRequest("gcr.io/fake-project/app"), append(args, "-v=2")...)
		}()
	}
	wg.Wait()
	var token string
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		tok, _, d := googleToken(t, f, r, "gcr.io")
		if token == "" {
			token = tok
		}
		if tok != token {
			t.Fatalf("run %d got another token than the first run; their logs:\n%s\n\n%s", i, results[0].stderr, r.stderr)
		}
		if d < 53*time.Minute || d > 54*time.Minute {
			t.Errorf("run %d: cacheDuration %v, want about 54m", i, d)
		}
	}
	fetchers, fetcherCalls := 0, 0
	for i, r := range results {
		switch {
		case strings.Contains(r.stderr, `"Token cache miss: fetched and stored"`):
			fetchers++
			fetcherCalls = strings.Count(r.stderr, `/service-accounts/default/token"`)
		case strings.Contains(r.stderr, `"Token cache hit"`):
			if strings.Contains(r.stderr, `"HTTP call"`) {
				t.Errorf("run %d hit the cache and still called upstream:\n%s", i, r.stderr)
			}
		default:
			t.Errorf("run %d neither fetched nor hit the cache:\n%s", i, r.stderr)
		}
	}
	if fetchers != 1 {
		t.Fatalf("%d of %d parallel invocations fetched a token, want 1", fetchers, n)
	}
	if c := f.Calls(gcpfake.MetadataToken); c != fetcherCalls || c < 1 {
		t.Fatalf("the fake saw %d metadata token calls; the one invocation that fetched logged %d", c, fetcherCalls)
	}
	before := f.TotalCalls()

	r := runPlugin(t, "", env, gcrRequest("gcr.io/fake-project/other"), args...)
	if tok, _, d := googleToken(t, f, r, "gcr.io"); tok != token || d < 53*time.Minute {
		t.Fatalf("warm run: another token or cacheDuration %v", d)
	}
	if after := f.TotalCalls(); after != before {
		t.Fatalf("warm run made %d upstream calls", after-before)
	}
	if r.stderr != "" {
		t.Errorf("warm run wrote on stderr: %q", r.stderr)
	}

	r = runPlugin(t, "", nil, "", "cache", "list", "--cache-dir", dir)
	if r.code != 0 {
		t.Fatalf("cache list: exit %d %s", r.code, r.stderr)
	}
	for _, want := range []string{"BACKEND", "gcr.io", "gcr ", "fresh"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cache list does not show %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, token) || strings.Contains(r.stdout, "ya29.") {
		t.Fatalf("cache list shows the token:\n%s", r.stdout)
	}
	// One token entry; each run (with its own HOME, so its own fingerprint) also
	// recorded its answer.
	tokens := 0
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "fresh") && !strings.Contains(l, "kubelet-answer") {
			tokens++
		}
	}
	if tokens != 1 {
		t.Errorf("%d token entries listed, want 1:\n%s", tokens, r.stdout)
	}

	r = runPlugin(t, "", nil, "", "cache", "purge", "--cache-dir", dir)
	if r.code != 0 {
		t.Fatalf("cache purge: exit %d %s", r.code, r.stderr)
	}
	r = runPlugin(t, "", nil, "", "cache", "list", "--cache-dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "empty") {
		t.Fatalf("cache list after purge: exit %d\n%s", r.code, r.stdout)
	}
	calls := f.Calls(gcpfake.MetadataToken)
	r = runPlugin(t, "", env, gcrRequest("gcr.io/fake-project/app"), args...)
	if tok, _, _ := googleToken(t, f, r, "gcr.io"); tok == token || f.Calls(gcpfake.MetadataToken) == calls {
		t.Fatalf("after purge the old token was served (%d token calls, %d before)", f.Calls(gcpfake.MetadataToken), calls)
	}
}

// A cache directory the plugin must not trust is refused with one warning line, and
// the pull is still answered (from upstream, every time).
func TestCacheUnsafeDirFallsBackToNoCache(t *testing.T) {
	tests := append(unsafeDirCases(), // the platform's own cases (access_*_test.go)
		unsafeDirCase{"a file", func(t *testing.T, dir string) { writeFile(t, filepath.Dir(dir), filepath.Base(dir), "") }, "not a directory"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, env := startGoogleFake(t)
			dir := filepath.Join(t.TempDir(), "cache")
			tt.setup(t, dir)
			for i := 1; i <= 2; i++ {
				r := runPlugin(t, "", env, gcrRequest("gcr.io/p/app"), "--backends=gcr", "--cache-dir", dir)
				googleToken(t, f, r, "gcr.io")
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], "without the token cache") || !strings.Contains(lines[0], tt.want) || !strings.Contains(lines[0], dir) {
					t.Fatalf("stderr %q: want one warning naming %s and %q", r.stderr, dir, tt.want)
				}
				if c := f.Calls(gcpfake.MetadataToken); c != i {
					t.Fatalf("run %d: %d token calls: something was cached", i, c)
				}
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Fatalf("files written into the refused dir: %v", ents)
			}
			// cache list and purge refuse it too, with the reason.
			r := runPlugin(t, "", nil, "", "cache", "list", "--cache-dir", dir)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("cache list on an unsafe dir: exit %d %q", r.code, r.stderr)
			}
		})
	}
}

// unsafeDirCase makes dir (which does not exist yet) a cache directory the plugin must
// refuse, with want in the reason.
type unsafeDirCase struct {
	name  string
	setup func(t *testing.T, dir string)
	want  string
}

// Where the cache lives and how it is turned off: the default dir (an explicit
// XDG_CACHE_HOME), --cache-dir, the config file's cache section, --no-cache.
func TestCacheDirSettings(t *testing.T) {
	cfgFile := func(t *testing.T, section string) string {
		return writeFile(t, t.TempDir(), "config.yaml", "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [gcr]\n"+section)
	}
	tests := []struct {
		name      string
		args      func(t *testing.T, dir string) []string
		extraEnv  func(dir string) []string
		wantCache string // relative to dir; "" = nothing cached
	}{
		{"default dir under XDG_CACHE_HOME", func(t *testing.T, dir string) []string { return []string{"--backends=gcr"} },
			func(dir string) []string { return []string{"XDG_CACHE_HOME=" + dir} }, "image-credential-provider"},
		{"--cache-dir", func(t *testing.T, dir string) []string {
			return []string{"--backends=gcr", "--cache-dir", filepath.Join(dir, "flag")}
		}, nil, "flag"},
		{"config file dir", func(t *testing.T, dir string) []string {
			return []string{"--config", cfgFile(t, "cache:\n  dir: "+filepath.Join(dir, "file")+"\n")}
		}, nil, "file"},
		{"--cache-dir overrides the file", func(t *testing.T, dir string) []string {
			return []string{"--config", cfgFile(t, "cache:\n  dir: "+filepath.Join(dir, "file")+"\n"), "--cache-dir", filepath.Join(dir, "flag")}
		}, nil, "flag"},
		{"--no-cache", func(t *testing.T, dir string) []string {
			return []string{"--backends=gcr", "--no-cache", "--cache-dir", filepath.Join(dir, "flag")}
		}, nil, ""},
		{"config file disabled", func(t *testing.T, dir string) []string {
			return []string{"--config", cfgFile(t, "cache:\n  disabled: true\n  dir: "+filepath.Join(dir, "file")+"\n")}
		}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, env := startGoogleFake(t)
			dir := t.TempDir()
			if tt.extraEnv != nil {
				env = append(env, tt.extraEnv(dir)...)
			}
			args := tt.args(t, dir)
			for i := 0; i < 2; i++ {
				googleToken(t, f, runPlugin(t, "", env, gcrRequest("gcr.io/p/app"), args...), "gcr.io")
			}
			wantCalls := 1
			if tt.wantCache == "" {
				wantCalls = 2
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("cache disabled but %s holds %d files", dir, len(ents))
				}
			} else {
				ents, err := os.ReadDir(filepath.Join(dir, tt.wantCache))
				if err != nil || len(ents) == 0 {
					t.Errorf("nothing cached in %s: %v", tt.wantCache, err)
				}
			}
			if c := f.Calls(gcpfake.MetadataToken); c != wantCalls {
				t.Errorf("%d token calls for 2 runs, want %d", c, wantCalls)
			}
		})
	}
}

// cache list and purge on a directory that does not exist say so and create nothing.
func TestCacheCommandsOnMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	for _, verb := range []string{"list", "purge"} {
		r := runPlugin(t, "", nil, "", "cache", verb, "--cache-dir", dir)
		if r.code != 0 || !strings.Contains(r.stdout, "does not exist") {
			t.Errorf("cache %s: exit %d %q %q", verb, r.code, r.stdout, r.stderr)
		}
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("cache commands created the dir: %v", err)
	}
	r := runPlugin(t, "", nil, "", "cache", "frobnicate", "--cache-dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "want list or purge") {
		t.Errorf("cache frobnicate: exit %d %q", r.code, r.stderr)
	}
}

// A pull that no token backend serves never touches the cache directory.
// A static-only pull fetches no token, so the cache holds no token entry; only the
// answer is recorded (for replay by the front end), in a private dir,
// and `cache list` shows it without its password.
func TestCacheStaticPullRecordsOnlyItsAnswer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	r := runPlugin(t, "", nil, request(gcrV1, "my-registry.example/images/app"), "--backends=static", "--dockercfg", exampleConfig, "--cache-dir", dir)
	if resp := decodeResponse(t, r); len(resp.Auth) == 0 {
		t.Fatalf("no static credentials: %+v", resp)
	}
	checkPrivate(t, dir)
	list := runPlugin(t, "", nil, "", "cache", "list", "--cache-dir", dir)
	if list.code != 0 || !strings.Contains(list.stdout, "kubelet-answer") || strings.Contains(list.stdout, "not-a-real-password") {
		t.Fatalf("cache list: exit %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	for _, backend := range []string{"static", "gcr", "ecr", "acr"} {
		if strings.Contains(list.stdout, " "+backend+" ") {
			t.Fatalf("a token entry for %s after a static-only pull:\n%s", backend, list.stdout)
		}
	}
}

// A repeated answer is not written again (a cache hit costs no write and no fsync); a
// changed one is recorded.
func TestCacheRecordedAnswerRewrittenOnlyWhenItChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfgDir := t.TempDir()
	cfg := filepath.Join(cfgDir, "config.json")
	var password string
	write := func(p string) {
		password = p
		writeFile(t, cfgDir, "config.json", `{"auths":{"my-registry.example":{"username":"u","password":"`+p+`"}}}`)
	}
	records := func() map[string]os.FileInfo {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]os.FileInfo{}
		for _, e := range ents {
			// os.Stat, not e.Info: on Windows the latter reads the file's identity only
			// when os.SameFile asks, from whatever file has the name by then.
			if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.Mode().IsRegular() && len(e.Name()) == 64 {
				out[e.Name()] = fi
			}
		}
		return out
	}
	home := t.TempDir()
	pull := func() {
		t.Helper()
		// The same home, so the same environment every run: the record's key holds it.
		r, err := runPluginNoT(home, nil, request(gcrV1, "my-registry.example/app"), "--backends=static", "--dockercfg", cfg, "--cache-dir", dir)
		if err != nil {
			t.Fatal(err)
		}
		if resp := decodeResponse(t, r); len(resp.Auth) != 1 || resp.Auth["my-registry.example"].Password != password {
			t.Fatalf("answer %+v, want password %s", resp, password)
		}
	}
	write("first-not-a-secret")
	pull()
	before := records()
	if len(before) != 1 {
		t.Fatalf("%d records after one pull, want 1", len(before))
	}
	pull()
	after := records()
	for name, fi := range before {
		if a, ok := after[name]; !ok || !os.SameFile(fi, a) || !a.ModTime().Equal(fi.ModTime()) {
			t.Fatalf("record %s rewritten by an identical answer", name)
		}
	}
	if len(after) != 1 {
		t.Fatalf("%d records after a repeated pull, want 1", len(after))
	}
	// The static file is read on every run: a changed password replaces the record.
	write("second-not-a-secret")
	pull()
	changed := records()
	for name, fi := range before {
		if a, ok := changed[name]; !ok || len(changed) != 1 || os.SameFile(fi, a) {
			t.Fatalf("record %s not replaced after the answer changed (%d records)", name, len(changed))
		}
	}
}

// When the refresh of a stale entry fails, the plugin answers with the cached token
// (still valid), a short cacheDuration and a warning; once expired it fails.
func TestCacheServesStaleTokenWhenUpstreamFails(t *testing.T) {
	f, env := startGoogleFake(t)
	// 62 s tokens: the minimum safety margin of one minute leaves 2 s of freshness.
	f.SetTokenLifetimes(62 * time.Second)
	dir := filepath.Join(t.TempDir(), "cache")
	args := []string{"--backends=gcr", "--cache-dir", dir}
	token, _, _ := googleToken(t, f, runPlugin(t, "", env, gcrRequest("gcr.io/p/app"), args...), "gcr.io")
	time.Sleep(2500 * time.Millisecond)
	f.FailNext(gcpfake.MetadataToken, 100, 503)
	r := runPlugin(t, "", env, gcrRequest("gcr.io/p/app"), args...)
	tok, _, d := googleToken(t, f, r, "gcr.io")
	if tok != token {
		t.Fatal("served another token")
	}
	if d > time.Minute {
		t.Errorf("cacheDuration %v for a stale token, want at most 1m", d)
	}
	if !strings.Contains(r.stderr, "serving cached credentials") || !strings.Contains(r.stderr, "gcr.io") || strings.Contains(r.stderr, token) {
		t.Errorf("stderr %q: want a warning naming the registry, without the token", r.stderr)
	}
}

// An entry others may change (on Linux by its mode, on Windows by an access list that
// lets Everyone write) is not trusted: neither the front end's replay nor the
// companion's token cache serves it, the run fetches anew, and what it writes is
// private again and served to the next run.
func TestCacheLooseEntryIgnoredAndReplaced(t *testing.T) {
	f, env := startGoogleFake(t)
	dir := filepath.Join(t.TempDir(), "cache")
	home := t.TempDir() // the same environment every run: the front end may replay
	args := []string{"--backends=gcr", "--cache-dir", dir}
	pull := func() (string, result) {
		t.Helper()
		r, err := runPluginNoT(home, env, gcrRequest("gcr.io/p/app"), args...)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, _ := googleToken(t, f, r, "gcr.io")
		return tok, r
	}
	first, _ := pull()
	entries := cacheEntries(t, dir)
	if len(entries) != 2 {
		t.Fatalf("%d entries after one pull, want 2 (the token and the recorded answer)", len(entries))
	}
	for _, p := range entries {
		loosen(t, p)
	}
	second, r := pull()
	if c := f.Calls(gcpfake.MetadataToken); c != 2 || second == first {
		t.Fatalf("a loose entry was served (%d token calls; same token: %v); stderr %q", c, second == first, r.stderr)
	}
	for _, p := range cacheEntries(t, dir) {
		checkPrivate(t, p)
	}
	if third, _ := pull(); third != second || f.Calls(gcpfake.MetadataToken) != 2 {
		t.Fatalf("the replaced entry was not served (%d token calls)", f.Calls(gcpfake.MetadataToken))
	}
}

// cacheEntries lists the entry files of the cache in dir (named by their key's hash).
func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && len(e.Name()) == 64 {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}
