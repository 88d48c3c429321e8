// Package godeps lets tests assert what a package links, as `go list -deps` reports it,
// so that a package meant to stay cheap to start cannot start linking a heavy one
// unnoticed. It is for tests only: it runs the go command.
package godeps

import (
	"os/exec"
	"strings"
	"testing"
)

// Forbid fails t, naming the import chain, for each package of forbidden that pkg links.
// An entry of forbidden stands for that package and every package below it
// ("k8s.io/apimachinery" forbids k8s.io/apimachinery/pkg/runtime too). pkg is an import
// path or a relative one ("." is the package under test).
func Forbid(t testing.TB, pkg string, forbidden ...string) {
	t.Helper()
	root, imports := graph(t, pkg)
	for _, f := range forbidden {
		if chain := find(root, imports, func(p string) bool { return p == f || strings.HasPrefix(p, f+"/") }); chain != nil {
			t.Errorf("%s links %s: %s", root, chain[len(chain)-1], strings.Join(chain, " → "))
		}
	}
}

// graph returns pkg's import path and the imports of every package it links.
func graph(t testing.TB, pkg string) (root string, imports map[string][]string) {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list what %s links: %v", pkg, err)
	}
	out, err := exec.Command(gocmd, "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", pkg).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + strings.TrimSpace(string(ee.Stderr))
		}
		t.Fatalf("go list -deps %s: %s", pkg, msg)
	}
	imports = map[string][]string{}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines {
		fields := strings.Fields(line)
		imports[fields[0]] = fields[1:]
	}
	// go list -deps prints dependencies first: the package itself comes last.
	return strings.Fields(lines[len(lines)-1])[0], imports
}

// find returns the shortest import chain from root to a package match accepts, or nil.
func find(root string, imports map[string][]string, match func(string) bool) []string {
	prev := map[string]string{root: ""}
	for queue := []string{root}; len(queue) > 0; queue = queue[1:] {
		p := queue[0]
		if match(p) {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append([]string{p}, chain...)
			}
			return chain
		}
		for _, q := range imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}
