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
	if err := run(&out, 3, in, []string{"RUNNER_TEST=yes"}, []string{"sh=" + script}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 runs per command") || !strings.Contains(out.String(), "1.00x") {
		t.Fatalf("output:\n%s", out.String())
	}
	err := run(&out, 1, in, []string{"RUNNER_TEST=no"}, []string{"sh=" + script})
	if err == nil || !strings.Contains(err.Error(), "env=no") {
		t.Fatalf("a failing command: %v", err)
	}
}
