//go:build !linux

package main

import "os"

// peakRSS is measured on Linux only (its ru_maxrss is in KiB; other systems differ).
func peakRSS(*os.ProcessState) (int64, bool) { return 0, false }
