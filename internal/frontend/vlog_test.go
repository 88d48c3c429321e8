package frontend

import (
	"bytes"
	"regexp"
	"testing"
)

func TestVerbosity(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, 0},
		{[]string{"-v=2"}, 2},
		{[]string{"--v=4"}, 4},
		{[]string{"-v", "1", "--backends", "gcr"}, 1},
		{[]string{"--v", "3"}, 3},
		{[]string{"-v=1", "-v=2"}, 2},
		{[]string{"-v=loud"}, 0},
		{[]string{"-v"}, 0},
		{[]string{"--", "-v=2"}, 0},
		{[]string{"-vmodule=x=2", "--verbose=3", "v=2"}, 0},
	}
	for _, tt := range tests {
		if got := verbosity(tt.args); got != tt.want {
			t.Errorf("verbosity(%q) = %d, want %d", tt.args, got, tt.want)
		}
	}
}

// The front end's lines look like klog's, and appear only at their level.
func TestVlog(t *testing.T) {
	var buf bytes.Buffer
	vlog{v: 1, w: &buf}.info(decisionLevel, "not shown")
	vlog{v: 1, w: &buf}.info(summaryLevel, "Request answered", "image", "gcr.io/p/a", "odd", "a\"b\n")
	re := regexp.MustCompile(`^I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ vlog_test\.go:\d+\] "Request answered" image="gcr\.io/p/a" odd="a\\"b\\n"\n$`)
	if !re.MatchString(buf.String()) {
		t.Errorf("line %q", buf.String())
	}
}
