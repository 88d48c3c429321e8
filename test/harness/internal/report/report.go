// Package report renders a harness run as JSON and as a readable table.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/imagecred/image-credential-provider/test/harness/internal/kubelet"
	"github.com/imagecred/image-credential-provider/test/harness/internal/pull"
	"github.com/imagecred/image-credential-provider/test/harness/internal/scenario"
)

// Report is a whole run.
type Report struct {
	Scenario  string                   `json:"scenario,omitempty"`
	Config    string                   `json:"config"`
	BinDir    string                   `json:"binDir"`
	SAGate    bool                     `json:"serviceAccountTokenGate"`
	Providers []kubelet.ProviderConfig `json:"providers"`
	Pulls     []Pull                   `json:"pulls"`
	Summary   Summary                  `json:"summary"`
}

// Pull is one image pull: the kubelet lookup, the runtime pull and the checks.
type Pull struct {
	Index  int               `json:"index"`
	Pod    kubelet.Pod       `json:"pod"`
	Lookup *kubelet.Lookup   `json:"lookup"`
	Result pull.Result       `json:"pull"`
	Execs  int               `json:"execs"`
	Cache  bool              `json:"cacheHit"`
	Checks []scenario.Check  `json:"checks"`
	Passed bool              `json:"passed"`
	Extra  map[string]string `json:"extra,omitempty"`
}

// Summary totals the run.
type Summary struct {
	Pulls        int   `json:"pulls"`
	PullsOK      int   `json:"pullsOK"`
	Execs        int   `json:"execs"`
	CacheHits    int   `json:"cacheHits"`
	Bytes        int64 `json:"bytes"`
	ChecksFailed int   `json:"checksFailed"`
	Passed       bool  `json:"passed"`
}

// Finish computes the summary.
func (r *Report) Finish() {
	s := Summary{Passed: true}
	for _, p := range r.Pulls {
		s.Pulls++
		if p.Result.OK {
			s.PullsOK++
			s.Bytes += p.Result.Bytes
		}
		s.Execs += p.Execs
		if p.Cache {
			s.CacheHits++
		}
		for _, c := range p.Checks {
			if !c.OK {
				s.ChecksFailed++
				s.Passed = false
			}
		}
	}
	r.Summary = s
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the pulls, the plugin executions and failed checks as tables.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tIMAGE\tPLUGIN EXECS\tKUBELET CACHE\tCREDS\tCREDENTIAL THAT WORKED\tPULL\tBYTES\tMANIFEST")
	for _, p := range r.Pulls {
		cache := "miss"
		switch {
		case p.Cache:
			cache = "hit"
		case !anyMatched(p.Lookup):
			cache = "-"
		case anySkipped(p.Lookup):
			cache = "skipped"
		}
		used := "-"
		switch {
		case p.Result.OK && p.Result.Used >= 0:
			c := p.Lookup.Credentials[p.Result.Used]
			used = fmt.Sprintf("[%d] %s / %s", p.Result.Used, c.Username, c.PasswordMasked)
			if len(c.From) > 0 {
				used += " from " + strings.Join(c.From, ",")
			}
			if c.Source != "" {
				used += " (" + c.Source + ")"
			}
		case p.Result.OK:
			used = "anonymous"
		}
		result := "ok"
		if !p.Result.OK {
			result = "FAILED"
		}
		if len(p.Result.Attempts) > 1 {
			result += fmt.Sprintf(" (%d attempts)", len(p.Result.Attempts))
		}
		if !p.Passed {
			result += " CHECK FAILED"
		}
		digest := "-"
		if p.Result.Manifest != nil {
			digest = short(p.Result.Manifest.Digest)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\n", p.Index, p.Lookup.Image, execSummary(p), cache,
			len(p.Lookup.Credentials), used, result, p.Result.Bytes, digest)
	}
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Plugin executions (request the kubelet sent -> response):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPROVIDER\tAPIVERSION\tREQUEST IMAGE\tSA TOKEN\tANNOTATIONS\tEXIT\tMS\tCACHEKEYTYPE\tDURATION\tAUTH KEYS")
	n := 0
	for _, p := range r.Pulls {
		for _, a := range p.Lookup.Providers {
			for _, x := range a.Execs {
				n++
				ckt, dur, keys := "-", "-", "-"
				if x.Response != nil {
					ckt = x.Response.CacheKeyType
					if x.Response.CacheDuration != nil {
						dur = *x.Response.CacheDuration
					}
					ks := make([]string, 0, len(x.Response.Auth))
					for k, v := range x.Response.Auth {
						ks = append(ks, k+"="+v.Username)
					}
					sort.Strings(ks)
					keys = strings.Join(ks, " ")
				} else if x.ResponseError != "" {
					keys = "(" + x.ResponseError + ")"
				}
				tok := "-"
				if x.Request.Token != "" {
					tok = x.Request.Token
				}
				ann := "-"
				if len(x.Request.Annotations) > 0 {
					ann = fmt.Sprint(x.Request.Annotations)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", p.Index, x.Provider,
					strings.TrimPrefix(x.Request.APIVersion, "credentialprovider.kubelet.k8s.io/"),
					x.Request.Image, tok, ann, x.ExitCode, x.Millis, ckt, dur, keys)
			}
		}
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(w, "  (none recorded)")
	}

	var failed []string
	for _, p := range r.Pulls {
		for _, c := range p.Checks {
			if !c.OK {
				failed = append(failed, fmt.Sprintf("  pull %d %s: %s", p.Index, c.Name, c.Detail))
			}
		}
		if !p.Result.OK && p.Result.Error != "" {
			failed = append(failed, fmt.Sprintf("  pull %d error: %s", p.Index, p.Result.Error))
		}
		for _, a := range p.Lookup.Providers {
			for _, e := range a.Errors {
				failed = append(failed, fmt.Sprintf("  pull %d kubelet: provider %s: %s", p.Index, a.Name, e))
			}
			if a.Skipped != "" {
				failed = append(failed, fmt.Sprintf("  pull %d kubelet: provider %s not called: %s", p.Index, a.Name, a.Skipped))
			}
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Notes, errors and failed checks:")
		for _, f := range failed {
			fmt.Fprintln(w, f)
		}
	}
	s := r.Summary
	fmt.Fprintf(w, "\n%d pulls, %d ok, %d plugin executions, %d kubelet cache hits, %d bytes pulled, %d failed checks\n",
		s.Pulls, s.PullsOK, s.Execs, s.CacheHits, s.Bytes, s.ChecksFailed)
}

func execSummary(p Pull) string {
	var parts []string
	for _, a := range p.Lookup.Providers {
		n := max(len(a.Execs), a.ExecCount)
		if a.Matched || n > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", a.Name, n))
		}
	}
	if len(parts) == 0 {
		return "- (no provider matches)"
	}
	return strings.Join(parts, " ")
}

func anyMatched(l *kubelet.Lookup) bool {
	for _, p := range l.Providers {
		if p.Matched {
			return true
		}
	}
	return false
}

func anySkipped(l *kubelet.Lookup) bool {
	for _, p := range l.Providers {
		if p.Skipped != "" {
			return true
		}
	}
	return false
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
