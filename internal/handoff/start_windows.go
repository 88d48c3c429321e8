package handoff

import (
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// start starts cmd inside a job object that kills it when the running process ends:
// the kubelet stops a plugin that overruns its deadline by terminating the process it
// started, and a child left behind would keep the plugin's stdout open.
func start(cmd *exec.Cmd) error {
	job, err := windows.CreateJobObject(nil, nil)
	if err == nil {
		info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
		if _, err = windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
			uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
			windows.CloseHandle(job)
			job = 0
		}
	}
	if err := cmd.Start(); err != nil {
		if job != 0 {
			windows.CloseHandle(job)
		}
		return err
	}
	if job != 0 {
		// The handle stays open for the life of this process; closing it at exit kills
		// the child.
		if h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid)); err == nil {
			windows.AssignProcessToJobObject(job, h)
			windows.CloseHandle(h)
		}
	}
	return nil
}
