package proctree

import (
	"os/exec"
	"sync"

	"golang.org/x/sys/windows"
)

// tree is a job object the program is put in as soon as it starts; the processes it
// starts are in the job too. Without a job (Windows refused one), cancelling kills
// the program alone.
type tree struct {
	cmd *exec.Cmd
	mu  sync.Mutex // started may still run when the context ends
	job windows.Handle
}

func newTree(cmd *exec.Cmd) *tree {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		job = 0
	}
	return &tree{cmd: cmd, job: job}
}

// started puts the program in the job. A process the program starts before this
// stays outside it: Go starts no process suspended.
func (t *tree) started() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.job == 0 {
		return
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(t.cmd.Process.Pid))
	if err == nil {
		err = windows.AssignProcessToJobObject(t.job, h)
		windows.CloseHandle(h)
	}
	if err != nil {
		windows.CloseHandle(t.job)
		t.job = 0
	}
}

func (t *tree) kill() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.job != 0 {
		windows.TerminateJobObject(t.job, 1)
	}
}

// close lets go of the job; the processes in it run on (it does not kill on close).
func (t *tree) close() {
	if t.job != 0 {
		windows.CloseHandle(t.job)
	}
}
