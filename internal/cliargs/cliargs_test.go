package cliargs

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		pos           []string
		dir           string
		cacheDisabled bool
	}{
		{[]string{"get", "img", "--cache-dir", "/a"}, []string{"get", "img"}, "/a", false},
		{[]string{"--no-cache", "get", "img"}, []string{"get", "img"}, "", true},
		{[]string{"--", "-not-a-flag"}, []string{"-not-a-flag"}, "", false},
		{[]string{"get", "--", "--cache-dir=/x"}, []string{"get", "--cache-dir=/x"}, "", false},
		{[]string{"--cache-dir", "--", "get"}, []string{"get"}, "--", false},
		{[]string{"--no-cache", "--", "--cache-dir=/y"}, []string{"--cache-dir=/y"}, "", true},
		{[]string{"--cache-dir", "/a", "--", "x", "--", "y"}, []string{"x", "--", "y"}, "/a", false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		dir := fs.String("cache-dir", "", "")
		noCache := fs.Bool("no-cache", false, "")
		pos, err := ParseInterleaved(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || *dir != tc.dir || *noCache != tc.cacheDisabled {
			t.Errorf("ParseInterleaved(%q) = %q, %v, dir %q, no-cache %v; want %q, dir %q, no-cache %v",
				tc.args, pos, err, *dir, *noCache, tc.pos, tc.dir, tc.cacheDisabled)
		}
	}
}

// FuzzParseInterleaved: every argument ends up a flag, a flag's value or a positional
// argument, in order; nothing after a terminator is parsed as a flag.
func FuzzParseInterleaved(f *testing.F) {
	f.Add("get\x00--\x00-x")
	f.Add("--cache-dir\x00--\x00--no-cache\x00--\x00a")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("cache-dir", "", "")
		fs.Bool("no-cache", false, "")
		pos, err := ParseInterleaved(fs, args)
		if err != nil {
			return
		}
		if len(pos) > len(args) {
			t.Fatalf("%d positional arguments from %d", len(pos), len(args))
		}
		// The positional arguments are a subsequence of args.
		j := 0
		for _, a := range args {
			if j < len(pos) && pos[j] == a {
				j++
			}
		}
		if j != len(pos) {
			t.Fatalf("ParseInterleaved(%q) = %q: not in order", args, pos)
		}
	})
}
