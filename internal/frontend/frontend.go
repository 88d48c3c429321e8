// Package frontend is what the kubelet runs: image-credential-provider, the one binary
// its CredentialProviderConfig names. It is built to cost little more than starting a
// process: it links no cloud SDK, no HTTP client, no YAML library, no Kubernetes API
// machinery and no logging library, and compiles nothing at start-up.
//
// For a kubelet request it replays, when it can, an answer a companion binary recorded
// for the same configuration: the answer the kubelet itself would have served from its
// in-memory cache had it not restarted, for the rest of that answer's cacheDuration, and
// only while every local file the answer came from is unchanged (internal/filestate).
// Everything else goes, unchanged (arguments, environment, the request on stdin), to a
// binary installed beside it (internal/handoff, internal/binaries):
//
//   - a kubelet request it cannot replay, to the companion of the image host's cloud
//     (ECR, Google, Azure registry hosts by their built-in tables), or to the binary
//     that links every backend for any other host; a companion that finds the image
//     needs more than it links hands it on once more to that binary;
//   - under a single-cloud plugin's name (ecr-credential-provider, ...), a kubelet
//     request it cannot replay and anything else, to that cloud's companion, which
//     takes that plugin's arguments;
//   - the commands for people (get, cache, check, install, --help), to the binary that
//     links every backend.
//
// It answers `version` itself, never reads stdin for anything but a kubelet request,
// and never waits on a terminal.
package frontend

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/imagecred/image-credential-provider/acr/acrhost"
	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/gcr/gcrhost"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/handoff"
	"github.com/imagecred/image-credential-provider/internal/imageref"
	"github.com/imagecred/image-credential-provider/internal/protocol"
	"github.com/imagecred/image-credential-provider/internal/tty"
	"github.com/imagecred/image-credential-provider/internal/version"
)

// Main runs the front end with argv args and returns the exit code; on Linux a
// hand-over replaces the process and does not return.
func Main(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	prog := binaries.Name(args[0])
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", prog, fmt.Sprintf(format, a...))
		return 1
	}
	if by, chained := handoff.Chained(); chained {
		return fail("refusing to answer: this process was started by %s handing a request over, so a copy of the front end is installed under another binary's name; reinstall with `image-credential-provider install`", by)
	}
	if backend, ok := binaries.DropIn(prog); ok {
		companion := binaries.Companion(backend)
		// Its flags, --help and --version are that plugin's, which the companion reads.
		if command(args[1:]) != "" || tty.IsTerminal(stdin) {
			return handOver(prog, companion, prog, args[1:], nil, true, fail)
		}
		at, why := dropInRecords(prog, args[1:])
		return kubeletRequest{prog: prog, args: args[1:], at: at, whyNot: why, route: func([]byte) string { return companion }}.serve(stdin, stdout, stderr, fail)
	}
	switch command(args[1:]) {
	case "version":
		fmt.Fprintln(stdout, version.Line(prog))
		return 0
	case "other":
		return handOver(prog, binaries.All, prog, args[1:], nil, true, fail)
	}
	if tty.IsTerminal(stdin) {
		return fail("expects a CredentialProviderRequest (JSON) on stdin, as the kubelet sends it; to try an image by hand run `%s get IMAGE` (see --help)", prog)
	}
	at, why := ownRecords(args[1:])
	return kubeletRequest{prog: prog, args: args[1:], at: at, whyNot: why, route: route}.serve(stdin, stdout, stderr, fail)
}

// kubeletRequest is how the front end serves a kubelet request under one name.
type kubeletRequest struct {
	prog string
	args []string // argv[0] excluded
	// at is where the answers recorded for this configuration are, unless whyNot says
	// why none can be replayed.
	at     records
	whyNot string
	// route picks the binary that answers a request no recorded answer does.
	route func(data []byte) string
}

// serve reads the request, replays a recorded answer when it can, and else hands the
// request, read, to the binary k.route picks.
func (k kubeletRequest) serve(stdin io.Reader, stdout, stderr io.Writer, fail func(string, ...any) int) int {
	start := time.Now()
	log := vlog{v: verbosity(k.args), w: stderr}
	data, err := io.ReadAll(io.LimitReader(stdin, protocol.MaxRequestBytes+1))
	if err != nil {
		return fail("reading request from stdin: %v", err)
	}
	why := k.whyNot
	switch {
	case len(data) > protocol.MaxRequestBytes:
		why = "the request is too large to replay"
	case why == "":
		out, r := replay(k.at, data, time.Now())
		if r.ok {
			if _, err := stdout.Write(out); err != nil {
				return 1
			}
			log.info(summaryLevel, "Request answered", "image", capped(r.image),
				"outcome", fmt.Sprintf("%d key(s), cacheKeyType %s, cacheDuration %s", r.keys, r.keyType, r.duration),
				"duration", time.Since(start).Round(10*time.Microsecond).String(), "answeredBy", k.prog+" (recorded answer)")
			return 0
		}
		why = r.why
	}
	target := k.route(data)
	log.info(decisionLevel, "Handing the request over", "to", target, "why", why)
	// The target runs under the front end's name, so that its errors start with the
	// name the kubelet knows.
	return handOver(k.prog, target, k.prog, k.args, data, false, fail)
}

// capped is user input cut to a length a log line can carry.
func capped(s string) string {
	if len(s) <= 256 {
		return s
	}
	return s[:256] + fmt.Sprintf("…(%d bytes)", len(s))
}

// command classifies the arguments: "version" for exactly `version` or `--version`,
// "other" when a command word or a help flag appears anywhere (the binary with the
// commands parses them properly; sending it a kubelet request by mistake only costs
// time, never a wrong answer), "" for kubelet mode.
func command(args []string) string {
	if len(args) == 1 && (args[0] == "version" || args[0] == "--version" || args[0] == "-version") {
		return "version"
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "get", "cache", "check", "install", "help", "version", "-h", "-help", "--help":
			return "other"
		}
	}
	return ""
}

// route picks the binary for a request the front end could not replay: the companion
// of the image host's cloud, else the binary that links every backend (which also
// answers malformed requests with the plugin's own errors).
func route(data []byte) string {
	req, err := protocol.DecodeRequest(data)
	if err != nil {
		return binaries.All
	}
	img, err := imageref.Parse(req.Image)
	if err != nil {
		return binaries.All
	}
	switch {
	case ecrhost.IsECR(img.Host):
		return binaries.Companion("ecr")
	case gcrhost.IsRegistryHost(img.Host):
		return binaries.Companion("gcr")
	case acrhost.IsWellKnown(img.Host):
		return binaries.Companion("acr")
	}
	return binaries.All
}

// handOver runs the binary named target, installed beside the front end (or, when a
// companion is missing, the binary that links every backend).
func handOver(prog, target, argv0 string, args []string, data []byte, keepStdin bool, fail func(string, ...any) int) int {
	path, err := handoff.Beside(target)
	if err != nil {
		return fail("%v", err)
	}
	if _, err := os.Stat(path); err != nil && target != binaries.All {
		if all, err := handoff.Beside(binaries.All); err == nil {
			path = all
		}
	}
	code, err := handoff.Exec(handoff.Request{Path: path, Argv0: argv0, Args: args, Env: os.Environ(), Stdin: data, KeepStdin: keepStdin, By: prog})
	if err != nil {
		return fail("cannot answer: %v; install every binary of the release in this directory (%s)", err, joinNames())
	}
	return code
}

func joinNames() string {
	s := ""
	for i, n := range binaries.Installed() {
		if i > 0 {
			s += ", "
		}
		s += handoff.ExecutableName(n)
	}
	return s
}
