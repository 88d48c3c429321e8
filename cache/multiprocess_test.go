package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/providers"
)

// The multi-process tests run this test binary again as the other processes: with
// childMode set in its environment it does one job (see child) instead of the tests.
// It needs no Go toolchain, so the tests run as they are under wine and qemu.
const (
	childMode  = "ICP_CACHE_TEST_CHILD" // fetch, hold-lock, write
	childDir   = "ICP_CACHE_TEST_DIR"   // the cache directory
	childURL   = "ICP_CACHE_TEST_URL"   // fetch: the loopback upstream
	childCount = "ICP_CACHE_TEST_COUNT" // write: how many entries
	// execPrefix, when set, is the command (an emulator such as qemu-aarch64-static)
	// that runs binaries of the platform under test; test/platforms.sh sets it.
	execPrefix = "ICP_TEST_EXEC"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childMode); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// childCommand is this test binary run as a child in mode, with extra environment.
func childCommand(ctx context.Context, t testing.TB, mode string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := append(strings.Fields(os.Getenv(execPrefix)), exe)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), childMode+"="+mode), env...)
	return cmd
}

// childKey is the key every child works on.
var childKey = providers.CacheKey{Backend: "fake", Identity: "test", Scope: providers.RegistryPluginCacheKeyType, Registry: "reg.example"}

// child is one child process's job; it returns the exit code. Failures are printed on
// stdout.
//
//	fetch      one "invocation": wait at $URL/gate until the test releases every process
//	           at once, say so at $URL/ready, then one Fetch whose upstream call is a GET
//	           of $URL/token ("<password> <lifetime in seconds>"); print the password or
//	           the error (exit 3)
//	hold-lock  take the key's lock, print "locked", hold it until stdin closes
//	write      Put $COUNT entries, alternately small and large (see writtenPassword)
func child(mode string) int {
	fail := func(err error) int { fmt.Println("error:", err); return 3 }
	s, err := Open(os.Getenv(childDir), Options{})
	if err != nil {
		return fail(err)
	}
	switch mode {
	case "fetch":
		return childFetch(s, os.Getenv(childURL))
	case "hold-lock":
		l, err := s.lock(context.Background(), KeyHash(childKey), time.Now().Add(time.Minute))
		if err != nil {
			return fail(err)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		l.unlock()
		return 0
	case "write":
		n, _ := strconv.Atoi(os.Getenv(childCount))
		for i := 1; i <= n; i++ {
			res := &providers.Result{
				Auth:         map[string]providers.AuthConfig{"reg.example": {Username: "u", Password: writtenPassword(i)}},
				CacheKeyType: providers.RegistryPluginCacheKeyType,
				Expiry:       time.Now().Add(time.Hour),
			}
			if err := s.Put(childKey, res); err != nil {
				return fail(fmt.Errorf("write %d: %w", i, err))
			}
		}
		return 0
	}
	return fail(fmt.Errorf("unknown mode %q", mode))
}

func childFetch(s *Store, url string) int {
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 60 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, step := range []string{"/gate", "/ready"} {
		if _, err := get(ctx, client, url+step); err != nil {
			fmt.Println("error:", err)
			return 3
		}
	}
	res, err := s.Fetch(ctx, childKey, func(ctx context.Context) (*providers.Result, error) {
		body, err := get(ctx, client, url+"/token")
		if err != nil {
			return nil, fmt.Errorf("fake: registry reg.example: %w", err)
		}
		pass, secs, ok := strings.Cut(strings.TrimSpace(body), " ")
		n, err := strconv.Atoi(secs)
		if !ok || err != nil {
			return nil, errors.New("fake: registry reg.example: bad token answer")
		}
		return &providers.Result{
			Auth:         map[string]providers.AuthConfig{"reg.example": {Username: "u", Password: pass}},
			CacheKeyType: providers.RegistryPluginCacheKeyType,
			Expiry:       time.Now().Add(time.Duration(n) * time.Second),
		}, nil
	})
	if err != nil {
		fmt.Println("error:", err)
		return 3
	}
	fmt.Println(res.Auth["reg.example"].Password)
	return 0
}

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("upstream status %d", resp.StatusCode)
	}
	return string(b), nil
}

// countingUpstream is the loopback server of the multi-process test: /gate holds every
// process until the expected number have arrived (so their Fetches really overlap),
// /ready counts those that passed it, and /token, the counted upstream call, answers
// only once every process is past /ready and a moment more, so that the others are
// waiting on the lock when it ends (a process that only starts waiting after a failed
// call was recorded rightly calls upstream again; slow or loaded machines must not
// make that happen here).
type countingUpstream struct {
	mu      sync.Mutex
	expect  int
	arrived int
	release chan struct{}
	ready   int
	allIn   chan struct{}

	calls atomic.Int32
	fail  atomic.Bool
}

// round prepares the gate for n processes.
func (u *countingUpstream) round(n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.expect, u.arrived, u.release = n, 0, make(chan struct{})
	u.ready, u.allIn = 0, make(chan struct{})
}

func (u *countingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/gate":
		u.mu.Lock()
		u.arrived++
		if u.arrived == u.expect {
			close(u.release)
		}
		release := u.release
		u.mu.Unlock()
		select {
		case <-release:
		case <-time.After(60 * time.Second):
			http.Error(w, "not every process arrived", http.StatusServiceUnavailable)
		}
	case "/ready":
		u.mu.Lock()
		u.ready++
		if u.ready == u.expect {
			close(u.allIn)
		}
		u.mu.Unlock()
	case "/token":
		n := u.calls.Add(1)
		u.mu.Lock()
		allIn := u.allIn
		u.mu.Unlock()
		select {
		case <-allIn:
		case <-time.After(60 * time.Second):
		}
		time.Sleep(200 * time.Millisecond)
		if u.fail.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "proc-token-%d 3600\n", n)
	default:
		http.NotFound(w, r)
	}
}

// runProcs starts n fetch children at once against the cache in dir and returns what
// each printed.
func runProcs(t *testing.T, dir, url string, n int) []string {
	t.Helper()
	out := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			cmd := childCommand(ctx, t, "fetch", childDir+"="+dir, childURL+"="+url)
			b, err := cmd.Output()
			out[i] = strings.TrimSpace(string(b))
			if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 3) {
				out[i] = fmt.Sprintf("run failed: %v: %s", err, b)
			}
		}()
	}
	wg.Wait()
	return out
}

// 50 processes that miss the same key at once make exactly one upstream call between
// them, whether it works (all get its token) or fails (all get its error); the next
// process is served from the cache, or tries again after a failure.
func TestProcessesMissingTogetherMakeOneUpstreamCall(t *testing.T) {
	const n = 50
	tests := []struct {
		name      string
		fail      bool
		want      string // what every one of the n processes prints
		wantCalls int32
		// then one more process, with the upstream working
		wantNext      string
		wantNextCalls int32
	}{
		{"upstream works", false, "proc-token-1", 1, "proc-token-1", 1},
		{"upstream fails", true, "error: fake: registry reg.example: upstream status 500", 1, "proc-token-2", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &countingUpstream{}
			srv := httptest.NewServer(u)
			defer srv.Close()
			dir := filepath.Join(t.TempDir(), "cache")

			u.fail.Store(tt.fail)
			u.round(n)
			for i, got := range runProcs(t, dir, srv.URL, n) {
				if got != tt.want {
					t.Fatalf("process %d printed %q, want %q", i, got, tt.want)
				}
			}
			if c := u.calls.Load(); c != tt.wantCalls {
				t.Fatalf("%d upstream calls for %d processes, want %d", c, n, tt.wantCalls)
			}

			u.fail.Store(false)
			u.round(1)
			if got := runProcs(t, dir, srv.URL, 1)[0]; got != tt.wantNext {
				t.Fatalf("next process printed %q, want %q", got, tt.wantNext)
			}
			if c := u.calls.Load(); c != tt.wantNextCalls {
				t.Fatalf("%d upstream calls after the next process, want %d", c, tt.wantNextCalls)
			}
		})
	}
}

// A key's lock held by one process keeps every other process out until it is released,
// by unlocking or by the holder dying.
func TestLockIsExclusiveAcrossProcesses(t *testing.T) {
	for _, release := range []string{"unlock", "killed"} {
		t.Run(release, func(t *testing.T) {
			s := newStore(t, nil, Options{})
			name := KeyHash(childKey)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := childCommand(ctx, t, "hold-lock", childDir+"="+s.Dir())
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer stdin.Close()
			if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "locked" {
				t.Fatalf("child printed %q, want locked", line)
			}

			if l, ok := s.tryLockPath(filepath.Join(s.Dir(), name+lockSuffix)); ok {
				l.unlock()
				t.Fatal("took the lock another process holds")
			}
			if l, err := s.lock(ctx, name, time.Now().Add(200*time.Millisecond)); !errors.Is(err, errLockTimeout) {
				if l != nil {
					l.unlock()
				}
				t.Fatalf("waiting for a held lock: %v, want %v", err, errLockTimeout)
			}

			const holdFor = 300 * time.Millisecond
			released := time.Now().Add(holdFor)
			time.AfterFunc(holdFor, func() {
				if release == "killed" {
					cmd.Process.Kill()
				} else {
					stdin.Close()
				}
			})
			l, err := s.lock(ctx, name, time.Now().Add(time.Minute))
			if err != nil {
				t.Fatalf("lock after the holder's release: %v", err)
			}
			defer l.unlock()
			if early := time.Until(released); early > 0 {
				t.Fatalf("took the lock %v before the holder released it", early)
			}
		})
	}
}

// writtenPassword is the password of the i-th entry the write child stores: small for
// odd i, 256 KiB for even i, so a reader that saw a file being written, or the end of
// one file and the start of another, would see a wrong length or a bad checksum.
func writtenPassword(i int) string {
	p := "v" + strconv.Itoa(i) + "-"
	if i%2 == 0 {
		return p + strings.Repeat("x", 256<<10)
	}
	return p + "small"
}

// While another process replaces an entry over and over (entries of alternating
// sizes), readers in this process always read a whole, valid entry, old or new: never
// a missing, partial or mixed one, and the writer's replaces all succeed though the
// readers have the entry open again and again. (Each reader pauses between reads for
// at least twice as long as its read took, so that it holds the entry open at most a
// third of the time, as the processes the kubelet starts, which read once each, do:
// on Windows without POSIX rename semantics, wine's among them, a replace waits for a
// moment when no reader has the file open, and a fixed pause left the two readers
// holding it nearly all the time on a loaded machine, where a read under wine takes
// many milliseconds.)
func TestReplaceIsAtomicForReaders(t *testing.T) {
	s := newStore(t, nil, Options{SweepInterval: time.Hour})
	if err := s.Put(childKey, &providers.Result{
		Auth:         map[string]providers.AuthConfig{"reg.example": {Username: "u", Password: writtenPassword(0)}},
		CacheKeyType: providers.RegistryPluginCacheKeyType,
		Expiry:       time.Now().Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	const writes = 200
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := childCommand(ctx, t, "write", childDir+"="+s.Dir(), childCount+"="+strconv.Itoa(writes))
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	name := KeyHash(childKey)
	var mu sync.Mutex
	seen := map[int]bool{}
	reads := 0
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				began := time.Now()
				e, err := s.read(name)
				took := time.Since(began)
				if err != nil {
					errs <- fmt.Errorf("read %d: %w", reads, err)
					return
				}
				pw := e.Auth["reg.example"].Password
				v, _, _ := strings.Cut(strings.TrimPrefix(pw, "v"), "-")
				i, err := strconv.Atoi(v)
				if err != nil || pw != writtenPassword(i) {
					errs <- fmt.Errorf("read an entry with a %d-byte password %.20q...", len(pw), pw)
					return
				}
				mu.Lock()
				seen[i] = true
				reads++
				mu.Unlock()
				time.Sleep(time.Millisecond + 2*took)
			}
		}()
	}
	werr := <-done
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if werr != nil || strings.TrimSpace(out.String()) != "" {
		t.Fatalf("writer: %v %s", werr, out.String())
	}
	if e, err := s.read(name); err != nil || e.Auth["reg.example"].Password != writtenPassword(writes) {
		t.Fatalf("after the writer: %v, want its last entry", err)
	}
	// The readers must have overlapped the writer, or this proved nothing.
	if len(seen) < 3 {
		t.Fatalf("%d reads saw only %d versions of the entry: the readers did not overlap the writer", reads, len(seen))
	}
	t.Logf("%d reads saw %d of %d versions", reads, len(seen), writes+1)
}
