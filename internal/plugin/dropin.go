package plugin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/handoff"
	"github.com/imagecred/image-credential-provider/internal/version"
)

// dropInConfig reads a single-cloud plugin's own command line (the binary is installed
// or symlinked under that plugin's name, so a kubelet config written for it works
// unchanged) into a configuration that serves that cloud only.
func dropInConfig(backend string, args []string) (*config.Config, error) {
	switch backend {
	case gcr.Name:
		g, err := gcr.DropInConfig(args)
		if err != nil {
			return nil, err
		}
		setVerbosity(g.Verbosity)
		return &config.Config{Backends: []string{gcr.Name}, GCR: g}, nil
	case ecr.Name:
		e, err := ecr.DropInConfig(args)
		if err != nil {
			return nil, err
		}
		return &config.Config{Backends: []string{ecr.Name}, ECR: e}, nil
	case acr.Name:
		d, err := acr.ParseDropIn(args)
		if err != nil {
			return nil, err
		}
		setVerbosity(d.Verbosity)
		return &config.Config{Backends: []string{acr.Name}, ACR: d.Config}, nil
	}
	return nil, fmt.Errorf("no drop-in name serves backend %s", backend)
}

// runDropIn answers one kubelet request as the plugin named prog, which serves backend.
// A binary that does not link backend hands the request, unread, to its companion.
func (b Binary) runDropIn(prog, backend string, args []string, stdin io.Reader, stdout io.Writer) error {
	if !b.links(backend) {
		path, err := handoff.Beside(binaries.Companion(backend))
		if err == nil {
			logHandOver(path, "invoked as "+prog+", which "+binaries.Companion(backend)+" serves")
			var code int
			code, err = handoff.Exec(handoff.Request{Path: path, Argv0: prog, Args: args, Env: os.Environ(), KeepStdin: true, By: b.Name})
			if err == nil {
				return exitCode(code)
			}
		}
		return fmt.Errorf("invoked as %s, which %s serves, and it cannot run: %w", prog, binaries.Companion(backend), err)
	}
	cfg, err := dropInConfig(backend, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, dropInUsage(backend, prog))
		return err
	case errors.Is(err, cliargs.ErrVersion):
		fmt.Fprintln(stdout, version.Line(binaries.FrontEnd)+", installed as "+prog)
		return nil
	case err != nil:
		return fmt.Errorf("%w (see %s --help)", err, prog)
	}
	return b.kubeletMode(&options{cfg: cfg, cache: &lazyCache{cfg: cfg}, prog: prog, args: args, dropIn: prog}, stdin, stdout)
}

// dropInUsage is the help of the drop-in name prog, which serves backend.
func dropInUsage(backend, prog string) string {
	switch backend {
	case ecr.Name:
		return ecr.DropInUsage(prog)
	case gcr.Name:
		return gcr.DropInUsage(prog)
	case acr.Name:
		return acr.DropInUsage(prog)
	}
	return ""
}

// setVerbosity applies a drop-in's -v/--v to klog.
func setVerbosity(v int) {
	if v <= 0 {
		return
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", fmt.Sprint(v))
}
