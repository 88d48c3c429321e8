//go:build !linux && !windows

package handoff

import "os/exec"

func start(cmd *exec.Cmd) error { return cmd.Start() }
