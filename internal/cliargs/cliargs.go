// Package cliargs parses command lines the way the plugin reads them: flags and
// positional arguments in any order, "--" ending the flags.
package cliargs

import (
	"errors"
	"flag"
	"strings"
)

// ErrVersion is returned by a command-line parser when the version is asked for
// (--version), as flag.ErrHelp is when help is.
var ErrVersion = errors.New("version requested")

// ParseInterleaved parses flags wherever they stand among the positional arguments
// (`get IMAGE -o json` as well as `-o json get IMAGE`).
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if endedAtTerminator(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil // everything after "--" is positional
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// endedAtTerminator reports whether fs.Parse, having consumed parsed, stopped at a "--"
// terminator (which it consumes) rather than at a positional argument; a "--" that is
// the value of a flag ("--dockercfg --") is not a terminator.
func endedAtTerminator(fs *flag.FlagSet, parsed []string) bool {
	for i := 0; i < len(parsed); i++ {
		a := parsed[i]
		if a == "--" {
			return true
		}
		name, _, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if hasVal {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // the next argument is this flag's value
			}
		}
	}
	return false
}
