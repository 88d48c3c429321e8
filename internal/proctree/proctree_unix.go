//go:build unix

package proctree

import (
	"os/exec"
	"syscall"
)

// tree is the process group the program leads.
type tree struct{ cmd *exec.Cmd }

func newTree(cmd *exec.Cmd) *tree {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &tree{cmd}
}

func (t *tree) started() {}

// kill kills every process still in the group; the program's pid is the group's id.
func (t *tree) kill() {
	if t.cmd.Process != nil {
		syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (t *tree) close() {}
