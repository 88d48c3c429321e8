// Package testbin builds the product's binaries for binary-level tests and runs them
// the way the kubelet does: argv, a clean environment, a request on stdin, a deadline.
// Every test package that runs the binaries uses it, so they all test the same thing:
// the front end the kubelet runs, with its companions installed beside it.
//
// Two environment variables let the same tests drive binaries of another platform
// (test/platforms.sh sets them, for Windows under wine and linux/arm64 under qemu):
//
//	ICP_TEST_BIN_DIR  a directory holding every binary under cmd/, already built for the
//	                  platform the tests run on; Build copies them instead of running the
//	                  go command (a Windows test binary under wine cannot run it)
//	ICP_TEST_EXEC     a command (an emulator such as qemu-aarch64-static, with its own
//	                  arguments separated by spaces) that Run puts before every binary
//
// and a third one scales a test down where the emulator cannot carry its load:
//
//	ICP_TEST_PARALLEL_RUNS  how many processes a test that starts the product many
//	                        times at once starts (see ParallelRuns)
package testbin

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The environment variables described in the package documentation.
const (
	BinDirEnv       = "ICP_TEST_BIN_DIR"
	ExecEnv         = "ICP_TEST_EXEC"
	ParallelRunsEnv = "ICP_TEST_PARALLEL_RUNS"
)

// ParallelRuns returns how many processes a test that starts the product many times at
// once should start: n, or the smaller count ICP_TEST_PARALLEL_RUNS gives. wine runs
// every process start and socket call of every Windows process through one server
// process; with 50 processes starting at once, the test process's loopback fakes go
// unanswered for seconds, so test/platforms.sh asks for fewer there.
func ParallelRuns(t testing.TB, n int) int {
	v := os.Getenv(ParallelRunsEnv)
	if v == "" {
		return n
	}
	m, err := strconv.Atoi(v)
	if err != nil || m < 2 {
		t.Fatalf("%s=%q: want a count of at least 2", ParallelRunsEnv, v)
	}
	return min(n, m)
}

// Build compiles every binary under cmd/ (static, as released) into a new temporary
// directory and returns it; the caller removes it. Call it from TestMain. With
// ICP_TEST_BIN_DIR set, it copies the binaries found there instead, and fails unless
// every binary of cmd/ is among them.
func Build() (dir string, err error) {
	if prebuilt := os.Getenv(BinDirEnv); prebuilt != "" {
		return copyPrebuilt(prebuilt)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", "icp-bin-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building the binaries: %v\n%s", err, out)
	}
	return dir, nil
}

// Lazy builds the binaries (with Build) on the first call to Dir, for packages where
// only some tests run them; TestMain calls Remove after m.Run. The zero Lazy is ready.
type Lazy struct {
	once sync.Once
	dir  string
	err  error
}

// Dir is the directory of the binaries, built on first use; a build failure fails t.
func (l *Lazy) Dir(t testing.TB) string {
	t.Helper()
	l.once.Do(func() { l.dir, l.err = Build() })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.dir
}

// Remove deletes the binaries, if they were built.
func (l *Lazy) Remove() {
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// copyPrebuilt copies the binaries of prebuilt into a new temporary directory,
// checking that one is there for every command under cmd/.
func copyPrebuilt(prebuilt string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmds, err := os.ReadDir(filepath.Join(root, "cmd"))
	if err != nil {
		return "", err
	}
	for _, c := range cmds {
		if !c.IsDir() {
			continue
		}
		if fi, err := os.Stat(filepath.Join(prebuilt, Exe(c.Name()))); err != nil || !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%s=%s lacks %s: build every command with `go build -o DIR/ ./cmd/...` for this platform", BinDirEnv, prebuilt, Exe(c.Name()))
		}
	}
	dir, err := os.MkdirTemp("", "icp-bin-")
	if err != nil {
		return "", err
	}
	if err := copyFiles(prebuilt, dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// moduleRoot is the directory of the module's go.mod, found from the working
// directory of the test (a package directory inside the module).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Exe is name as an executable is named on this platform.
func Exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// CopyTo copies the binaries of dir into a new directory under parent (a bin dir of a
// test's own, which it may change) and returns it.
func CopyTo(dir, parent string) (string, error) {
	out := filepath.Join(parent, "bin")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	return out, copyFiles(dir, out)
}

// copyFiles copies the files of dir into out, executable.
func copyFiles(dir, out string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), data, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// Result is one run of a binary.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run is one invocation, as the kubelet makes it.
type Run struct {
	// Bin is the executable to run (after the ICP_TEST_EXEC command, when set).
	Bin string
	// Args are the arguments after argv[0].
	Args []string
	// Home is $HOME and the working directory; XDG_CACHE_HOME is Home/.cache.
	Home string
	// Env is added to a clean environment (HOME, PATH, XDG_CACHE_HOME).
	Env []string
	// Stdin is the request.
	Stdin string
	// StdinFile, when set, is the standard input instead of Stdin.
	StdinFile *os.File
	// Timeout bounds the run; zero means the kubelet's one minute.
	Timeout time.Duration
	// Cmd, when set, is the command to run as it is (Bin, Args, Home and Env are not
	// used); Do adds stdin, stdout, stderr and the deadline.
	Cmd *exec.Cmd
}

// Do runs r. It is safe to call from any goroutine: failure to start is an error.
func (r Run) Do() (Result, error) {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	cmd := r.Cmd
	if cmd == nil {
		argv := append(strings.Fields(os.Getenv(ExecEnv)), r.Bin)
		cmd = exec.Command(argv[0], append(argv[1:], r.Args...)...)
		cmd.Env = append([]string{"HOME=" + r.Home, "PATH=" + os.Getenv("PATH"), "XDG_CACHE_HOME=" + filepath.Join(r.Home, ".cache")}, r.Env...)
		if runtime.GOOS == "windows" {
			cmd.Env = append(cmd.Env, "SYSTEMROOT="+os.Getenv("SYSTEMROOT"), "USERPROFILE="+r.Home, "LOCALAPPDATA="+filepath.Join(r.Home, "AppData", "Local"))
		}
		cmd.Dir = r.Home
	}

	cmd.Stdin = strings.NewReader(r.Stdin)
	if r.StdinFile != nil {
		cmd.Stdin = r.StdinFile
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	kill := time.AfterFunc(timeout, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	kill.Stop()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.Code = ee.ExitCode()
		err = nil
	}
	return res, err
}
