package scenario

import (
	"fmt"
	"sort"
	"strings"

	"github.com/imagecred/image-credential-provider/test/harness/internal/kubelet"
	"github.com/imagecred/image-credential-provider/test/harness/internal/pull"
	"github.com/imagecred/image-credential-provider/test/harness/internal/shim"
)

// Check is one verified expectation.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Outcome is what the checks look at.
type Outcome struct {
	Lookup *kubelet.Lookup
	Pull   pull.Result
}

// Execs counts the plugin executions of the lookup (shim records, or klog events
// when the shim is off).
func (o Outcome) Execs() int {
	n := 0
	for _, p := range o.Lookup.Providers {
		n += max(len(p.Execs), p.ExecCount)
	}
	return n
}

// CacheHit reports whether some provider was served from the kubelet cache.
func (o Outcome) CacheHit() bool {
	for _, p := range o.Lookup.Providers {
		if p.CacheHit {
			return true
		}
	}
	return false
}

// Skipped reports whether some matching provider was skipped by the SA rules.
func (o Outcome) Skipped() bool {
	for _, p := range o.Lookup.Providers {
		if p.Skipped != "" {
			return true
		}
	}
	return false
}

// Evaluate checks e against o. A nil e means "the pull succeeds". Every execution is
// also checked for secrets leaked to stderr, whatever e says.
func Evaluate(e *Expect, o Outcome) []Check {
	var cs []Check
	add := func(name string, ok bool, format string, args ...any) {
		cs = append(cs, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	if e == nil {
		t := true
		e = &Expect{OK: &t}
	}
	if e.OK != nil {
		add("ok", o.Pull.OK == *e.OK, "pull ok=%v, want %v %s", o.Pull.OK, *e.OK, o.Pull.Error)
	}
	if e.Execs != nil {
		add("execs", o.Execs() == *e.Execs, "plugin executions %d, want %d", o.Execs(), *e.Execs)
	}
	if e.CacheHit != nil {
		add("cacheHit", o.CacheHit() == *e.CacheHit, "kubelet cache hit %v, want %v", o.CacheHit(), *e.CacheHit)
	}
	if e.Skipped != nil {
		add("skipped", o.Skipped() == *e.Skipped, "plugin skipped %v, want %v", o.Skipped(), *e.Skipped)
	}
	if e.Credentials != nil {
		add("credentials", len(o.Lookup.Credentials) == *e.Credentials, "credentials offered %d, want %d", len(o.Lookup.Credentials), *e.Credentials)
	}
	if e.Attempts != nil {
		add("attempts", len(o.Pull.Attempts) == *e.Attempts, "pull attempts %d, want %d", len(o.Pull.Attempts), *e.Attempts)
	}
	if e.User != nil {
		got := "<none>"
		if o.Pull.OK && o.Pull.Used >= 0 {
			got = o.Lookup.Credentials[o.Pull.Used].Username
		}
		add("user", got == *e.User, "credential used %q, want %q", got, *e.User)
	}
	if e.UsedIndex != nil {
		add("usedIndex", o.Pull.OK && o.Pull.Used == *e.UsedIndex, "credential index used %d, want %d", o.Pull.Used, *e.UsedIndex)
	}
	if e.Anonymous != nil {
		anon := o.Pull.OK && o.Pull.Used == -1
		add("anonymous", anon == *e.Anonymous, "anonymous pull %v, want %v", anon, *e.Anonymous)
	}
	if e.TokenRequests != nil {
		add("tokenRequests", len(o.Lookup.TokenRequests) == *e.TokenRequests, "TokenRequests %d, want %d", len(o.Lookup.TokenRequests), *e.TokenRequests)
	}
	if e.ErrorContains != "" {
		errs := o.Pull.Error
		for _, p := range o.Lookup.Providers {
			errs += " " + strings.Join(p.Errors, " ")
		}
		add("errorContains", strings.Contains(errs, e.ErrorContains), "errors %q, want to contain %q", oneLine(errs), e.ErrorContains)
	}
	first := firstExec(o)
	if e.Request != nil {
		if first == nil {
			add("request", false, "no plugin execution to check the request of")
		} else {
			r := first.Request
			if e.Request.APIVersion != "" {
				add("request.apiVersion", r.APIVersion == e.Request.APIVersion, "request apiVersion %q, want %q", r.APIVersion, e.Request.APIVersion)
			}
			if e.Request.Image != "" {
				add("request.image", r.Image == e.Request.Image, "request image %q, want %q", r.Image, e.Request.Image)
			}
			if e.Request.HasToken != nil {
				add("request.hasToken", (r.Token != "") == *e.Request.HasToken, "request has token %v, want %v", r.Token != "", *e.Request.HasToken)
			}
			if e.Request.Annotations != nil {
				add("request.annotations", sameMap(r.Annotations, e.Request.Annotations), "request annotations %v, want %v", r.Annotations, e.Request.Annotations)
			}
		}
	}
	if e.Response != nil {
		if first == nil || first.Response == nil {
			add("response", false, "no plugin response to check")
		} else {
			r := first.Response
			if e.Response.APIVersion != "" {
				add("response.apiVersion", r.APIVersion == e.Response.APIVersion, "response apiVersion %q, want %q", r.APIVersion, e.Response.APIVersion)
			}
			if e.Response.CacheKeyType != "" {
				add("response.cacheKeyType", r.CacheKeyType == e.Response.CacheKeyType, "response cacheKeyType %q, want %q", r.CacheKeyType, e.Response.CacheKeyType)
			}
			if e.Response.AuthKeys != nil {
				keys := make([]string, 0, len(r.Auth))
				for k := range r.Auth {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				want := append([]string(nil), e.Response.AuthKeys...)
				sort.Strings(want)
				add("response.authKeys", strings.Join(keys, ",") == strings.Join(want, ","), "response auth keys %v, want %v", keys, want)
			}
		}
	}
	for _, p := range o.Lookup.Providers {
		for _, x := range p.Execs {
			if x.StderrLeaksSecret {
				add("noSecretInStderr", false, "provider %s wrote a secret to stderr", p.Name)
			}
		}
	}
	return cs
}

func firstExec(o Outcome) *shim.Exec {
	for _, p := range o.Lookup.Providers {
		if len(p.Execs) > 0 {
			return &p.Execs[0]
		}
	}
	return nil
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func oneLine(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
