package main

import "syscall"

// childProcAttr makes the full plugin die with the front end: the kubelet kills the
// front end at its timeout.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
