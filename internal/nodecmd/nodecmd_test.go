package nodecmd

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/check"
)

// Each name reaches its own command (its help is the proof), and nothing else runs.
func TestRunDispatches(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
		want    string // in stdout
	}{
		{"install", []string{"--help"}, flag.ErrHelp, "Usage: image-credential-provider install [flags]"},
		{"check", []string{"--help"}, flag.ErrHelp, strings.SplitN(check.Usage, "\n", 2)[0]},
		{"get", nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(tc.name, tc.args, &out, nil)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), `unknown command "get"`) {
					t.Fatalf("Run(%q) = %v, want an unknown command error", tc.name, err)
				}
				if out.Len() != 0 {
					t.Fatalf("Run(%q) printed %q", tc.name, out.String())
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run(%q, %q) = %v, want %v", tc.name, tc.args, err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("Run(%q, %q) printed %q, want it to hold %q", tc.name, tc.args, out.String(), tc.want)
			}
		})
	}
}
