//go:build !unix && !windows

package proctree

import "os/exec"

// tree is nothing here: cancelling kills the program alone.
type tree struct{}

func newTree(*exec.Cmd) *tree { return &tree{} }
func (*tree) started()        {}
func (*tree) kill()           {}
func (*tree) close()          {}
