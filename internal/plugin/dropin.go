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
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/handoff"
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
	return nil, fmt.Errorf("no drop-in mode for backend %q", backend)
}

// runDropIn answers one kubelet request as the plugin named prog, which serves backend.
// A binary that does not link backend hands the request, unread, to its companion.
func (b Binary) runDropIn(prog, backend string, args []string, stdin io.Reader, stdout io.Writer) error {
	if !b.links(backend) {
		path, err := handoff.Beside(binaries.Companion(backend))
		if err == nil {
			var code int
			code, err = handoff.Exec(handoff.Request{Path: path, Argv0: prog, Args: args, Env: os.Environ(), KeepStdin: true, By: b.Name})
			if err == nil {
				return exitCode(code)
			}
		}
		return fmt.Errorf("invoked as %s, which %s serves, and it cannot run: %w", prog, binaries.Companion(backend), err)
	}
	cfg, err := dropInConfig(backend, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w (invoked as %s, which takes that plugin's own arguments)", err, prog)
	}
	return b.kubeletMode(&options{cfg: cfg, cache: &lazyCache{cfg: cfg}}, stdin, stdout)
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
