//go:build linux

// Command front is the least an SDK-free front end does: read the request, serve a
// stored answer, or else hand the run over to a companion with execve.
//
//	front DIR PROGRAM [ARGS...]
//
// It reads stdin to the end; if DIR/answer is a non-empty file it writes it to stdout
// and exits; otherwise it replaces itself with PROGRAM ARGS... DIR (the request is not
// passed on: a real front end must, so leaving it out only lowers the bound).
package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/imagecred/image-credential-provider/test/bench/bounds/stored"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: front DIR PROGRAM [ARGS...]")
		os.Exit(2)
	}
	dir := os.Args[1]
	if hit, err := stored.Serve(dir); hit || err != nil {
		if err != nil {
			fmt.Fprintln(os.Stderr, "front:", err)
			os.Exit(1)
		}
		return
	}
	argv := append(append([]string{}, os.Args[2:]...), dir)
	err := syscall.Exec(argv[0], argv, os.Environ())
	fmt.Fprintln(os.Stderr, "front:", err)
	os.Exit(1)
}
