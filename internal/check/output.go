package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: one line per finding, its verdict first,
// the failures last, then a count.
func (r *Report) WriteText(w io.Writer) {
	for _, failed := range []bool{false, true} {
		for _, f := range r.Findings {
			if (f.Verdict == Fail) == failed {
				writeFinding(w, f)
			}
		}
	}
	fmt.Fprintf(w, "%d ok, %s, %d failed\n", r.count(OK), plural(r.count(Warn), "warning"), r.count(Fail))
}

func writeFinding(w io.Writer, f Finding) {
	subject := ""
	if f.Subject != "" {
		subject = f.Subject + ": "
	}
	fmt.Fprintf(w, "%-4s  %-11s  %s%s\n", f.Verdict, f.Step, subject, f.Message)
	for _, d := range f.Details {
		fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", 19), d)
	}
}

// WriteJSON writes the report for machines.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		*Report
		OK       int `json:"ok"`
		Warnings int `json:"warnings"`
		Failed   int `json:"failed"`
	}{r, r.count(OK), r.count(Warn), r.count(Fail)})
}
