// Command runner times whole-process invocations of commands side by side.
//
//	go run ./test/bench/runner -n 30 -stdin request.json [-env K=V]... \
//	    -cmd 'floor=/path/to/floor' -cmd 'warm=/path/to/plugin --cache-dir /tmp/c'
//
// Each -cmd is NAME=PROGRAM ARGS..., split on white space (no quoting). After one
// warm-up run of every command, the commands run n times each, interleaved (round r
// starts at command r mod len, so no command always follows the same one), with the
// -stdin file on stdin, stdout discarded, and the environment of the runner plus the
// -env settings. A run that exits non-zero stops the runner with its stderr.
//
// Every {fresh} in a command's arguments is replaced, for each run (the warm-up run
// too), by the path of a new empty directory (mode 0700, under $TMPDIR), made before
// the clock starts and removed after it stops: a cache directory that is empty at every
// run, e.g. -cmd 'cold=/path/to/plugin --cache-dir {fresh}'.
//
// For every command it prints the median and 90th percentile wall time, the median
// peak RSS (the child's rusage ru_maxrss), and the ratio of its median wall and RSS to
// the first command's. -tsv FILE also writes those figures, one command per line, for
// scripts (see writeTSV).
//
// Peak RSS has a floor: Go starts children with vfork, and Linux folds the parent's
// peak RSS into the child's ru_maxrss at exec, so no child reads below the runner's
// own peak RSS (printed with the table, about 3 MiB). Only small programs (the floor)
// are affected; their true figure is at most the one shown.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

type command struct {
	name string
	argv []string
	wall []time.Duration
	rss  []int64 // bytes
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	n := flag.Int("n", 30, "measured runs per command")
	stdin := flag.String("stdin", "", "file fed on every run's stdin (default: empty stdin)")
	tsv := flag.String("tsv", "", "also write the figures to this file, tab-separated, for scripts")
	var envs, cmds multi
	flag.Var(&envs, "env", "K=V added to the commands' environment (repeatable)")
	flag.Var(&cmds, "cmd", "NAME=PROGRAM ARGS... to measure (repeatable; the first is the reference)")
	flag.Parse()
	cs, err := run(os.Stdout, *n, *stdin, envs, cmds)
	if err == nil && *tsv != "" {
		err = writeTSVFile(*tsv, cs)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, n int, stdinPath string, envs, specs []string) ([]*command, error) {
	if n < 1 || len(specs) == 0 {
		return nil, errors.New("want -n >= 1 and at least one -cmd")
	}
	var input []byte
	if stdinPath != "" {
		var err error
		if input, err = os.ReadFile(stdinPath); err != nil {
			return nil, err
		}
	}
	if err := checkEnv(envs); err != nil {
		return nil, err
	}
	env := append(os.Environ(), envs...)
	cs, err := parseCommands(specs)
	if err != nil {
		return nil, err
	}
	for _, c := range cs { // warm-up: page cache, the cache entry, the fakes
		if _, _, err := once(c, input, env); err != nil {
			return nil, err
		}
	}
	for r := 0; r < n; r++ {
		for i := range cs {
			c := cs[(r+i)%len(cs)]
			wall, rss, err := once(c, input, env)
			if err != nil {
				return nil, err
			}
			c.wall = append(c.wall, wall)
			c.rss = append(c.rss, rss)
		}
	}
	report(w, n, cs)
	return cs, nil
}

// checkEnv checks that every -env setting is K=V with a non-empty K.
func checkEnv(envs []string) error {
	for _, e := range envs {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("-env %q: want K=V", e)
		}
	}
	return nil
}

// parseCommands turns -cmd values (NAME=PROGRAM ARGS..., split on white space) into
// commands. NAME may not hold white space or a slash, so that a forgotten NAME= in
// '/bin/prog --flag=x' is an error rather than a command named "/bin/prog --flag", nor
// a '#', which marks the lines of -tsv that are not commands.
func parseCommands(specs []string) ([]*command, error) {
	var cs []*command
	seen := map[string]bool{}
	for _, s := range specs {
		name, line, ok := strings.Cut(s, "=")
		argv := strings.Fields(line)
		if !ok || name == "" || strings.ContainsAny(name, " \t\n/#") || len(argv) == 0 {
			return nil, fmt.Errorf("-cmd %q: want NAME=PROGRAM ARGS", s)
		}
		if seen[name] {
			return nil, fmt.Errorf("-cmd %q: name %s used twice", s, name)
		}
		seen[name] = true
		cs = append(cs, &command{name: name, argv: argv})
	}
	return cs, nil
}

// freshMark in a command's arguments stands for a new empty directory per run.
const freshMark = "{fresh}"

// once runs c and returns its wall time and peak RSS. The directory that replaces
// {fresh} is made before the clock starts and removed after it stops.
func once(c *command, input []byte, env []string) (time.Duration, int64, error) {
	argv := c.argv
	if hasFresh(argv) {
		dir, err := os.MkdirTemp("", "runner-fresh-")
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %v", c.name, err)
		}
		defer os.RemoveAll(dir)
		argv = make([]string, len(c.argv))
		for i, a := range c.argv {
			argv[i] = strings.ReplaceAll(a, freshMark, dir)
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %v\n%s", c.name, err, stderr.Bytes())
	}
	rss, ok := peakRSS(cmd.ProcessState)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no rusage", c.name)
	}
	return wall, rss, nil
}

func hasFresh(argv []string) bool {
	for _, a := range argv {
		if strings.Contains(a, freshMark) {
			return true
		}
	}
	return false
}

func report(w io.Writer, n int, cs []*command) {
	fmt.Fprintf(w, "%d runs per command, interleaved, after one warm-up run each\n\n", n)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "command\tmedian wall\tp90 wall\tmedian peak RSS\twall / %s\tRSS / %s\t\n", cs[0].name, cs[0].name)
	refWall, refRSS := median(cs[0].wall), medianInt(cs[0].rss)
	for _, c := range cs {
		mw, mr := median(c.wall), medianInt(c.rss)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f MiB\t%.2fx\t%.2fx\t\n", c.name, ms(mw), ms(percentile(c.wall, 0.9)),
			float64(mr)/(1<<20), float64(mw)/float64(refWall), float64(mr)/float64(refRSS))
	}
	tw.Flush()
	if hwm := selfHWM(); hwm > 0 {
		fmt.Fprintf(w, "\npeak RSS floor (the runner's own VmHWM, inherited through vfork): %.1f MiB\n", float64(hwm)/(1<<20))
	}
}

func writeTSVFile(path string, cs []*command) error {
	var b bytes.Buffer
	writeTSV(&b, cs, selfHWM())
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// writeTSV writes a header line, then one line per command: its name, median and 90th
// percentile wall time in nanoseconds, and median peak RSS in bytes; then one line
// "#runner-hwm" with the runner's own peak RSS in bytes (the floor of every child's
// peak RSS, see the package comment; 0 when unknown) in the RSS column.
func writeTSV(w io.Writer, cs []*command, hwm int64) {
	fmt.Fprintln(w, "command\tmedian_wall_ns\tp90_wall_ns\tmedian_rss_bytes")
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", c.name, median(c.wall).Nanoseconds(), percentile(c.wall, 0.9).Nanoseconds(), medianInt(c.rss))
	}
	fmt.Fprintf(w, "#runner-hwm\t0\t0\t%d\n", hwm)
}

// selfHWM is the runner's peak RSS (VmHWM of its memory map, which children started
// with vfork inherit into their ru_maxrss), in bytes; 0 when unknown.
func selfHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
			return kib * 1024
		}
	}
	return 0
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

// percentile is the nearest-rank percentile p of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(float64(len(s))*p)) - 1
	if i < 0 {
		i = 0
	}
	return s[i]
}

func medianInt(xs []int64) int64 {
	s := append([]int64(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}
