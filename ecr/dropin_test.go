package ecr

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
)

func TestDropInConfig(t *testing.T) {
	for _, args := range [][]string{nil, {}, {"ignored", "positional"}, {"--", "--whatever"}} {
		c, err := DropInConfig(args)
		if err != nil || !isZero(c) {
			t.Errorf("DropInConfig(%q) = %+v, %v", args, c, err)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"x", "--help"}} {
		if _, err := DropInConfig(args); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("DropInConfig(%q): %v, want flag.ErrHelp", args, err)
		}
	}
	if _, err := DropInConfig([]string{"--version"}); !errors.Is(err, cliargs.ErrVersion) {
		t.Errorf("--version: %v, want cliargs.ErrVersion", err)
	}
	for _, args := range [][]string{{"-v", "2"}, {"--v=2"}, {"--region", "us-east-1"}} {
		if _, err := DropInConfig(args); err == nil || !strings.Contains(err.Error(), "unknown flag") {
			t.Errorf("DropInConfig(%q): %v, want an unknown flag error like ecr-credential-provider's", args, err)
		}
	}
}

func isZero(c Config) bool {
	return c.Profile == "" && c.RoleARN == "" && c.ServiceAccountRoleARN == "" && !c.RequireServiceAccountRole && len(c.Registries) == 0
}

func TestAddFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.AddFlags(fs)
	err := fs.Parse([]string{"-ecr-profile", "p", "-ecr-role-arn", "arn:aws:iam::123456789012:role/r", "-ecr-external-id", "e", "-ecr-sa-role-arn", "arn:aws:iam::123456789012:role/s", "-ecr-require-sa-role"})
	if err != nil || c.Profile != "p" || c.RoleARN != "arn:aws:iam::123456789012:role/r" || c.ExternalID != "e" || c.ServiceAccountRoleARN != "arn:aws:iam::123456789012:role/s" || !c.RequireServiceAccountRole {
		t.Fatalf("%+v %v", c, err)
	}
}
