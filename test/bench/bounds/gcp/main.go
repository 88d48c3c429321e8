// Command gcp is the least a process that can fetch a token from the GCE metadata
// server does, through cloud.google.com/go/compute/metadata (and so net/http).
//
//	gcp DIR
//
// It reads stdin to the end; if DIR/answer is a non-empty file it writes it to stdout;
// otherwise it asks the metadata server (GCE_METADATA_HOST) for the default account's
// token, writes the answer to DIR/answer and to stdout. No scopes request, no JSON
// decoding of the token, no response envelope: every real design does at least this.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"cloud.google.com/go/compute/metadata"

	"github.com/imagecred/image-credential-provider/test/bench/bounds/stored"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gcp:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: gcp DIR")
	}
	if hit, err := stored.Serve(args[0]); hit || err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := metadata.NewClient(&http.Client{Timeout: 10 * time.Second})
	tok, err := c.GetWithContext(ctx, "instance/service-accounts/default/token")
	if err != nil {
		return err
	}
	if tok == "" {
		return fmt.Errorf("an empty token")
	}
	return stored.Store(args[0], tok)
}
