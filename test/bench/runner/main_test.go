package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCommands(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		want    [][]string // name, then argv
		wantErr string
	}{
		{"one", []string{"floor=/tmp/floor"}, [][]string{{"floor", "/tmp/floor"}}, ""},
		{"args and equals signs in them", []string{"warm=/bin/p --cache-dir /tmp/c --x=y", "cold=/bin/p  --no-cache\t-v=2"},
			[][]string{{"warm", "/bin/p", "--cache-dir", "/tmp/c", "--x=y"}, {"cold", "/bin/p", "--no-cache", "-v=2"}}, ""},
		{"no name", []string{"/bin/p"}, nil, "want NAME=PROGRAM"},
		{"forgotten name before a flag with =", []string{"/bin/p --flag=x"}, nil, "want NAME=PROGRAM"},
		{"empty name", []string{"=/bin/p"}, nil, "want NAME=PROGRAM"},
		{"no program", []string{"warm=  "}, nil, "want NAME=PROGRAM"},
		{"duplicate name", []string{"a=/bin/x", "a=/bin/y"}, nil, "used twice"},
		{"name with the tsv comment mark", []string{"#a=/bin/x"}, nil, "want NAME=PROGRAM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := parseCommands(tt.specs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, c := range cs {
				got = append(got, append([]string{c.name}, c.argv...))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckEnv(t *testing.T) {
	for env, ok := range map[string]bool{"K=V": true, "K=": true, "K=a=b": true, "K": false, "=V": false} {
		if err := checkEnv([]string{env}); (err == nil) != ok {
			t.Errorf("checkEnv(%q) = %v", env, err)
		}
	}
}

func TestPercentiles(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var d []time.Duration
		for _, x := range xs {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		in          []time.Duration
		median, p90 time.Duration
	}{
		{ms(5), 5 * time.Millisecond, 5 * time.Millisecond},
		{ms(3, 1, 2), 2 * time.Millisecond, 3 * time.Millisecond},
		{ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 5 * time.Millisecond, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		if m, p := median(tt.in), percentile(tt.in, 0.9); m != tt.median || p != tt.p90 {
			t.Errorf("%v: median %v p90 %v, want %v %v", tt.in, m, p, tt.median, tt.p90)
		}
	}
	if m := medianInt([]int64{4, 1, 3, 2}); m != 2 {
		t.Errorf("medianInt = %d", m)
	}
}

func TestReportRatiosToTheFirstCommand(t *testing.T) {
	cs := []*command{
		{name: "floor", wall: []time.Duration{2 * time.Millisecond}, rss: []int64{2 << 20}},
		{name: "warm", wall: []time.Duration{3 * time.Millisecond}, rss: []int64{8 << 20}},
	}
	var b bytes.Buffer
	report(&b, 1, cs)
	for _, want := range []string{"wall / floor", "RSS / floor", "1.50x", "4.00x", "3.00 ms", "8.0 MiB"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// The whole runner over a real program: stdin is fed, -env reaches the child, a
// failing command stops the run with its stderr.
func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte("hello\n"), 0o600)
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nread line\n[ \"$line\" = hello ] && [ \"$RUNNER_TEST\" = yes ] || { echo \"stdin=$line env=$RUNNER_TEST\" >&2; exit 1; }\n"), 0o700)
	var out bytes.Buffer
	if _, err := run(&out, 3, in, []string{"RUNNER_TEST=yes"}, []string{"sh=" + script}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 runs per command") || !strings.Contains(out.String(), "1.00x") {
		t.Fatalf("output:\n%s", out.String())
	}
	_, err := run(&out, 1, in, []string{"RUNNER_TEST=no"}, []string{"sh=" + script})
	if err == nil || !strings.Contains(err.Error(), "env=no") {
		t.Fatalf("a failing command: %v", err)
	}
}

// {fresh} is a new empty directory at every run, warm-up included, the same one for
// every {fresh} of one run, and gone after the run; other commands' arguments are left
// alone.
func TestFreshDirectoryPerRun(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(dir, "tmp"))
	os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	log := filepath.Join(dir, "log")
	// Fails unless $1 is an empty directory of mode 700 and $2 is the same path; marks it
	// and logs it.
	script := filepath.Join(dir, "fresh.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
[ -d "$1" ] && [ -z "$(ls -A "$1")" ] && [ "$1" = "$2" ] || { echo "not a fresh dir: $1 $2" >&2; exit 1; }
[ "$(stat -c %a "$1")" = 700 ] || { echo "mode $(stat -c %a "$1")" >&2; exit 1; }
touch "$1/used"
echo "$1" >>"$3"
`), 0o700)
	other := filepath.Join(dir, "other.sh")
	os.WriteFile(other, []byte("#!/bin/sh\n[ \"$1\" = literal ] || exit 1\n"), 0o700)
	var out bytes.Buffer
	cs, err := run(&out, 4, "", nil, []string{"f=" + script + " {fresh} {fresh} " + log, "o=" + other + " literal"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || len(cs[0].wall) != 4 {
		t.Fatalf("commands %v", cs)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	dirs := strings.Fields(string(data))
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			t.Errorf("directory %s given twice", d)
		}
		seen[d] = true
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", d, err)
		}
		if filepath.Dir(d) != filepath.Join(dir, "tmp") {
			t.Errorf("%s not under $TMPDIR", d)
		}
	}
	if len(dirs) != 5 { // warm-up + 4 runs
		t.Errorf("%d runs logged, want 5: %q", len(dirs), dirs)
	}
}

func TestTSV(t *testing.T) {
	cs := []*command{
		{name: "floor", wall: []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 3 * time.Millisecond}, rss: []int64{2 << 20, 3 << 20, 1 << 20}},
		{name: "warm", wall: []time.Duration{5 * time.Millisecond}, rss: []int64{8 << 20}},
	}
	var b bytes.Buffer
	writeTSV(&b, cs, 3<<20)
	want := "command\tmedian_wall_ns\tp90_wall_ns\tmedian_rss_bytes\n" +
		"floor\t3000000\t4000000\t2097152\n" +
		"warm\t5000000\t5000000\t8388608\n" +
		"#runner-hwm\t0\t0\t3145728\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
