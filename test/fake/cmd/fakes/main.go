// Command fakes starts every loopback fake the end-to-end tests need — the registries
// that enforce each cloud's registry auth, seeded with tiny images, and the cloud token
// endpoints of the backends that have landed — and writes what clients need to reach
// them to a JSON file (see Env) and, optionally, a shell file of exports. It runs until
// SIGINT or SIGTERM.
//
//	fakes -out /tmp/fakes.json -env-out /tmp/fakes.env &
//	kubelet-puller -fakes /tmp/fakes.json ...
//
// The files are written (atomically) only once everything is listening, so a script
// can wait for them to appear.
//
// Helper subcommands serve scripts: push seeds a registry this program does not run
// (Debian's docker-registry), free-port finds a port, ctl turns the fakes' knobs:
//
//	fakes push -registry 127.0.0.1:5000 -user u -password-env PW -ca ca.pem -repo team/app -tag v1
//	fakes free-port
//	fakes ctl "$FAKES_ADMIN_URL" /google/fail?endpoint=metadata-token&n=5&status=503
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "push":
			os.Exit(push(os.Args[2:]))
		case "free-port":
			os.Exit(freePort())
		case "ctl":
			os.Exit(ctl(os.Args[2:]))
		}
	}
	os.Exit(serve(os.Args[1:]))
}

func serve(args []string) int {
	fs := flag.NewFlagSet("fakes", flag.ExitOnError)
	out := fs.String("out", "fakes.json", "where to write the JSON description of the running fakes")
	envOut := fs.String("env-out", "", "also write the variables as shell exports (NAME='value') to this file")
	dir := fs.String("dir", "", "directory for the CA and other files (default: next to -out)")
	accessLog := fs.Bool("access-log", false, "log every registry request (method, path, status, user) to stderr")
	var dockerConfigs []string
	fs.Func("dockercfg-users", "a docker config.json whose credentials the static registries also take, for the hosts they serve (e.g. examples/dockercfg/config.json); repeatable", func(s string) error {
		dockerConfigs = append(dockerConfigs, s)
		return nil
	})
	_ = fs.Parse(args)
	if *dir == "" {
		*dir = filepath.Dir(*out)
	}
	var logger *log.Logger
	if *accessLog {
		logger = log.New(os.Stderr, "fakes: ", log.Ltime|log.Lmicroseconds)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	f, err := Start(*dir, logger, dockerConfigs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakes:", err)
		return 1
	}
	defer f.Close()
	env := f.Env
	if env.Vars["FAKES_ADMIN_URL"], err = f.serveAdmin(); err != nil {
		fmt.Fprintln(os.Stderr, "fakes:", err)
		return 1
	}
	env.PID = os.Getpid()
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakes:", err)
		return 1
	}
	if *envOut != "" {
		if err := writeAtomic(*envOut, []byte(shellExports(env))); err != nil {
			fmt.Fprintln(os.Stderr, "fakes:", err)
			return 1
		}
	}
	if err := writeAtomic(*out, append(data, '\n')); err != nil {
		fmt.Fprintln(os.Stderr, "fakes:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "fakes: ready (%d registries, backends: %v); description in %s\n", len(env.Registries), env.Backends, *out)
	<-ctx.Done()
	return 0
}

// shellExports renders the variables, the plugin environment and the CA path as
// `export NAME='value'` lines.
func shellExports(env *Env) string {
	vars := map[string]string{"FAKES_CA_FILE": env.CAFile, "FAKES_BACKENDS": strings.Join(env.Backends, " ")}
	for k, v := range env.Vars {
		vars[k] = v
	}
	for k, v := range env.PluginEnv {
		vars["PLUGIN_ENV_"+k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(vars[k], "'", `'\''`))
	}
	return b.String()
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// freePort prints a loopback TCP port that was free a moment ago.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakes free-port:", err)
		return 1
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return 0
}
