package main

import (
	"os"
	"syscall"
)

// peakRSS is the peak RSS of a finished child in bytes, from its rusage.
func peakRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss * 1024, true // Linux reports KiB
}
