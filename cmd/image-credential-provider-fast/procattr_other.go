//go:build !linux

package main

import "syscall"

// childProcAttr is nothing special where there is no parent-death signal.
func childProcAttr() *syscall.SysProcAttr { return nil }
