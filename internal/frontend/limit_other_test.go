//go:build !linux

package frontend

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/testbin"
)

// runLimited runs the front end of dir on stdin. Only Linux tests set a limit on
// processes; elsewhere the test still asserts that the chain ends at once.
func runLimited(t *testing.T, dir, stdin string) testbin.Result {
	t.Helper()
	r, err := testbin.Run{Bin: filepath.Join(dir, testbin.Exe(binaries.FrontEnd)), Home: t.TempDir(), Stdin: stdin, Timeout: 30 * time.Second}.Do()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func openPTY() (master, slave *os.File, err error) {
	return nil, nil, errors.New("pseudo-terminals are tested on Linux only")
}
