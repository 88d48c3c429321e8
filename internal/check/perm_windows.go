package check

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// canExec reports whether Windows runs path as a program: by its extension, one of
// those PATHEXT lists (.exe among them); there are no execute bits and no user to
// check.
func canExec(path string, _ int, _ []int) error {
	ext := strings.ToLower(filepath.Ext(path))
	exts := programExts()
	for _, e := range exts {
		if ext == e {
			return nil
		}
	}
	return fmt.Errorf("its extension %q is none of PATHEXT's (%s): install it as %s.exe (install does)", ext, strings.Join(exts, " "), strings.TrimSuffix(path, filepath.Ext(path)))
}

// programExts are the extensions of programs, lowercase, from PATHEXT as Go's
// exec.LookPath reads it.
func programExts() []string {
	var out []string
	for _, e := range strings.Split(strings.ToLower(os.Getenv("PATHEXT")), ";") {
		if e == "" {
			continue
		}
		if e[0] != '.' {
			e = "." + e
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		out = []string{".com", ".exe", ".bat", ".cmd"}
	}
	return out
}
