// Command floor is the baseline of the plugin's benchmarks: the least a Go program run
// by the kubelet does (start, read the request on stdin, exit). A warm invocation of
// the plugin is compared with it.
package main

import (
	"io"
	"os"
)

func main() {
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		os.Exit(1)
	}
}
