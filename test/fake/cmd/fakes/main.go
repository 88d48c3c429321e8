// Command fakes starts every loopback fake the end-to-end tests need — the registries
// that enforce each cloud's registry auth, seeded with tiny images, and the cloud token
// endpoints of the backends that have landed — and writes what clients need to reach
// them to a JSON file (see Env). It runs until SIGINT or SIGTERM.
//
//	fakes -out /tmp/fakes.json &
//	kubelet-puller -fakes /tmp/fakes.json ...
//
// The file is written (atomically) only once everything is listening, so a script can
// wait for it to appear.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	out := flag.String("out", "fakes.json", "where to write the JSON description of the running fakes")
	dir := flag.String("dir", "", "directory for the CA and other files (default: next to -out)")
	accessLog := flag.Bool("access-log", false, "log every registry request (method, path, status, user) to stderr")
	flag.Parse()
	if *dir == "" {
		*dir = filepath.Dir(*out)
	}
	var logger *log.Logger
	if *accessLog {
		logger = log.New(os.Stderr, "fakes: ", log.Ltime|log.Lmicroseconds)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env, closeAll, err := Start(*dir, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakes:", err)
		os.Exit(1)
	}
	defer closeAll()
	env.PID = os.Getpid()
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakes:", err)
		os.Exit(1)
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err == nil {
		err = os.Rename(tmp, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakes:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "fakes: ready (%d registries, backends: %v); description in %s\n", len(env.Registries), env.Backends, *out)
	<-ctx.Done()
}
