// Package proctree runs a program so that stopping it stops what it started too.
//
// exec.CommandContext kills the one process it started when its context ends. A
// program that started others (a credential helper that is a shell script, or one
// that runs a keyring tool) leaves them running, and the kubelet runs the plugin again
// for every pull. Run kills the whole tree instead: the program runs in a process
// group of its own on Unix and in a job object on Windows, and cancelling kills the
// group or the job. A program that ends on its own keeps whatever it left behind on
// purpose (an agent it starts for later runs, say).
package proctree

import (
	"errors"
	"os"
	"os/exec"
)

// Run is cmd.Run, for a cmd made with exec.CommandContext, with one difference: when
// the context ends first, every process the program started is killed with it, not
// only the program. Run sets cmd.Cancel and cmd.SysProcAttr, which must be unset.
func Run(cmd *exec.Cmd) error {
	if cmd.SysProcAttr != nil {
		return errors.New("proctree: Run sets SysProcAttr itself")
	}
	t := newTree(cmd)
	defer t.close()
	cmd.Cancel = func() error {
		t.kill()
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		return nil
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	t.started()
	return cmd.Wait()
}
