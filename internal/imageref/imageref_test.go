package imageref

import (
	// The reference library accepts a digest only when its hash is linked, as the
	// kubelet's image name parser makes sure of.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"strings"
	"testing"

	"github.com/distribution/reference"

	"github.com/imagecred/image-credential-provider/internal/quote"
)

const (
	sha    = "0123456789012345678901234567890123456789012345678901234567890123"
	sha384 = sha + "abcdefabcdefabcdefabcdefabcdefab"
	sha512 = sha + sha
)

// TestParseAsTheKubelet has the cases the kubelet's own image name parser is tested with
// (k8s.io/kubernetes pkg/util/parsers), in our words: short names, user repositories and
// registries with a port, each bare, tagged, pinned by digest or both; upper case, a URL
// and an image ID refused.
func TestParseAsTheKubelet(t *testing.T) {
	const digest = "@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tests := []struct {
		in, repository, wantErr string
	}{
		{in: "app", repository: "docker.io/library/app"},
		{in: "app:v2", repository: "docker.io/library/app"},
		{in: "app" + digest, repository: "docker.io/library/app"},
		{in: "team/app", repository: "docker.io/team/app"},
		{in: "team/app:v2", repository: "docker.io/team/app"},
		{in: "team/app" + digest, repository: "docker.io/team/app"},
		{in: "registry:5000/app", repository: "registry:5000/app"},
		{in: "registry:5000/app:v2", repository: "registry:5000/app"},
		{in: "registry:5000/app" + digest, repository: "registry:5000/app"},
		{in: "registry:5000/app:latest" + digest, repository: "registry:5000/app"},
		{in: "APP", wantErr: "must be lower case"},
		{in: "https://app", wantErr: `registry host "https:"`},
		{in: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", wantErr: "image ID"},
	}
	for _, tt := range tests {
		img, err := Parse(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) = %+v, %v; want an error containing %q", tt.in, img, err, tt.wantErr)
			}
			continue
		}
		if err != nil || img.Repository() != tt.repository {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, img.Repository(), err, tt.repository)
		}
	}
}

// parsed are references Parse accepts (seeds of FuzzParse too).
var parsed = []struct {
	in         string
	host, path string
	hostName   string
}{
	{in: "docker.io/library/nginx", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
	{in: "nginx", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
	{in: "nginx:1.27", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
	{in: "docker.io/nginx", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
	{in: "index.docker.io/nginx", host: "docker.io", path: "library/nginx", hostName: "docker.io"},
	{in: "index.docker.io/user/app", host: "docker.io", path: "user/app", hostName: "docker.io"},
	{in: "user/app", host: "docker.io", path: "user/app", hostName: "docker.io"},
	{in: "localhost", host: "docker.io", path: "library/localhost", hostName: "docker.io"},
	{in: "localhost:5000", host: "docker.io", path: "library/localhost", hostName: "docker.io"}, // a tag, not a port
	{in: "localhost/app", host: "localhost", path: "app", hostName: "localhost"},
	{in: "localhost:5000/team/app:v1", host: "localhost:5000", path: "team/app", hostName: "localhost"},
	{in: "127.0.0.1:15000/e2e/busybox", host: "127.0.0.1:15000", path: "e2e/busybox", hostName: "127.0.0.1"},
	{in: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + sha, host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", path: "app", hostName: "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
	{in: "my-registry.example/images/sub/my-image:tag@sha256:" + sha, host: "my-registry.example", path: "images/sub/my-image", hostName: "my-registry.example"},
	{in: "h.example/a@sha384:" + sha384, host: "h.example", path: "a", hostName: "h.example"},
	{in: "h.example/a:t@sha512:" + sha512, host: "h.example", path: "a", hostName: "h.example"},
	{in: "[::1]:5000/app", host: "[::1]:5000", path: "app", hostName: "[::1]"},
	{in: "[fd00:AB::1]/app", host: "[fd00:AB::1]", path: "app", hostName: "[fd00:AB::1]"},
	{in: "Registry.Example/app", host: "Registry.Example", path: "app", hostName: "Registry.Example"},
	{in: "REGISTRY/app", host: "REGISTRY", path: "app", hostName: "REGISTRY"}, // upper case makes it a host
	{in: "a-b.c-d/x", host: "a-b.c-d", path: "x", hostName: "a-b.c-d"},
	{in: "h.example:0/x", host: "h.example:0", path: "x", hostName: "h.example"},
	{in: "h.example/a.b/c_d/e__f/g---h/0", host: "h.example", path: "a.b/c_d/e__f/g---h/0", hostName: "h.example"},
	{in: "h.example/a:" + strings.Repeat("T", 128), host: "h.example", path: "a", hostName: "h.example"},
	{in: "h.example/a:_x.Y-", host: "h.example", path: "a", hostName: "h.example"},
	{in: "  gcr.io/p/i  ", host: "gcr.io", path: "p/i", hostName: "gcr.io"},
	{in: "h.example/" + strings.Repeat("a", 255), host: "h.example", path: strings.Repeat("a", 255), hostName: "h.example"},
	{in: strings.Repeat("a", 247), host: "docker.io", path: "library/" + strings.Repeat("a", 247), hostName: "docker.io"},
	{in: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", host: "docker.io", path: "library/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", hostName: "docker.io"},
}

func TestParse(t *testing.T) {
	for _, tt := range parsed {
		img, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if img.Host != tt.host || img.Path != tt.path || img.HostName() != tt.hostName {
			t.Errorf("Parse(%q) = host %q path %q hostname %q, want %q %q %q", tt.in, img.Host, img.Path, img.HostName(), tt.host, tt.path, tt.hostName)
		}
		if img.Repository() != tt.host+"/"+tt.path {
			t.Errorf("Repository() = %q", img.Repository())
		}
	}
}

// refused are references Parse refuses, and why (seeds of FuzzParse too).
var refused = []struct{ in, wantErr string }{
	{in: "", wantErr: "empty image reference"},
	{in: " \t", wantErr: "empty image reference"},
	{in: "Upper/Case", wantErr: `repository path "Case" must be lower case`},
	{in: "bad image", wantErr: `component "bad image"`},
	{in: "host:port:5/x", wantErr: `registry host "host:port:5": the port must be a number`},
	{in: "h.example:/x", wantErr: "the port must be a number"},
	{in: "-h.example/x", wantErr: `registry host "-h.example" is not a valid host name`},
	{in: "h-.example/x", wantErr: "is not a valid host name"},
	{in: "h..example/x", wantErr: "is not a valid host name"},
	{in: "my_registry.example/app", wantErr: `registry host "my_registry.example" is not a valid host name`},
	{in: "[::1/x", wantErr: "no closing bracket"},
	{in: "[]:5/x", wantErr: "only hexadecimal digits and colons"},
	{in: "[::g]/x", wantErr: "only hexadecimal digits and colons"},
	{in: "[::1]x/y", wantErr: "only a port may follow"},
	{in: "fe80::1%eth0/x", wantErr: `registry host "fe80::1%eth0": the port must be a number`},
	{in: "h.example/", wantErr: "empty component"},
	{in: "h.example//x", wantErr: "empty component"},
	{in: "h.example/a/", wantErr: "empty component"},
	{in: "h.example/-a", wantErr: `component "-a"`},
	{in: "h.example/a-", wantErr: `component "a-"`},
	{in: "h.example/a___b", wantErr: `component "a___b"`},
	{in: "h.example/a..b", wantErr: `component "a..b"`},
	{in: "h.example/a._b", wantErr: `component "a._b"`},
	{in: "h.example/é", wantErr: `component "é"`},
	{in: "h.example/" + strings.Repeat("a", 256), wantErr: "repository path is 256 bytes long, more than 255"},
	{in: strings.Repeat("a", 248), wantErr: "repository path is 256 bytes long, more than 255"},
	{in: "h.example/a:", wantErr: "empty tag"},
	{in: "h.example/a:.x", wantErr: `tag ".x" must not begin`},
	{in: "h.example/a:-x", wantErr: `tag "-x" must not begin`},
	{in: "h.example/a:x/y", wantErr: `tag "x/y": only letters`},
	{in: "h.example/a:x:y", wantErr: `tag "x:y": only letters`},
	{in: "h.example/a:" + strings.Repeat("t", 129), wantErr: "tag is 129 bytes long, more than 128"},
	{in: "h.example/a@", wantErr: `digest "" has no ':'`},
	{in: "h.example/a:@sha256:" + sha, wantErr: "empty tag"},
	{in: "h.example/a@sha256", wantErr: "no ':'"},
	{in: "h.example/a@md5:" + sha[:32], wantErr: `digest algorithm "md5" is not supported`},
	{in: "h.example/a@SHA256:" + sha, wantErr: `digest algorithm "SHA256" is not supported`},
	{in: "h.example/a@sha256:" + sha[:63], wantErr: "a sha256 digest has 64 hexadecimal digits, not 63"},
	{in: "h.example/a@sha384:" + sha, wantErr: "a sha384 digest has 96 hexadecimal digits, not 64"},
	{in: "h.example/a@sha256:" + strings.ToUpper(sha[:60]) + "ABCD", wantErr: "lower-case hexadecimal"},
	{in: "h.example/a@sha256:" + sha + "@sha256:" + sha, wantErr: "a sha256 digest has 64"},
	{in: sha, wantErr: "image ID"},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range refused {
		img, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Parse(%q) = %+v, %v; want an error containing %q", tt.in, img, err, tt.wantErr)
		}
	}
}

func TestParseErrorQuotesInputSafely(t *testing.T) {
	long := "h.example/" + strings.Repeat("A", 1000)
	for _, in := range []string{"h.example/a\x1b[31m\nnext line", long} {
		_, err := Parse(in)
		if err == nil {
			t.Fatalf("Parse(%q) accepted", in)
		}
		if !strings.HasPrefix(err.Error(), "invalid image reference "+quote.String(in)+": ") {
			t.Errorf("error does not begin with the quoted input: %v", err)
		}
		if strings.ContainsAny(err.Error(), "\x1b\n") || len(err.Error()) > 3*quote.MaxBytes {
			t.Errorf("error carries raw or unbounded input: %q", err)
		}
	}
}

// libraryParse is what this package did before it stopped linking the reference library.
func libraryParse(s string) (host, path string, err error) {
	named, err := reference.ParseNormalizedNamed(strings.TrimSpace(s))
	if err != nil {
		return "", "", err
	}
	return reference.Domain(named), reference.Path(named), nil
}

// FuzzParse: Parse accepts what distribution/reference's ParseNormalizedNamed accepts,
// with the same host and path, except where Parse's doc says it refuses: a first
// component that the library reads as no host at all. An error quotes the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"nginx", "localhost:5000/a/b:c", "gcr.io/x@sha256:" + sha, "[::1]:5/x", "a..b/c", "my_reg.example/x",
		"h.example/a:t@sha384:" + sha384, "h.example/a@sha512:" + sha512, "A/b", "index.docker.io/x", sha,
		"h/a__b/c---d/e.f:T_1.x-", "[AB:cd]:1/x@sha256:" + sha,
	} {
		f.Add(s)
	}
	for _, c := range parsed {
		f.Add(c.in)
	}
	for _, c := range refused {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := Parse(s)
		host, path, refErr := libraryParse(s)
		switch {
		case err != nil && refErr == nil && host == "":
			// The one deliberate difference: no host. Check it is the case documented.
			if first, _, _ := strings.Cut(strings.TrimSpace(s), "/"); !strings.Contains(first, ".") || !strings.Contains(err.Error(), "is not a valid host name") {
				t.Fatalf("Parse(%q): %v; the library reads path %q and no host, but not for the documented reason", s, err, path)
			}
		case err != nil && refErr == nil:
			t.Fatalf("Parse(%q): %v; the library accepts it as host %q path %q", s, err, host, path)
		case err == nil && refErr != nil:
			t.Fatalf("Parse(%q) = %+v; the library refuses it: %v", s, img, refErr)
		case err == nil && (img.Host != host || img.Path != path):
			t.Fatalf("Parse(%q) = host %q path %q; the library reads host %q path %q", s, img.Host, img.Path, host, path)
		}
		if err != nil {
			if trimmed := strings.TrimSpace(s); trimmed != "" && !strings.HasPrefix(err.Error(), "invalid image reference "+quote.String(trimmed)+": ") {
				t.Fatalf("Parse(%q): error does not quote the input: %v", s, err)
			}
			return
		}
		// The kubelet sends the repository back to us: it must parse to the same image.
		again, err := Parse(img.Repository())
		if err != nil || again != img {
			t.Fatalf("Parse(%q) = %+v, but its repository %q parses to %+v, %v", s, img, img.Repository(), again, err)
		}
	})
}
