// Package handoff passes a kubelet request from one of this project's binaries to
// another one installed beside it: from the front end the kubelet runs to the
// companion that links the backend an image needs, or from a companion to the binary
// that links every backend.
//
// Guarantees:
//   - A process never runs itself: the target is compared with the running executable
//     by file identity (device and inode, or the Windows file ID), not by name, so a
//     copy or link of the running binary under the target's name is refused.
//   - The target sees exactly what the kubelet gave the running process (arguments,
//     environment, stdin), plus one variable, HandedOverBy, naming the binary that
//     handed over; a front end started with it set refuses to hand over again, which
//     ends any chain built from mis-installed copies after one step.
//   - On Linux the running process is replaced (execve): the kubelet's deadline and
//     kill reach the target directly, and no parent waits around. Elsewhere the target
//     runs as a child whose exit status is passed through; on Windows the child is in a
//     job object that dies with the parent.
package handoff

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// HandedOverBy is the environment variable set in a target's environment to the name
// of the binary that handed the request over.
const HandedOverBy = "IMAGE_CREDENTIAL_PROVIDER_HANDED_OVER_BY"

// ErrSelf is returned when the target is the running binary itself.
var ErrSelf = errors.New("it is the running binary itself (a link or the same file under another name)")

// Beside returns the path of the binary called name installed in the same directory
// as the running executable (with ".exe" on Windows).
func Beside(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot locate the running binary: %w", err)
	}
	return filepath.Join(filepath.Dir(self), ExecutableName(name)), nil
}

// ExecutableName is name as an executable file is named on this platform.
func ExecutableName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// Request is what is handed over.
type Request struct {
	// Path is the binary to run.
	Path string
	// Argv0 is the name it runs under (a drop-in name, or its own); empty means Path's
	// base name.
	Argv0 string
	// Args are the arguments after argv[0].
	Args []string
	// Env is the environment to give it (normally os.Environ()); HandedOverBy is
	// added, set to By.
	Env []string
	// Stdin is what the target reads on standard input: the request bytes the
	// running process already consumed. Ignored when KeepStdin is set.
	Stdin []byte
	// KeepStdin gives the target the running process's own standard input, unread.
	KeepStdin bool
	// By names the binary handing over, for HandedOverBy and errors.
	By string
}

// Exec runs r.Path in place of the running process. On Linux it returns only on
// failure. Elsewhere it returns the child's exit code once the child has finished.
// It refuses (ErrSelf) a target that is the running binary, and fails when the target
// is missing or not executable.
func Exec(r Request) (exitCode int, err error) {
	target, err := os.Stat(r.Path)
	if err != nil {
		return 0, fmt.Errorf("cannot run %s: %w", r.Path, err)
	}
	if !target.Mode().IsRegular() {
		return 0, fmt.Errorf("cannot run %s: not a regular file", r.Path)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("cannot locate the running binary: %w", err)
	}
	if me, err := os.Stat(self); err != nil {
		return 0, fmt.Errorf("cannot locate the running binary: %w", err)
	} else if os.SameFile(me, target) {
		return 0, fmt.Errorf("refusing to run %s: %w", r.Path, ErrSelf)
	}
	argv0 := r.Argv0
	if argv0 == "" {
		argv0 = filepath.Base(r.Path)
	}
	env := make([]string, 0, len(r.Env)+1)
	for _, e := range r.Env {
		if len(e) > len(HandedOverBy) && e[:len(HandedOverBy)+1] == HandedOverBy+"=" {
			continue
		}
		env = append(env, e)
	}
	env = append(env, HandedOverBy+"="+r.By)
	return run(r.Path, append([]string{argv0}, r.Args...), env, r.Stdin, r.KeepStdin)
}

// Chained reports whether the running process was itself started by a hand-over, and
// by which binary.
func Chained() (by string, ok bool) {
	return os.LookupEnv(HandedOverBy)
}
