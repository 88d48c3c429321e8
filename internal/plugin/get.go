package plugin

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imagecred/image-credential-provider/internal/imageref"
	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/internal/protocol"
	"github.com/imagecred/image-credential-provider/providers"
)

// addServiceAccountFlags binds get's flags that make it ask as the kubelet does for a
// pod's service account.
func (o *options) addServiceAccountFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.saTokenFile, "sa-token-file", "", "get: ask as for a pod: a `FILE` holding the service account token the kubelet would send (e.g. from kubectl create token SA --audience AUD)")
	fs.Func("sa-annotation", "get: with -sa-token-file, a service account annotation `KEY=VALUE` the kubelet would pass on; repeat for more", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		if o.saAnnotations == nil {
			o.saAnnotations = map[string]string{}
		}
		o.saAnnotations[k] = v
		return nil
	})
}

// getCmd shows people what the kubelet would receive for image.
func (b Binary) getCmd(opts *options, image string, stdout io.Writer) (err error) {
	sum := newSummary(b, opts.prog)
	defer func() { sum.done(err) }()
	kreq := &protocol.Request{APIVersion: protocol.V1, Image: image, ServiceAccountAnnotations: opts.saAnnotations}
	switch {
	case opts.saTokenFile != "":
		tok, err := os.ReadFile(opts.saTokenFile)
		if err != nil {
			return fmt.Errorf("-sa-token-file: %w", err)
		}
		if kreq.ServiceAccountToken = strings.TrimSpace(string(tok)); kreq.ServiceAccountToken == "" {
			return fmt.Errorf("-sa-token-file: %s is empty", opts.saTokenFile)
		}
	case len(opts.saAnnotations) > 0:
		return errors.New("-sa-annotation needs -sa-token-file: the kubelet passes annotations on with a service account token only")
	}
	sum.image = image
	r, err := b.prepare(opts, kreq)
	if err != nil {
		return err
	}
	sum.plan = r.plan
	ans, err := r.resolve()
	if err != nil {
		return err
	}
	sum.ans = ans
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
	for _, c := range ans.Contributions {
		if c.Identity.Who != "" {
			fmt.Fprintf(stdout, "identity:       %s  %s\n", c.Backend, oneLine(c.Identity.Who))
		}
		if c.Identity.NodeFallback != "" {
			fmt.Fprintf(stdout, "note:           %s  the node's identity answers this service-account request: %s\n", c.Backend, oneLine(c.Identity.NodeFallback))
		}
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
