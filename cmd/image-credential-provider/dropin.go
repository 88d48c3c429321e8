package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/gcr"
)

// dropIns are the names of the single-cloud plugins this binary can replace: installed
// (or symlinked) under one of them, it serves that cloud only and accepts that plugin's
// own command line, so a kubelet config written for it works unchanged.
var dropIns = map[string]func(args []string) (*Config, error){
	"auth-provider-gcp": func(args []string) (*Config, error) {
		g, err := gcr.DropInConfig(args)
		if err != nil {
			return nil, err
		}
		setVerbosity(g.Verbosity)
		return &Config{Backends: []string{"gcr"}, GCR: g}, nil
	},
	"ecr-credential-provider": func(args []string) (*Config, error) {
		e, err := ecr.DropInConfig(args)
		if err != nil {
			return nil, err
		}
		return &Config{Backends: []string{"ecr"}, ECR: e}, nil
	},
	"acr-credential-provider": func(args []string) (*Config, error) {
		d, err := acr.ParseDropIn(args)
		if err != nil {
			return nil, err
		}
		setVerbosity(d.Verbosity)
		return &Config{Backends: []string{"acr"}, ACR: d.Config}, nil
	},
}

// runDropIn answers one kubelet request as the plugin named prog.
func runDropIn(prog string, args []string, stdin io.Reader, stdout io.Writer) error {
	cfg, err := dropIns[prog](args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w (invoked as %s, which takes that plugin's own arguments)", err, prog)
	}
	return kubeletMode(&options{cfg: cfg}, stdin, stdout)
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
