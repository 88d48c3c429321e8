// Package tty tells whether a file is a terminal, where no kubelet request will ever
// come from: a plugin run by hand in kubelet mode says so instead of waiting for input.
package tty

import "os"

// IsTerminal reports whether f is a terminal (a console on Windows).
func IsTerminal(f *os.File) bool { return isTerminal(f) }
