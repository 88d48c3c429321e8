package proctree

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary plays the programs Run runs, chosen by modeEnv:
//
//	parent  starts a child that inherits its stdout, says "started" on stderr, and
//	        waits; with markEnv set, the child is started with no stdout and the
//	        parent exits at once
//	child   sleeps for far longer than any test; with markEnv set, it writes that
//	        file after a moment instead, and exits (proof that it outlived its parent)
const (
	modeEnv = "PROCTREE_TEST_MODE"
	markEnv = "PROCTREE_TEST_MARK"
	forever = 10 * time.Minute
)

func TestMain(m *testing.M) {
	switch os.Getenv(modeEnv) {
	case "parent":
		child := self("child")
		if os.Getenv(markEnv) == "" {
			child.Stdout = os.Stdout
		}
		if err := child.Start(); err != nil {
			os.Stderr.WriteString("cannot start the child: " + err.Error() + "\n")
			os.Exit(3)
		}
		os.Stderr.WriteString("started\n")
		if os.Getenv(markEnv) != "" {
			os.Exit(0)
		}
		time.Sleep(forever)
		os.Exit(0)
	case "child":
		if mark := os.Getenv(markEnv); mark != "" {
			time.Sleep(200 * time.Millisecond)
			os.WriteFile(mark, []byte("alive"), 0o600)
			os.Exit(0)
		}
		time.Sleep(forever)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// self is the test binary as the program of mode (after ICP_TEST_EXEC, the emulator,
// when set).
func self(mode string) *exec.Cmd {
	return selfContext(context.Background(), mode)
}

func selfContext(ctx context.Context, mode string) *exec.Cmd {
	exe, _ := os.Executable()
	argv := append(strings.Fields(os.Getenv("ICP_TEST_EXEC")), exe)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), modeEnv+"="+mode)
	return cmd
}

// signal is a writer that closes its channel on the first write holding word.
type signal struct {
	word string
	seen chan struct{}
	buf  strings.Builder
}

func (s *signal) Write(p []byte) (int, error) {
	s.buf.Write(p)
	if strings.Contains(s.buf.String(), s.word) && s.seen != nil {
		close(s.seen)
		s.seen = nil
	}
	return len(p), nil
}

// A cancelled program's child, which holds the program's stdout open, dies with it:
// Wait returns because the pipe closes, with no WaitDelay to cut it short. With plain
// exec.CommandContext the child would hold Wait for as long as it lives.
func TestCancelKillsWhatTheProgramStarted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := selfContext(ctx, "parent")
	var stdout strings.Builder
	started := &signal{word: "started", seen: make(chan struct{})}
	seen := started.seen
	cmd.Stdout, cmd.Stderr = &stdout, started
	done := make(chan error, 1)
	go func() { done <- Run(cmd) }()

	select {
	case <-seen:
	case err := <-done:
		t.Fatalf("the program ended before it started its child: %v (stderr %q)", err, started.buf.String())
	case <-time.After(time.Minute):
		t.Fatal("the program did not start its child within a minute")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run of a cancelled program returned no error")
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return a minute after the cancel: the child still holds the program's stdout")
	}
}

// A program that ends on its own keeps what it started: an agent a helper starts for
// later runs lives on.
func TestProgramThatEndsKeepsItsChildren(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "alive")
	cmd := self("parent")
	cmd.Env = append(cmd.Env, markEnv+"="+mark)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := Run(cmd); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, stderr.String())
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child did not outlive its program: it never wrote its mark")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Run will not silently drop attributes the caller set.
func TestRunRefusesSysProcAttr(t *testing.T) {
	cmd := selfContext(context.Background(), "child")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	err := Run(cmd)
	if err == nil || !strings.Contains(err.Error(), "sets SysProcAttr itself") {
		t.Fatalf("Run = %v, want a refusal", err)
	}
	if cmd.Process != nil {
		t.Fatal("the program was started")
	}
}
