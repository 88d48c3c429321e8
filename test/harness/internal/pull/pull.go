// Package pull plays the container runtime: it pulls an image (manifest, config and
// every layer, each checked against its digest) trying the credentials in the order the
// kubelet hands them over, the first success winning, with no anonymous fallback once
// credentials exist (k8s.io/kubernetes pkg/kubelet/kuberuntime/kuberuntime_image.go).
package pull

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Credential is one username/password pair from the kubelet's keyring lookup.
type Credential struct {
	Username string
	Password string
}

// Options configure a Puller.
type Options struct {
	// Resolve maps "host:port" (port 443 when the image names none) to a loopback
	// "ip:port" to dial instead: it points real registry names at the fakes.
	Resolve map[string]string
	// CAFiles are PEM files of CAs to trust; none means the system roots.
	CAFiles []string
	// Timeout bounds each attempt. Default 30s.
	Timeout time.Duration
	// AllowNonLoopback lets the puller dial non-loopback addresses (off: tests never
	// reach the network).
	AllowNonLoopback bool
}

// Puller pulls images over a transport that only reaches loopback.
type Puller struct {
	tr      *http.Transport
	timeout time.Duration
}

// New builds a Puller.
func New(o Options) (*Puller, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	resolve := map[string]string{}
	for k, v := range o.Resolve {
		resolve[strings.ToLower(k)] = v
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := resolve[strings.ToLower(addr)]; ok {
			addr = to
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if !o.AllowNonLoopback {
			ip := net.ParseIP(host)
			if host == "localhost" {
				ip = net.IPv4(127, 0, 0, 1)
			}
			if ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("puller: refusing to dial %s: not loopback (map it with a resolve entry)", addr)
			}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	if len(o.CAFiles) > 0 {
		pool := x509.NewCertPool()
		for _, f := range o.CAFiles {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("puller: CA file: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("puller: CA file %s holds no PEM certificate", f)
			}
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &Puller{tr: tr, timeout: o.Timeout}, nil
}

// Blob is one fetched object and whether its content hashed to its digest.
type Blob struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType,omitempty"`
	Size      int64  `json:"size"`
	Verified  bool   `json:"verified"`
}

// Attempt is one try with one credential (Credential -1: anonymous).
type Attempt struct {
	Credential int    `json:"credential"`
	Username   string `json:"username"`
	OK         bool   `json:"ok"`
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Result is the outcome of a pull.
type Result struct {
	Ref      string    `json:"ref"`
	OK       bool      `json:"ok"`
	Attempts []Attempt `json:"attempts"`
	// Used is the index of the credential that worked, -1 for an anonymous pull.
	Used     int    `json:"used"`
	Manifest *Blob  `json:"manifest,omitempty"`
	Config   *Blob  `json:"config,omitempty"`
	Layers   []Blob `json:"layers,omitempty"`
	Bytes    int64  `json:"bytes"`
	Millis   int64  `json:"millis"`
	Error    string `json:"error,omitempty"`
}

// Pull pulls ref like the kubelet's runtime manager: anonymously when creds is empty,
// otherwise with each credential in order until one succeeds.
func (p *Puller) Pull(ctx context.Context, ref string, creds []Credential) Result {
	start := time.Now()
	res := Result{Ref: ref, Used: -1}
	defer func() { res.Millis = time.Since(start).Milliseconds() }()
	r, err := name.ParseReference(ref)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	try := func(i int, a authn.Authenticator, user string) bool {
		out, err := p.pullOnce(ctx, r, a)
		at := Attempt{Credential: i, Username: user, OK: err == nil}
		if err != nil {
			at.Error = oneLine(err.Error())
			var terr *transport.Error
			if errors.As(err, &terr) {
				at.Status = terr.StatusCode
			}
		}
		res.Attempts = append(res.Attempts, at)
		if err == nil {
			out.Attempts, out.Ref, out.OK, out.Used = res.Attempts, ref, true, i
			res = out
		}
		return err == nil
	}
	if len(creds) == 0 {
		if !try(-1, authn.Anonymous, "") {
			res.Error = res.Attempts[0].Error
		}
		return res
	}
	for i, c := range creds {
		if try(i, &authn.Basic{Username: c.Username, Password: c.Password}, c.Username) {
			return res
		}
	}
	msgs := make([]string, len(res.Attempts))
	for i, a := range res.Attempts {
		msgs[i] = a.Error
	}
	res.Error = "every credential failed: " + strings.Join(msgs, "; ")
	return res
}

func (p *Puller) pullOnce(ctx context.Context, ref name.Reference, auth authn.Authenticator) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(p.tr), remote.WithAuth(auth),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})}
	var res Result
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return res, err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return res, fmt.Errorf("registry returned manifest %s for %s", desc.Digest, d.DigestStr())
	}
	if desc.MediaType.IsIndex() {
		// The runtime resolves the platform's manifest from the index.
		img, err := desc.Image()
		if err != nil {
			return res, err
		}
		d, err := img.Digest()
		if err != nil {
			return res, err
		}
		desc, err = remote.Get(ref.Context().Digest(d.String()), opts...)
		if err != nil {
			return res, err
		}
	}
	if sum := sha256Hex(desc.Manifest); "sha256:"+sum != desc.Digest.String() {
		return res, fmt.Errorf("manifest content hashes to sha256:%s, not %s", sum, desc.Digest)
	}
	res.Manifest = &Blob{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: int64(len(desc.Manifest)), Verified: true}
	res.Bytes += int64(len(desc.Manifest))
	img, err := desc.Image()
	if err != nil {
		return res, err
	}
	m, err := img.Manifest()
	if err != nil {
		return res, err
	}
	blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
	for i, bd := range blobs {
		b, err := p.fetchBlob(ctx, ref.Context(), bd, opts)
		if err != nil {
			return res, err
		}
		res.Bytes += b.Size
		if i == 0 {
			res.Config = &b
		} else {
			res.Layers = append(res.Layers, b)
		}
	}
	return res, nil
}

// fetchBlob downloads one blob and checks its size and sha256 digest.
func (p *Puller) fetchBlob(ctx context.Context, repo name.Repository, d v1.Descriptor, opts []remote.Option) (Blob, error) {
	b := Blob{Digest: d.Digest.String(), MediaType: string(d.MediaType)}
	if d.Digest.Algorithm != "sha256" {
		return b, fmt.Errorf("blob %s: unsupported digest algorithm", d.Digest)
	}
	l, err := remote.Layer(repo.Digest(d.Digest.String()), opts...)
	if err != nil {
		return b, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return b, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	b.Size = n
	if err != nil {
		return b, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if got := "sha256:" + hexSum(h); got != d.Digest.String() {
		return b, fmt.Errorf("blob %s: content hashes to %s", d.Digest, got)
	}
	if d.Size != 0 && n != d.Size {
		return b, fmt.Errorf("blob %s: %d bytes, manifest says %d", d.Digest, n, d.Size)
	}
	b.Verified = true
	return b, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// PullRef is the reference the kubelet hands the runtime for image, given the parts
// parsers.ParseImageName returned: the image with the default tag added when it has
// neither tag nor digest (pkg/kubelet/images applyDefaultImageTag), reduced to the
// digest when it has both (the runtime pulls by digest then).
func PullRef(image, tag, digest string) string {
	if digest != "" {
		base := image
		if i := strings.LastIndex(base, "@"); i >= 0 {
			base = base[:i]
		}
		if tag != "" {
			base = strings.TrimSuffix(base, ":"+tag)
		}
		return base + "@" + digest
	}
	if tag != "" && !strings.HasSuffix(image, ":"+tag) {
		return image + ":" + tag
	}
	return image
}
