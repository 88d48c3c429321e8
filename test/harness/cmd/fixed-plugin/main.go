// Command fixed-plugin is a minimal credential provider plugin for testing the harness
// itself (see package fixedplugin): it answers every request with the credentials
// given on its command line.
//
//	fixed-plugin -auth 'reg.example=user:pass' -cache-key-type Registry -cache-duration 1m
package main

import (
	"os"

	"github.com/imagecred/image-credential-provider/test/harness/internal/fixedplugin"
)

func main() {
	os.Exit(fixedplugin.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
