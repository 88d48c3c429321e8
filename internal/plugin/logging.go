package plugin

// What the plugin logs, at the levels internal/loglevel defines: the one summary line
// of a request, its decisions, and the shapes of what the kubelet sent and gets back.

import (
	"fmt"
	"log"
	"sort"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/handoff"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/internal/protocol"
	"github.com/imagecred/image-credential-provider/providers"
)

// routeStandardLog sends the lines of libraries that write to the standard logger
// (which goes to stderr) to klog at loglevel.Decision instead, so that nothing but
// klog writes to stderr.
func routeStandardLog() {
	log.SetFlags(0)
	log.SetOutput(stdLogWriter{})
}

type stdLogWriter struct{}

func (stdLogWriter) Write(p []byte) (int, error) {
	klog.V(loglevel.Decision).InfoS("Library log line", "line", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// logConfig says, at loglevel.Decision, where the configuration came from.
func logConfig(cfg *config.Config) {
	if cfg.Path != "" {
		klog.V(loglevel.Decision).InfoS("Config file read", "path", cfg.Path)
	} else {
		klog.V(loglevel.Decision).InfoS("No config file (--config): flags and defaults only")
	}
}

// summary is the one line loglevel.Summary shows for a request: logged by done,
// unless the request was handed to another binary (which logs it).
type summary struct {
	binary     string
	prog       string
	start      time.Time
	image      string
	plan       *plan
	ans        *providers.Answer
	handedOver bool
}

func newSummary(b Binary, prog string) *summary {
	return &summary{binary: b.Name, prog: prog, start: time.Now()}
}

// done logs the summary of a request that ended with err (nil: answered).
func (s *summary) done(err error) {
	if s.handedOver || !klog.V(loglevel.Summary).Enabled() {
		return
	}
	var kv []any
	if s.image != "" {
		kv = append(kv, "image", capped(s.image))
	}
	if s.plan != nil {
		kv = append(kv, "backends", strings.Join(s.plan.servingNames(), ","))
	}
	msg := "Request answered"
	if err != nil {
		msg = "Request failed"
		kv = append(kv, "err", oneLine(err.Error()))
	} else if s.ans != nil {
		kv = append(kv, "outcome", outcome(s.ans))
	}
	kv = append(kv, "duration", time.Since(s.start).Round(10*time.Microsecond).String())
	by := s.binary
	if _, dropIn := binaries.DropIn(s.prog); dropIn {
		by += " (as " + s.prog + ")"
	}
	kv = append(kv, "answeredBy", by)
	if from, ok := handoff.Chained(); ok {
		kv = append(kv, "handedOverBy", from)
	}
	if s.ans != nil {
		for _, c := range s.ans.Contributions {
			if c.Identity.NodeFallback != "" {
				kv = append(kv, "nodeIdentity", c.Backend+": the node's identity answers a service-account request: "+c.Identity.NodeFallback)
			}
		}
	}
	klog.V(loglevel.Summary).InfoS(msg, kv...)
}

// servingNames lists the enabled backends that serve the image.
func (p *plan) servingNames() []string {
	var out []string
	for i, name := range p.names {
		if p.serving[i] {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

// outcome says what the kubelet got, without a secret.
func outcome(ans *providers.Answer) string {
	s := fmt.Sprintf("%d key(s), cacheKeyType %s, cacheDuration %s", len(ans.Auth), ans.CacheKeyType, ans.CacheDuration)
	var failed []string
	for _, c := range ans.Contributions {
		if c.Err != nil {
			failed = append(failed, c.Backend)
		}
	}
	if len(failed) > 0 {
		s += "; failed: " + strings.Join(failed, ",")
	}
	if len(ans.Problems) > 0 {
		s += fmt.Sprintf("; %d problem(s)", len(ans.Problems))
	}
	return s
}

// logPlan says, at loglevel.Decision, which enabled backends serve the image and which
// are skipped, and which backends are not enabled.
func logPlan(cfg *config.Config, p *plan, host string) {
	if !klog.V(loglevel.Decision).Enabled() {
		return
	}
	for i, name := range p.names {
		if p.serving[i] {
			klog.V(loglevel.Decision).InfoS("Backend chosen: it serves the registry", "backend", name, "registry", host)
		} else {
			klog.V(loglevel.Decision).InfoS("Backend skipped: it does not serve the registry", "backend", name, "registry", host)
		}
	}
	if len(cfg.Backends) == 0 {
		return
	}
	for _, name := range config.BackendNames {
		enabled := false
		for _, n := range p.names {
			enabled = enabled || n == name
		}
		if !enabled {
			klog.V(loglevel.Decision).InfoS("Backend skipped: not enabled (backends, --backends)", "backend", name)
		}
	}
}

// logRequest shows, at loglevel.Wire, the request the kubelet sent, token masked.
func logRequest(kreq *protocol.Request) {
	if !klog.V(loglevel.Wire).Enabled() {
		return
	}
	kv := []any{"apiVersion", kreq.APIVersion, "image", capped(kreq.Image)}
	if kreq.ServiceAccountToken != "" {
		kv = append(kv, "serviceAccountToken", loglevel.Masked(kreq.ServiceAccountToken))
	}
	if len(kreq.ServiceAccountAnnotations) > 0 {
		keys := make([]string, 0, len(kreq.ServiceAccountAnnotations))
		for k := range kreq.ServiceAccountAnnotations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, 0, len(keys))
		for _, k := range keys {
			pairs = append(pairs, capped(k)+"="+capped(kreq.ServiceAccountAnnotations[k]))
		}
		kv = append(kv, "serviceAccountAnnotations", strings.Join(pairs, ","))
	}
	klog.V(loglevel.Wire).InfoS("Request from the kubelet", kv...)
}

// logResponse shows, at loglevel.Wire, the response, passwords masked.
func logResponse(apiVersion string, resp *protocol.Response) {
	if !klog.V(loglevel.Wire).Enabled() {
		return
	}
	keys := make([]string, 0, len(resp.Auth))
	for k := range resp.Auth {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	auth := make([]string, 0, len(keys))
	for _, k := range keys {
		a := resp.Auth[k]
		auth = append(auth, fmt.Sprintf("%s: username %s, password %s", k, a.Username, loglevel.Masked(a.Password)))
	}
	klog.V(loglevel.Wire).InfoS("Response to the kubelet", "apiVersion", apiVersion, "cacheKeyType", resp.CacheKeyType,
		"cacheDuration", resp.CacheDuration.String(), "auth", strings.Join(auth, "; "))
}

// logHandOver says, at loglevel.Decision, that the request goes to another binary.
func logHandOver(path, why string) {
	klog.V(loglevel.Decision).InfoS("Handing the request over", "to", path, "why", why)
}

// capped is user input cut to a length a log line can carry.
func capped(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	return s[:max] + fmt.Sprintf("…(%d bytes)", len(s))
}

// commandsBinary is the name to suggest for a command (get, --help) in a message to
// someone who ran prog: prog itself, unless it is a drop-in name, which has no
// commands; then the front end's.
func commandsBinary(prog string) string {
	if _, ok := binaries.DropIn(prog); ok || prog == "" {
		return binaries.FrontEnd
	}
	return prog
}
