package frontend

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/testbin"
	"github.com/imagecred/image-credential-provider/internal/tty"
)

// nprocEnv makes the test binary a launcher: it lowers its limit on processes to the
// value given, then becomes the program named by its arguments.
const nprocEnv = "FRONTEND_TEST_NPROC"

func init() {
	n := os.Getenv(nprocEnv)
	if n == "" {
		return
	}
	limit, _ := strconv.ParseUint(n, 10, 64)
	if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		os.Stderr.WriteString("setrlimit: " + err.Error() + "\n")
		os.Exit(99)
	}
	env := []string{}
	for _, e := range os.Environ() {
		if len(e) < len(nprocEnv) || e[:len(nprocEnv)] != nprocEnv {
			env = append(env, e)
		}
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], env)
	os.Stderr.WriteString("exec: " + err.Error() + "\n")
	os.Exit(99)
}

// runLimited runs the front end of dir on stdin with at most 12 tasks (threads count:
// a Go program starts about five) for its user: room for one process, not for a chain.
// As root (whom the kernel does not limit) it runs as nobody, from copies every user
// can reach.
func runLimited(t *testing.T, dir, stdin string) testbin.Result {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	launcher := self
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		open, err := os.MkdirTemp("", "icp-limited-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(open) })
		if err := os.Chmod(open, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("cp", "-a", dir, filepath.Join(open, "bin")).Run(); err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(open, "bin")
		launcher = filepath.Join(open, "launcher")
		if err := exec.Command("cp", self, launcher).Run(); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	home := t.TempDir()
	if cred != nil {
		home = filepath.Join(filepath.Dir(dir), "home")
		if err := os.Mkdir(home, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(launcher, filepath.Join(dir, binaries.FrontEnd))
	cmd.Env = []string{nprocEnv + "=12", "HOME=" + home, "PATH=/usr/bin:/bin"}
	cmd.Dir = home
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	r, err := testbin.Run{Cmd: cmd, Stdin: stdin, Timeout: 30 * time.Second}.Do()
	if err != nil {
		t.Fatal(err)
	}
	if r.Code == 99 {
		t.Fatalf("the launcher failed: %s", r.Stderr)
	}
	return r
}

func openPTY() (master, slave *os.File, err error) { return tty.OpenPTY() }
