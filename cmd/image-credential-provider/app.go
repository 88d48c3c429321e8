package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/answer"
	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/imageref"
	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/internal/protocol"
	"github.com/imagecred/image-credential-provider/providers"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `image-credential-provider: a kubelet image credential provider for static docker
config.json credentials, Amazon ECR, Google Container/Artifact Registry and Azure
Container Registry, in one binary.

Usage:
  image-credential-provider [flags]                 kubelet mode: CredentialProviderRequest on stdin,
                                                    CredentialProviderResponse on stdout
  image-credential-provider get IMAGE [flags]       show the credentials the kubelet would get
  image-credential-provider cache list|purge        show or empty the on-disk token cache
  image-credential-provider version                 print the version

Examples:
  # What would the kubelet get for this image? (passwords masked)
  image-credential-provider --dockercfg examples/dockercfg/config.json get my-registry.example/images/app:1.0

  # The exact kubelet response, secrets included
  image-credential-provider get -o json --show-secrets 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app

  # Speak the kubelet protocol by hand
  echo '{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"gcr.io/p/app"}' \
    | image-credential-provider --config /etc/kubernetes/image-credential-provider.yaml

Flags:
`

// run is the whole command; it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	prog := filepath.Base(args[0])
	if err := runE(prog, args[1:], stdin, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		klog.Flush()
		fmt.Fprintf(stderr, "%s: %s\n", prog, oneLine(err.Error()))
		return 1
	}
	klog.Flush()
	return 0
}

// oneLine keeps an error on one line, as the kubelet logs it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

type options struct {
	cfg *Config
	// args are the command-line arguments (argv[0] excluded) in kubelet mode, for the
	// fingerprint of recorded answers; nil in drop-in mode, which records none.
	args        []string
	output      string
	showSecrets bool
}

func runE(prog string, args []string, stdin io.Reader, stdout io.Writer) error {
	if _, ok := dropIns[prog]; ok {
		return runDropIn(prog, args, stdin, stdout)
	}
	path, err := configPath(args)
	if err != nil {
		return err
	}
	cfg := &Config{}
	if path != "" {
		if cfg, err = loadConfig(path); err != nil {
			return err
		}
	}
	opts := &options{cfg: cfg, args: args}
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.String("config", path, "YAML config file (kind "+ConfigKind+"); flags override it")
	fs.StringVar(&opts.output, "o", "table", "get: output format, table or json (the exact kubelet response)")
	fs.BoolVar(&opts.showSecrets, "show-secrets", false, "get: print passwords instead of masking them")
	cfg.addFlags(fs)
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} { // klog's file-output flags are of no use to a plugin
		f := klogFlags.Lookup(name)
		fs.Var(f.Value, f.Name, f.Usage)
	}

	pos, err := cliargs.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return fmt.Errorf("%v (see --help)", err)
	}
	if len(pos) == 0 {
		return kubeletMode(opts, stdin, stdout)
	}
	switch pos[0] {
	case "get":
		if len(pos) != 2 {
			return errors.New("get takes exactly one image, e.g. `get gcr.io/project/app:1.0` (see --help)")
		}
		return getCmd(opts, pos[1], stdout)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "cache":
		if len(pos) != 2 {
			return errors.New("cache takes list or purge (see --help)")
		}
		return cacheCmd(opts, pos[1], stdout)
	case "help":
		return parseHelp(fs, stdout)
	default:
		return fmt.Errorf("unknown command %q: want get, cache, version, or no command for kubelet mode (see --help)", pos[0])
	}
}

func parseHelp(fs *flag.FlagSet, stdout io.Writer) error {
	fmt.Fprint(stdout, usage)
	fs.SetOutput(stdout)
	fs.PrintDefaults()
	return flag.ErrHelp
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	if v == "" {
		v = "(devel)"
	}
	return "image-credential-provider " + v
}

// kubeletMode answers one CredentialProviderRequest.
func kubeletMode(opts *options, stdin io.Reader, stdout io.Writer) error {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return errors.New("expects a CredentialProviderRequest (JSON) on stdin, as the kubelet sends it; to try an image by hand run `get IMAGE` (see --help)")
		}
	}
	kreq, err := protocol.ReadRequest(stdin)
	if err != nil {
		return err
	}
	ans, req, err := resolve(opts.cfg, kreq)
	if err != nil {
		return err
	}
	out, err := protocol.EncodeResponse(kreq.APIVersion, toProtocol(ans))
	if err != nil {
		return err
	}
	if _, err = stdout.Write(out); err != nil {
		return err
	}
	if opts.args != nil {
		recordAnswer(opts, kreq, req, ans)
	}
	return nil
}

// recordAnswer keeps ans in the token cache directory under the kubelet's own cache key,
// so that a later process (after a kubelet restart, or the lean front end
// image-credential-provider-fast) can replay it for the rest of its cacheDuration.
func recordAnswer(opts *options, kreq *protocol.Request, req providers.Request, ans *providers.Answer) {
	areq := answer.Request{APIVersion: kreq.APIVersion, Image: kreq.Image, ServiceAccount: req.ServiceAccount}
	if !answer.Recordable(areq, ans) {
		return
	}
	s := opts.cfg.cache().get()
	if s == nil {
		return
	}
	fp := answer.Fingerprint(opts.args, os.Environ(), answer.ConfigBytes(opts.args))
	key := answer.Key(fp, areq, ans.CacheKeyType)
	if old, ok := s.Peek(key); ok && sameAnswer(old, ans) {
		// Already recorded and still fresh: a cache hit costs no write (and no fsync).
		return
	}
	if err := s.Put(key, answer.Result(time.Now(), ans)); err != nil {
		klog.V(2).InfoS("Answer not recorded", "err", err)
	}
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

// resolve turns a decoded request into the merged answer of every serving backend.
func resolve(cfg *Config, kreq *protocol.Request) (*providers.Answer, providers.Request, error) {
	img, err := imageref.Parse(kreq.Image)
	if err != nil {
		return nil, providers.Request{}, err
	}
	req := providers.Request{Image: img}
	if kreq.ServiceAccountToken != "" {
		req.ServiceAccount = providers.NewServiceAccount(kreq.ServiceAccountToken, kreq.ServiceAccountAnnotations)
	}
	d, err := newDispatcher(cfg)
	if err != nil {
		return nil, req, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout())
	defer cancel()
	ans, err := d.Resolve(ctx, req)
	return ans, req, err
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

// getCmd shows people what the kubelet would receive for image.
func getCmd(opts *options, image string, stdout io.Writer) error {
	kreq := &protocol.Request{APIVersion: protocol.V1, Image: image}
	ans, _, err := resolve(opts.cfg, kreq)
	if err != nil {
		return err
	}
	switch opts.output {
	case "json":
		resp := toProtocol(ans)
		if !opts.showSecrets {
			for k, a := range resp.Auth {
				a.Password = mask(a.Password)
				resp.Auth[k] = a
			}
		}
		out, err := protocol.EncodeResponse(protocol.V1, resp)
		if err != nil {
			return err
		}
		var pretty any
		if err := json.Unmarshal(out, &pretty); err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pretty)
	case "table", "":
	default:
		return fmt.Errorf("unknown output format %q: want table or json", opts.output)
	}
	img, _ := imageref.Parse(image)
	fmt.Fprintf(stdout, "image:          %s\n", img.Repository())
	if len(ans.Contributions) == 0 {
		fmt.Fprintf(stdout, "backends:       none serves %s (the kubelet gets an empty answer)\n", img.Host)
	}
	for _, c := range ans.Contributions {
		if c.Err != nil {
			fmt.Fprintf(stdout, "backend:        %s  FAILED: %s\n", c.Backend, oneLine(c.Err.Error()))
			continue
		}
		exp := ""
		if !c.Result.Expiry.IsZero() {
			exp = fmt.Sprintf(", token expires %s (in %s)", c.Result.Expiry.Local().Format(time.RFC3339), time.Until(c.Result.Expiry).Truncate(time.Second))
		}
		fmt.Fprintf(stdout, "backend:        %s  (%d key(s), cacheKeyType %s, cacheDuration %s%s)\n", c.Backend, len(c.Result.Auth), c.Result.CacheKeyType, c.CacheDuration, exp)
	}
	for _, p := range ans.Problems {
		fmt.Fprintf(stdout, "problem:        %s\n", oneLine(p))
	}
	fmt.Fprintf(stdout, "cacheKeyType:   %s\n", ans.CacheKeyType)
	fmt.Fprintf(stdout, "cacheDuration:  %s", ans.CacheDuration)
	if len(ans.Problems) > 0 {
		fmt.Fprint(stdout, "  (problems: the kubelet keeps nothing and asks again on the next pull)")
	}
	fmt.Fprintln(stdout)
	// Which keys the kubelet would try for this image, in its order (reverse
	// lexicographic among the keys that match, then the Docker Hub fallback).
	normalized := map[string]string{}
	var normKeys []string
	for k := range ans.Auth {
		if n, err := match.NormalizeKey(k); err == nil {
			normalized[k] = n
			normKeys = append(normKeys, n)
		}
	}
	order := map[string]int{}
	for i, n := range match.Lookup(normKeys, img.Repository()) {
		order[n] = i + 1
	}
	sources := describeSources(ans)
	keys := make([]string, 0, len(ans.Auth))
	for k := range ans.Auth {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, oj := order[normalized[keys[i]]], order[normalized[keys[j]]]
		if (oi == 0) != (oj == 0) {
			return oi != 0
		}
		if oi != oj {
			return oi < oj
		}
		return keys[i] > keys[j]
	})
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTRY\tKEY\tUSERNAME\tPASSWORD\tFROM")
	for _, k := range keys {
		a := ans.Auth[k]
		pw := a.Password
		if !opts.showSecrets {
			pw = mask(pw)
		}
		try := "-"
		if o := order[normalized[k]]; o > 0 {
			try = fmt.Sprint(o)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", try, k, a.Username, pw, sources[k])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nTRY: the order in which the kubelet tries the credentials for this image (- = its path does not match).")
	return nil
}

// describeSources says which backend each key of the answer came from: the
// first backend to give it (the one whose credentials are kept).
func describeSources(ans *providers.Answer) map[string]string {
	src := map[string]string{}
	for _, c := range ans.Contributions {
		if c.Result == nil {
			continue
		}
		for k := range c.Result.Auth {
			if _, ok := src[k]; !ok {
				src[k] = c.Backend
			}
		}
	}
	return src
}

// mask hides a password but shows its length class, so people can tell an empty one.
func mask(pw string) string {
	if pw == "" {
		return "(empty)"
	}
	return fmt.Sprintf("****** (%d chars; --show-secrets to print)", len(pw))
}
