//go:build !linux

package handoff

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// run runs path as a child with the request on its stdin and the running process's
// stdout and stderr, and returns its exit code.
func run(path string, argv, env []string, stdin []byte, keepStdin bool) (int, error) {
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdin: bytes.NewReader(stdin), Stdout: os.Stdout, Stderr: os.Stderr}
	if keepStdin {
		cmd.Stdin = os.Stdin
	}
	if err := start(cmd); err != nil {
		return 0, fmt.Errorf("cannot run %s: %w", path, err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("running %s: %w", path, err)
	}
	return 0, nil
}
