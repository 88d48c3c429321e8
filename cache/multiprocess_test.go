package cache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingUpstream is the loopback server of the multi-process test: /gate holds every
// process until the expected number have arrived (so their Fetches really overlap),
// /token is the counted upstream call, slow enough that the others wait on the lock.
type countingUpstream struct {
	mu      sync.Mutex
	expect  int
	arrived int
	release chan struct{}

	calls atomic.Int32
	fail  atomic.Bool
}

// round prepares the gate for n processes.
func (u *countingUpstream) round(n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.expect, u.arrived, u.release = n, 0, make(chan struct{})
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
		case <-time.After(30 * time.Second):
			http.Error(w, "not every process arrived", http.StatusServiceUnavailable)
		}
	case "/token":
		n := u.calls.Add(1)
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

// buildTestProg builds cache/internal/cachetestprog, a program that runs one Fetch.
func buildTestProg(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the multi-process test builds a program and needs the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "cachetestprog")
	out, err := exec.Command(goBin, "build", "-o", bin, "./internal/cachetestprog").CombinedOutput()
	if err != nil {
		t.Fatalf("building cachetestprog: %v\n%s", err, out)
	}
	return bin
}

// runProcs starts n processes of bin at once against the cache in dir and returns
// what each printed.
func runProcs(t *testing.T, bin, dir, url string, n int) []string {
	t.Helper()
	out := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-dir", dir, "-url", url)
			cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
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
	bin := buildTestProg(t)
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
			for i, got := range runProcs(t, bin, dir, srv.URL, n) {
				if got != tt.want {
					t.Fatalf("process %d printed %q, want %q", i, got, tt.want)
				}
			}
			if c := u.calls.Load(); c != tt.wantCalls {
				t.Fatalf("%d upstream calls for %d processes, want %d", c, n, tt.wantCalls)
			}

			u.fail.Store(false)
			u.round(1)
			if got := runProcs(t, bin, dir, srv.URL, 1)[0]; got != tt.wantNext {
				t.Fatalf("next process printed %q, want %q", got, tt.wantNext)
			}
			if c := u.calls.Load(); c != tt.wantNextCalls {
				t.Fatalf("%d upstream calls after the next process, want %d", c, tt.wantNextCalls)
			}
		})
	}
}
