package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	kjson "sigs.k8s.io/json"

	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/internal/backends"
	"github.com/imagecred/image-credential-provider/internal/imageref"
	"github.com/imagecred/image-credential-provider/internal/match"
	"github.com/imagecred/image-credential-provider/providers"
)

// ImageRun is what the kubelet does for one image.
type ImageRun struct {
	// Image is the image as given; Request the repository the kubelet asks for.
	Image   string `json:"image"`
	Request string `json:"request"`
	// Representative is set for an image check chose itself.
	Representative bool `json:"representative,omitempty"`
	// Providers are the providers the kubelet runs for it, in its order.
	Providers []string `json:"providers"`
	// Runs are this plugin's runs, one per provider of it that the image matches.
	Runs []PluginRun `json:"runs,omitempty"`
}

// PluginRun is one run of the plugin as the kubelet runs it.
type PluginRun struct {
	Provider string `json:"provider"`
	// Backends are the enabled backends that serve the image, with the identity each
	// uses.
	Backends []BackendUse `json:"backends"`
	ExitCode int          `json:"exitCode"`
	Seconds  float64      `json:"seconds"`
	// Error is why the kubelet would take nothing from the run.
	Error string `json:"error,omitempty"`
	// Stderr is what the plugin wrote to standard error (the kubelet logs it on failure).
	Stderr        string `json:"stderr,omitempty"`
	CacheKeyType  string `json:"cacheKeyType,omitempty"`
	CacheDuration string `json:"cacheDuration,omitempty"`
	Keys          []Key  `json:"keys,omitempty"`
}

// BackendUse is a backend that serves an image.
type BackendUse struct {
	Name     string `json:"name"`
	Identity string `json:"identity,omitempty"`
}

// Key is one credential of an answer; the password is never shown.
type Key struct {
	Key      string `json:"key"`
	Username string `json:"username"`
	Password string `json:"password"` // masked
	// Try is the kubelet's order of trying it for this image (1 first); 0 when its
	// path does not match the image.
	Try int `json:"try"`
}

// checkImages is step 4.
func (c *run) checkImages() {
	if c.set == nil {
		return
	}
	images, representative := c.o.Images, false
	if len(images) == 0 {
		images, representative = c.representatives(), true
		if len(images) == 0 {
			return
		}
	}
	for _, image := range images {
		c.checkImage(image, representative)
	}
}

// representatives are one image per enabled backend of each of this plugin's
// providers: a host its patterns name, else one its patterns reach.
func (c *run) representatives() []string {
	var out []string
	for _, o := range c.ours {
		if o.patterns == nil {
			continue
		}
		for _, b := range o.patterns.Backends {
			// A host the patterns name, else one they reach.
			pick := ""
			for _, literal := range []bool{true, false} {
				for _, f := range o.patterns.Of[b] {
					if pick == "" && literal != strings.Contains(f, "*") {
						if h := backends.ExampleHost(f, o.patterns.Hosts[b]); h != "" {
							pick = h + "/app"
						}
					}
				}
			}
			if pick != "" && !slices.Contains(out, pick) {
				out = append(out, pick)
			}
		}
	}
	return out
}

func (c *run) checkImage(image string, representative bool) {
	img, err := imageref.Parse(image)
	if err != nil {
		c.add(Fail, StepImage, image, "%v", err)
		return
	}
	repo := img.Repository()
	ir := &ImageRun{Image: image, Request: repo, Representative: representative}
	for _, p := range c.set.Providers() {
		for _, m := range p.MatchImages {
			if match.Match(m, repo) {
				ir.Providers = append(ir.Providers, p.Name)
				break
			}
		}
	}
	subject := image
	if representative {
		subject += " (an example; give images to check yours)"
	}
	if len(ir.Providers) == 0 {
		v := Warn
		if representative {
			v = OK
		}
		f := c.add(v, StepImage, subject, "no provider's matchImages matches %s: the kubelet pulls it with pull secrets and its node credentials only", repo)
		f.Image = ir
		return
	}
	verdict := OK
	var lines []string
	for _, p := range c.set.Providers() {
		if !slices.Contains(ir.Providers, p.Name) {
			continue
		}
		o := c.isOurs(p.Provider)
		if o == nil || o.cfg == nil {
			continue
		}
		r, v, detail := c.runPlugin(o, img)
		ir.Runs = append(ir.Runs, r)
		if v == Fail && representative {
			v = Warn
		}
		verdict = worse(verdict, v)
		lines = append(lines, detail...)
	}
	f := c.add(verdict, StepImage, subject, "the kubelet runs %s for %s", strings.Join(ir.Providers, ", "), repo)
	f.Details, f.Image = lines, ir
}

func worse(a, b Verdict) Verdict {
	rank := map[Verdict]int{OK: 0, Warn: 1, Fail: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// runPlugin runs provider o for img exactly as the kubelet does: argv its args, the
// kubelet's environment then its env, the kubelet's working directory, the request in
// its apiVersion on stdin, the kubelet's one-minute limit; and reads the answer as the
// kubelet does.
func (c *run) runPlugin(o *ours, img providers.Image) (PluginRun, Verdict, []string) {
	r := PluginRun{Provider: o.p.Name}
	for _, b := range o.patterns.Backends {
		if o.patterns.Hosts[b].Serves(img) {
			r.Backends = append(r.Backends, BackendUse{Name: b, Identity: c.identityOf(o, b, img)})
		}
	}
	req, _ := json.Marshal(map[string]string{"kind": "CredentialProviderRequest", "apiVersion": o.p.APIVersion, "image": img.Repository()})
	ctx, cancel := context.WithTimeout(context.Background(), c.o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, o.p.Args...)
	cmd.Env, cmd.Dir = o.env, c.workDir()
	cmd.Stdin = bytes.NewReader(append(req, '\n'))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r.Seconds = time.Since(start).Seconds()
	r.Stderr = strings.TrimSpace(stderr.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Error = fmt.Sprintf("no answer within %s: the kubelet kills the plugin then", c.o.Timeout)
		r.ExitCode = -1
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
		r.Error = fmt.Sprintf("exit status %d", r.ExitCode)
	case err != nil:
		r.Error = err.Error()
		r.ExitCode = -1
	}
	head := fmt.Sprintf("%s: ", o.p.Name)
	backendsLine := head + "backends "
	if len(r.Backends) == 0 {
		backendsLine += "none (no enabled backend serves " + img.Host + ")"
	}
	for i, b := range r.Backends {
		if i > 0 {
			backendsLine += ", "
		}
		backendsLine += b.Name
		if b.Identity != "" {
			backendsLine += " (" + b.Identity + ")"
		}
	}
	lines := []string{backendsLine}
	if r.Error != "" {
		lines = append(lines, fmt.Sprintf("%sFAILED after %.2fs: %s", head, r.Seconds, r.Error))
		if r.Stderr != "" {
			lines = append(lines, head+"stderr: "+oneLine(r.Stderr))
		}
		return r, Fail, lines
	}
	resp, err := decodeResponse(stdout.Bytes(), o.p.APIVersion)
	if err != nil {
		r.Error = "the kubelet refuses the answer: " + err.Error()
		lines = append(lines, head+"FAILED: "+r.Error)
		return r, Fail, lines
	}
	r.CacheKeyType, r.CacheDuration = resp.CacheKeyType, resp.CacheDuration
	var normalized []string
	norm := map[string]string{}
	for k := range resp.Auth {
		if n, err := match.NormalizeKey(k); err == nil {
			normalized = append(normalized, n)
			norm[k] = n
		}
	}
	order := map[string]int{}
	for i, n := range match.Lookup(normalized, img.Repository()) {
		order[n] = i + 1
	}
	for k, a := range resp.Auth {
		r.Keys = append(r.Keys, Key{Key: k, Username: a.Username, Password: mask(a.Password), Try: order[norm[k]]})
	}
	sort.Slice(r.Keys, func(i, j int) bool {
		a, b := r.Keys[i], r.Keys[j]
		if (a.Try == 0) != (b.Try == 0) {
			return a.Try != 0
		}
		if a.Try != b.Try {
			return a.Try < b.Try
		}
		return a.Key > b.Key
	})
	lines = append(lines, fmt.Sprintf("%sanswered in %.2fs: %s, cacheKeyType %s, cacheDuration %s", head, r.Seconds, plural(len(r.Keys), "key"), r.CacheKeyType, r.CacheDuration))
	for _, k := range r.Keys {
		try := "not tried for this image (its path differs)"
		if k.Try > 0 {
			try = fmt.Sprintf("tried %s", ordinal(k.Try))
		}
		lines = append(lines, fmt.Sprintf("%skey %s: username %s, password %s; %s", head, k.Key, q(k.Username), k.Password, try))
	}
	if r.Stderr != "" {
		lines = append(lines, head+"stderr (the kubelet ignores it on success): "+oneLine(r.Stderr))
	}
	v := OK
	if len(r.Backends) > 0 && len(r.Keys) == 0 {
		v = Warn
		lines = append(lines, head+"no credentials: the image is pulled anonymously unless other credentials apply")
	}
	return r, v, lines
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", n)
}

// mask hides a password but shows its length, so that an empty one can be told apart.
func mask(pw string) string {
	if pw == "" {
		return "(empty)"
	}
	return fmt.Sprintf("****** (%d chars)", len(pw))
}

// identityOf says which identity backend b uses for img under o's configuration:
// the docker config files for the static backend, the token backend's cache identity
// (credential source, role, client id, ...; nothing secret) for the others.
func (c *run) identityOf(o *ours, b string, img providers.Image) string {
	if b == dockercfg.Name {
		if p, ok := o.patterns.Hosts[b].(*dockercfg.Provider); ok {
			files, _ := p.Files()
			var names []string
			for _, f := range files {
				names = append(names, f.Path)
			}
			if len(names) == 0 {
				return "no docker config file found"
			}
			return "docker config " + strings.Join(names, ", ")
		}
		return ""
	}
	ctor := c.o.Backends[b]
	if ctor == nil {
		return ""
	}
	prov, err := ctor(o.cfg)
	if err != nil {
		return "cannot be built: " + oneLine(err.Error())
	}
	cb, ok := prov.(providers.Cacheable)
	if !ok {
		return ""
	}
	id, _ := cb.CacheIdentity(providers.Request{Image: img})
	var parts []string
	for _, part := range strings.Split(id, "|") {
		if k, v, ok := strings.Cut(part, "="); ok && v == "" || (!ok && strings.Contains(k, "/")) {
			continue // unset settings, and the format's version
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " ")
}

// response is a CredentialProviderResponse as the kubelet decodes it.
type response struct {
	Kind          string                  `json:"kind"`
	APIVersion    string                  `json:"apiVersion"`
	CacheKeyType  string                  `json:"cacheKeyType"`
	CacheDuration *string                 `json:"cacheDuration,omitempty"`
	Auth          map[string]authResponse `json:"auth,omitempty"`
}

type authResponse struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// answer is a decoded response.
type answer struct {
	CacheKeyType, CacheDuration string
	Auth                        map[string]authResponse
}

// decodeResponse reads the plugin's stdout as the kubelet does: one JSON object,
// strictly (case-sensitive fields, no unknown or repeated ones), of kind
// CredentialProviderResponse in the provider's apiVersion, with a cacheKeyType the
// kubelet knows and a duration string.
func decodeResponse(data []byte, apiVersion string) (*answer, error) {
	var r response
	strict, err := kjson.UnmarshalStrict(data, &r, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		return nil, fmt.Errorf("field %s holds a JSON %s, which the kubelet does not decode there", typ.Field, typ.Value)
	case err != nil:
		return nil, fmt.Errorf("not one JSON CredentialProviderResponse: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("not decoded strictly: %v", strict[0])
	}
	if r.Kind != "CredentialProviderResponse" {
		return nil, fmt.Errorf("kind %s, want CredentialProviderResponse", q(r.Kind))
	}
	if r.APIVersion != apiVersion {
		return nil, fmt.Errorf("apiVersion %s, but the provider is configured with %s", q(r.APIVersion), apiVersion)
	}
	switch r.CacheKeyType {
	case "Image", "Registry", "Global":
	default:
		return nil, fmt.Errorf("cacheKeyType %s, want Image, Registry or Global", q(r.CacheKeyType))
	}
	a := &answer{CacheKeyType: r.CacheKeyType, Auth: r.Auth, CacheDuration: "(absent: the provider's defaultCacheDuration)"}
	if r.CacheDuration != nil {
		d, err := time.ParseDuration(*r.CacheDuration)
		if err != nil {
			return nil, fmt.Errorf("cacheDuration %s is not a duration", q(*r.CacheDuration))
		}
		a.CacheDuration = d.String()
	}
	return a, nil
}

// plural is "1 key", "2 keys".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
