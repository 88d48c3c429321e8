package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/answer"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/filestate"
	"github.com/imagecred/image-credential-provider/internal/handoff"
	"github.com/imagecred/image-credential-provider/internal/imageref"
	"github.com/imagecred/image-credential-provider/internal/loglevel"
	"github.com/imagecred/image-credential-provider/internal/protocol"
	"github.com/imagecred/image-credential-provider/providers"
)

// kubeletMode answers one CredentialProviderRequest.
func (b Binary) kubeletMode(opts *options, stdin io.Reader, stdout io.Writer) (err error) {
	sum := newSummary(b, opts.prog)
	defer func() { sum.done(err) }()
	if isTerminal(stdin) {
		return fmt.Errorf("expects a CredentialProviderRequest (JSON) on stdin, as the kubelet sends it; to try an image by hand run `%s get IMAGE` (see %s --help)", commandsBinary(opts.prog), commandsBinary(opts.prog))
	}
	data, err := io.ReadAll(io.LimitReader(stdin, protocol.MaxRequestBytes+1))
	if err != nil {
		return fmt.Errorf("reading request from stdin: %w", err)
	}
	if len(data) > protocol.MaxRequestBytes {
		return fmt.Errorf("request on stdin is larger than %d bytes", protocol.MaxRequestBytes)
	}
	kreq, err := protocol.DecodeRequest(data)
	if err != nil {
		return err
	}
	logRequest(kreq)
	sum.image = kreq.Image
	r, err := b.prepare(opts, kreq)
	if err != nil {
		return err
	}
	sum.plan = r.plan
	if missing := b.missing(r.plan); len(missing) > 0 {
		err := b.handOver(opts.prog, opts.args, data, missing)
		var code exitCode
		sum.handedOver = errors.As(err, &code)
		return err
	}
	ans, err := r.resolve()
	if err != nil {
		return err
	}
	sum.ans = ans
	resp := toProtocol(ans)
	logResponse(kreq.APIVersion, resp)
	out, err := protocol.EncodeResponse(kreq.APIVersion, resp)
	if err != nil {
		return err
	}
	if _, err = stdout.Write(out); err != nil {
		return err
	}
	recordAnswer(opts, kreq, r.req, ans, r.inputs)
	return nil
}

// request is one request on its way to an answer.
type request struct {
	b     Binary
	cfg   *config.Config
	cache *lazyCache
	req   providers.Request
	plan  *plan
	// inputs is the state of every local file the answer may depend on, taken before
	// any of them is read; nil when one of them has no state (nothing is recorded then).
	inputs filestate.Set
}

// prepare parses the request's image and works out which backends serve it.
func (b Binary) prepare(opts *options, kreq *protocol.Request) (*request, error) {
	cfg := opts.cfg
	names, err := enabledBackends(cfg)
	if err != nil {
		return nil, err
	}
	inputs := snapshot(cfg, names)
	img, err := imageref.Parse(kreq.Image)
	if err != nil {
		return nil, err
	}
	req := providers.Request{Image: img}
	if kreq.ServiceAccountToken != "" {
		req.ServiceAccount = providers.NewServiceAccount(kreq.ServiceAccountToken, kreq.ServiceAccountAnnotations)
	}
	p, err := newPlan(cfg, img)
	if err != nil {
		return nil, err
	}
	logPlan(cfg, p, img.Host)
	return &request{b: b, cfg: cfg, cache: opts.cache, req: req, plan: p, inputs: inputs}, nil
}

// resolve builds the serving backends and merges their answers.
func (r *request) resolve() (*providers.Answer, error) {
	ps, err := r.b.providers(r.cfg, r.plan)
	if err != nil {
		return nil, err
	}
	d := &providers.Dispatcher{Providers: ps, Warnf: klog.Warningf, Debugf: klog.V(loglevel.Decision).Infof}
	if !r.cfg.Cache.Disabled {
		d.Cache = r.cache
	} else {
		klog.V(loglevel.Decision).InfoS("Token cache not used: disabled (cache.disabled, --no-cache)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TimeoutOrDefault())
	defer cancel()
	return d.Resolve(ctx, r.req)
}

// snapshot is the state of every local file an answer under cfg may depend on; nil
// when one of them has no state.
func snapshot(cfg *config.Config, enabled []string) filestate.Set {
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	s, ok := filestate.Snapshot(cfg.InputFiles(enabled, os.Getenv, home, cwd))
	if !ok {
		return nil
	}
	return s
}

// handOver passes the request to the binary that links every backend.
func (b Binary) handOver(prog string, args []string, data []byte, missing []string) error {
	path, err := handoff.Beside(binaries.All)
	if err == nil {
		logHandOver(path, fmt.Sprintf("the image is served by %s, which this binary does not link", strings.Join(missing, ",")))
		var code int
		code, err = handoff.Exec(handoff.Request{Path: path, Argv0: prog, Args: args, Env: os.Environ(), Stdin: data, By: b.Name})
		if err == nil {
			return exitCode(code)
		}
	}
	return fmt.Errorf("the image is served by %v, which this binary (%s) does not link, and %s cannot answer instead: %w; install every binary of the release side by side", missing, b.Name, binaries.All, err)
}

// handOverCommand passes a command for people to the binary that has them.
func (b Binary) handOverCommand(prog string, args []string) error {
	path, err := handoff.Beside(binaries.All)
	if err == nil {
		logHandOver(path, "commands are served by "+binaries.All)
		var code int
		code, err = handoff.Exec(handoff.Request{Path: path, Argv0: prog, Args: args, Env: os.Environ(), KeepStdin: true, By: b.Name})
		if err == nil {
			return exitCode(code)
		}
	}
	return fmt.Errorf("commands are served by %s, which cannot run: %w", binaries.All, err)
}

// exitCode is the exit status of a binary that answered in this one's place (where
// the platform cannot replace the running process); it ends the run with that status.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// recordAnswer keeps ans in the token cache directory under the kubelet's own cache key,
// so that a later process (the front end the kubelet runs, after a kubelet restart or
// for the next pull) can replay it for the rest of its cacheDuration, as long as every
// file it was derived from is unchanged.
func recordAnswer(opts *options, kreq *protocol.Request, req providers.Request, ans *providers.Answer, before filestate.Set) {
	areq := answer.Request{APIVersion: kreq.APIVersion, Image: kreq.Image, ServiceAccount: req.ServiceAccount}
	notRecorded := func(why string) {
		klog.V(loglevel.Decision).InfoS("Answer not recorded for replay", "why", why)
	}
	if why := answer.WhyNotRecordable(areq, ans); why != "" {
		notRecorded(why)
		return
	}
	if before == nil {
		notRecorded("the state of a file it depends on cannot be read")
		return
	}
	if !before.Unchanged() {
		notRecorded("a file it depends on changed while it was worked out")
		return
	}
	s := opts.cache.get()
	if s == nil {
		notRecorded("the token cache is disabled or unusable")
		return
	}
	key := answer.Key(opts.fingerprint(), areq, ans.CacheKeyType)
	if old, ok := s.Peek(key); ok && sameAnswer(old, ans) && filestate.Set(old.Inputs).Equal(before) {
		// Already recorded and still fresh: a cache hit costs no write.
		klog.V(loglevel.Decision).InfoS("Answer already recorded for replay")
		return
	}
	if err := s.Put(key, answer.Result(time.Now(), ans, before)); err != nil {
		notRecorded(err.Error())
		return
	}
	klog.V(loglevel.Decision).InfoS("Answer recorded for replay", "cacheKeyType", ans.CacheKeyType, "for", ans.CacheDuration.String(), "inputFiles", len(before))
}

// fingerprint identifies the configuration answers are recorded for: the one the
// front end finds them by when the kubelet runs it with the same name, arguments and
// environment.
func (o *options) fingerprint() string {
	if o.dropIn != "" {
		return answer.DropInFingerprint(o.dropIn, o.args, os.Environ())
	}
	return answer.Fingerprint(o.args, os.Environ(), answer.ConfigBytes(o.args))
}

// sameAnswer reports whether a recorded answer gives the kubelet what ans gives.
func sameAnswer(rec *providers.Result, ans *providers.Answer) bool {
	if rec.CacheKeyType != ans.CacheKeyType || len(rec.Auth) != len(ans.Auth) {
		return false
	}
	for k, a := range ans.Auth {
		if r, ok := rec.Auth[k]; !ok || r != a {
			return false
		}
	}
	return true
}

func toProtocol(ans *providers.Answer) *protocol.Response {
	resp := &protocol.Response{
		CacheKeyType:  string(ans.CacheKeyType),
		CacheDuration: ans.CacheDuration,
		Auth:          make(map[string]protocol.AuthConfig, len(ans.Auth)),
	}
	for k, a := range ans.Auth {
		resp.Auth[k] = protocol.AuthConfig{Username: a.Username, Password: a.Password}
	}
	return resp
}
