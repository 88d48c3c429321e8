package frontend

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/internal/loglevel"
)

// vlog writes the front end's own log lines, in klog's text format, at the levels of
// internal/loglevel, without linking a logging library: the summary line of a request
// it answers from a recorded answer (loglevel.Summary) and why it hands a request over
// (loglevel.Decision). Requests it hands over are logged by the binary that answers.
type vlog struct {
	v int
	w io.Writer
}

// verbosity reads -v / --v from args as the companions' flag parsing does; 0 when
// absent or unreadable.
func verbosity(args []string) int {
	v := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "v" {
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				break
			}
			i++
			val = args[i]
		}
		if n, err := strconv.Atoi(val); err == nil && n >= 0 {
			v = n
		}
	}
	return v
}

// info writes msg and its key/value pairs when the verbosity is at least level.
func (l vlog) info(level int, msg string, kv ...string) {
	if l.v < level || l.w == nil {
		return
	}
	now := time.Now()
	_, file, line, ok := runtime.Caller(1)
	if !ok {
		file, line = "frontend.go", 0
	}
	var b strings.Builder
	_, month, day := now.Date()
	fmt.Fprintf(&b, "I%02d%02d %02d:%02d:%02d.%06d %7d %s:%d] %s", int(month), day, now.Hour(), now.Minute(), now.Second(),
		now.Nanosecond()/1000, os.Getpid(), filepath.Base(file), line, strconv.Quote(msg))
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(" " + kv[i] + "=" + strconv.Quote(kv[i+1]))
	}
	b.WriteByte('\n')
	io.WriteString(l.w, b.String())
}

// summaryLevel and decisionLevel are the levels of internal/loglevel.
const (
	summaryLevel  = loglevel.Summary
	decisionLevel = loglevel.Decision
)
