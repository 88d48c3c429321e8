package main

// Binary-level tests of the ECR backend: the built plugin, the kubelet's protocol on
// stdin/stdout, and the loopback AWS fake reached through the SDK's own endpoint
// settings (AWS_ENDPOINT_URL_ECR / _ECR_PUBLIC / _STS) with static test credentials.
// HOME is a temp dir (no ~/.aws) and instance metadata is disabled or a closed loopback
// port, so nothing reaches a real AWS endpoint.

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
)

const ecrV1 = "credentialprovider.kubelet.k8s.io/v1"

// startAWS starts the fake and returns the environment of a node with static
// credentials and no instance metadata.
func startAWS(t *testing.T) (*awsfake.Server, []string) {
	t.Helper()
	f := awsfake.New()
	t.Cleanup(f.Close)
	return f, append(f.Env(), "AWS_EC2_METADATA_DISABLED=true")
}

// ecrToken checks the response carries exactly one live ECR token keyed to host and
// returns it with the cacheDuration.
func ecrToken(t *testing.T, f *awsfake.Server, r result, host string) (awsfake.Token, time.Duration) {
	t.Helper()
	resp := decodeResponse(t, r)
	if len(resp.Auth) != 1 {
		t.Fatalf("auth keys %v, want only %q", resp.Auth, host)
	}
	a, ok := resp.Auth[host]
	if !ok {
		t.Fatalf("auth %v has no key %q", resp.Auth, host)
	}
	if a.Username != "AWS" {
		t.Errorf("username %q, want AWS", a.Username)
	}
	if resp.CacheKeyType != "Registry" {
		t.Errorf("cacheKeyType %q, want Registry", resp.CacheKeyType)
	}
	tok, ok := f.Lookup(a.Password)
	if !ok || !f.Valid(a.Password) {
		t.Fatalf("password is not a live token of the fake")
	}
	d, err := time.ParseDuration(resp.CacheDuration)
	if err != nil {
		t.Fatalf("cacheDuration %q: %v", resp.CacheDuration, err)
	}
	return tok, d
}

// ecrFails checks the run failed with one stderr line naming the registry and region,
// mentioning want, and nothing on stdout.
func ecrFails(t *testing.T, r result, host, region string, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("exit 0, want a failure; stdout %s", r.stdout)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q on failure", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "ecr: registry "+host+" (region "+region+"): ") {
		t.Errorf("stderr %q does not name the backend, registry and region", last)
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("stderr %q does not mention %q", last, w)
		}
	}
	if strings.Contains(r.stderr, awsfake.TestSecretAccessKey) || strings.Contains(r.stderr, "fake-ecr:") {
		t.Errorf("stderr carries a secret: %q", r.stderr)
	}
}

func TestECRHostFamilies(t *testing.T) {
	f, env := startAWS(t)
	for _, tc := range []struct{ image, region, service string }{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app", "us-east-1", "ecr"},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/team/app", "us-gov-west-1", "ecr"},
		{"123456789012.dkr-ecr.eu-west-1.on.aws/app", "eu-west-1", "ecr"},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app", "cn-north-1", "ecr"},
		{"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu/app", "eusc-de-east-1", "ecr"},
		{"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/app", "us-isob-east-1", "ecr"},
		{"public.ecr.aws/nginx/nginx", "us-east-1", "ecr-public"},
		{"ecr-public.aws.com/team/app", "us-east-1", "ecr-public"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			host, _, _ := strings.Cut(tc.image, "/")
			before := len(f.CallLog())
			r := runPlugin(t, "", env, request(ecrV1, tc.image), "--no-cache", "--backends=ecr")
			tok, d := ecrToken(t, f, r, host)
			if tok.Region != tc.region || tok.Identity != awsfake.TestIdentity {
				t.Errorf("token from %s for %s", tok.Region, tok.Identity)
			}
			calls := f.CallLog()[before:]
			if len(calls) != 1 || calls[0].Service != tc.service || calls[0].Region != tc.region {
				t.Errorf("calls %+v, want one %s call signed for %s", calls, tc.service, tc.region)
			}
			// A 12 h token is fresh for 10 h 48 m (10% safety margin).
			if d < 10*time.Hour+47*time.Minute || d > 10*time.Hour+48*time.Minute {
				t.Errorf("cacheDuration %v, want about 10h48m", d)
			}
		})
	}
}

func TestECROlderAPIVersions(t *testing.T) {
	f, env := startAWS(t)
	for _, v := range []string{"credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"} {
		r := runPlugin(t, "", env, request(v, "123456789012.dkr.ecr.us-west-2.amazonaws.com/app"), "--no-cache", "--backends=ecr")
		ecrToken(t, f, r, "123456789012.dkr.ecr.us-west-2.amazonaws.com")
		if resp := decodeResponse(t, r); resp.APIVersion != v {
			t.Errorf("answered %s to %s", resp.APIVersion, v)
		}
	}
}

func TestECRServiceAccountToken(t *testing.T) {
	const (
		annotated = "arn:aws:iam::210987654321:role/annotated"
		defRole   = "arn:aws:iam::210987654321:role/default"
		image     = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app"
		host      = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
	)
	tests := []struct {
		name        string
		annotations map[string]string
		env         []string
		args        []string
		wantRole    string // "" = node credentials
	}{
		{name: "role from annotation", annotations: map[string]string{"eks.amazonaws.com/ecr-role-arn": annotated}, wantRole: annotated},
		{name: "default from AWS_ECR_ROLE_ARN", env: []string{"AWS_ECR_ROLE_ARN=" + defRole}, wantRole: defRole},
		{name: "default from flag", args: []string{"--ecr-sa-role-arn", defRole}, wantRole: defRole},
		{name: "annotation beats default", annotations: map[string]string{"eks.amazonaws.com/ecr-role-arn": annotated}, env: []string{"AWS_ECR_ROLE_ARN=" + defRole}, wantRole: annotated},
		{name: "no role: node credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, env := startAWS(t)
			tok := podToken(t)
			args := append([]string{"--no-cache", "--backends=ecr"}, tt.args...)
			r := runPlugin(t, "", append(env, tt.env...), saRequestJSON(t, image, tok, tt.annotations), args...)
			got, _ := ecrToken(t, f, r, host)
			web := f.WebIdentityRequests()
			if tt.wantRole == "" {
				if got.Identity != awsfake.TestIdentity || len(web) != 0 {
					t.Fatalf("token for %s after %d web identity calls, want the node's", got.Identity, len(web))
				}
				return
			}
			if got.Identity != tt.wantRole {
				t.Fatalf("token for %s, want %s", got.Identity, tt.wantRole)
			}
			if len(web) != 1 || web[0].RoleARN != tt.wantRole || web[0].Token != tok || web[0].RoleSessionName != "ns1.puller" {
				t.Fatalf("web identity requests %+v", web)
			}
			if strings.Contains(r.stderr, tok) {
				t.Fatal("the service account token reached stderr")
			}
		})
	}
	t.Run("role required, none given", func(t *testing.T) {
		f, env := startAWS(t)
		r := runPlugin(t, "", env, saRequestJSON(t, image, podToken(t), nil), "--no-cache", "--backends=ecr", "--ecr-require-sa-role")
		ecrFails(t, r, host, "ap-northeast-1", "no eks.amazonaws.com/ecr-role-arn annotation")
		if f.TotalCalls() != 0 {
			t.Errorf("%d AWS calls", f.TotalCalls())
		}
	})
	t.Run("ECR Public with no region and no node credentials", func(t *testing.T) {
		f := awsfake.New()
		defer f.Close()
		env := append(f.EndpointEnv(), "AWS_EC2_METADATA_DISABLED=true")
		r := runPlugin(t, "", env, saRequestJSON(t, "public.ecr.aws/x/y", podToken(t), map[string]string{"eks.amazonaws.com/ecr-role-arn": annotated}), "--no-cache", "--backends=ecr")
		if got, _ := ecrToken(t, f, r, "public.ecr.aws"); got.Identity != annotated || got.Region != "us-east-1" {
			t.Fatalf("token %+v", got)
		}
	})
}

func TestECRNonECRHostGetsNoToken(t *testing.T) {
	f, env := startAWS(t)
	for _, image := range []string{"docker.io/library/nginx", "registry.k8s.io/pause", "123456789012.dkr.ecr.us-east-1.amazonaws.com:5000/app", "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app"} {
		r := runPlugin(t, "", env, request(ecrV1, image), "--no-cache", "--backends=ecr")
		if resp := decodeResponse(t, r); len(resp.Auth) != 0 {
			t.Errorf("%s: auth %v, want none", image, resp.Auth)
		}
	}
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("%d calls reached AWS for non-ECR hosts", n)
	}
}

func TestECRCustomRegistryFromConfigFile(t *testing.T) {
	f, env := startAWS(t)
	cfg := writeFile(t, t.TempDir(), "config.yaml", `apiVersion: imagecred.dev/v1alpha1
kind: ImageCredentialProviderConfig
backends: [ecr]
cache: {disabled: true}
ecr:
  registries:
  - host: registry.example.com:8443
    account: "123456789012"
    region: eu-south-1
`)
	r := runPlugin(t, "", env, request(ecrV1, "registry.example.com:8443/team/app"), "--config", cfg)
	if tok, _ := ecrToken(t, f, r, "registry.example.com:8443"); tok.Region != "eu-south-1" {
		t.Fatalf("token from %s", tok.Region)
	}
	bad := writeFile(t, t.TempDir(), "bad.yaml", "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\necr:\n  registries: [{host: x.example, region: nowhere}]\n")
	r = runPlugin(t, "", env, request(ecrV1, "x.example/app"), "--config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "is not an AWS region") {
		t.Fatalf("bad region accepted: exit %d %s", r.code, r.stderr)
	}
}

func TestECRThrottling(t *testing.T) {
	const host = "123456789012.dkr.ecr.eu-west-2.amazonaws.com"
	f, env := startAWS(t)
	f.ThrottleNext(awsfake.ECRGetAuthorizationToken, 2)
	r := runPlugin(t, "", env, request(ecrV1, host+"/app"), "--no-cache", "--backends=ecr")
	ecrToken(t, f, r, host)
	if n := f.Calls(awsfake.ECRGetAuthorizationToken); n != 3 {
		t.Errorf("%d calls, want 3 (two throttled)", n)
	}

	f.ThrottleNext(awsfake.ECRGetAuthorizationToken, 100)
	start := time.Now()
	r = runPlugin(t, "", env, request(ecrV1, host+"/app"), "--no-cache", "--backends=ecr")
	d := time.Since(start)
	ecrFails(t, r, host, "eu-west-2", "ThrottlingException")
	if d > 20*time.Second {
		t.Errorf("throttled failure took %v", d)
	}
}

func TestECRUnreachableEndpoint(t *testing.T) {
	const host = "123456789012.dkr.ecr.eu-west-2.amazonaws.com"
	_, env := startAWS(t)
	start := time.Now()
	r := runPlugin(t, "", append(env, "AWS_ENDPOINT_URL_ECR="+closedLoopback(t)), request(ecrV1, host+"/app"), "--no-cache", "--backends=ecr")
	d := time.Since(start)
	ecrFails(t, r, host, "eu-west-2", "refused") // "connection refused" on Linux, "actively refused it" on Windows
	if d > 10*time.Second {
		t.Errorf("unreachable endpoint took %v", d)
	}
}

// A node with no credentials at all and instance metadata that refuses connections
// fails at once: instance metadata is asked once, never again after a refusal
// (ecr-credential-provider spends 12 s in IMDS retries). The -v=2 log has a line for
// every HTTP attempt, so the test counts attempts rather than timing the run, which a
// loaded machine or an emulator would slow down.
func TestECRNoCredentialsFailsFast(t *testing.T) {
	const host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	f := awsfake.New()
	defer f.Close()
	imds := closedLoopback(t)
	env := append(f.EndpointEnv(), "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds)
	r := runPlugin(t, "", env, request(ecrV1, host+"/app"), "--no-cache", "--backends=ecr", "-v=2")
	ecrFails(t, r, host, "us-east-1", "no usable AWS credentials", "EC2 instance metadata")
	attempts := map[string]int{}
	for _, line := range strings.Split(r.stderr, "\n") {
		if _, rest, ok := strings.Cut(line, `"HTTP call"`); ok {
			if _, u, ok := strings.Cut(rest, ` url="`+imds); ok {
				path, _, _ := strings.Cut(u, `"`)
				attempts[path]++
			}
		}
	}
	if len(attempts) == 0 {
		t.Errorf("no instance metadata call in the log:\n%s", r.stderr)
	}
	for path, n := range attempts {
		if n > 1 {
			t.Errorf("instance metadata %s asked %d times, want once:\n%s", path, n, r.stderr)
		}
	}
	if f.TotalCalls() != 0 {
		t.Errorf("%d calls reached AWS", f.TotalCalls())
	}
}

func TestECRDropIn(t *testing.T) {
	f, env := startAWS(t)
	const host = "123456789012.dkr.ecr.ca-central-1.amazonaws.com"
	// A kubelet config written for ecr-credential-provider passes no arguments.
	r := runPlugin(t, "ecr-credential-provider", env, request(ecrV1, host+"/app"))
	ecrToken(t, f, r, host)
	// Positional arguments are ignored, as ecr-credential-provider ignores them.
	r = runPlugin(t, "ecr-credential-provider", env, request(ecrV1, host+"/app"), "ignored")
	ecrToken(t, f, r, host)
	// It serves ECR only: the static backend's docker config is not read.
	r = runPlugin(t, "ecr-credential-provider", append(env, "DOCKER_CONFIG="+t.TempDir()), request(ecrV1, "my-registry.example/images/app"))
	if resp := decodeResponse(t, r); len(resp.Auth) != 0 {
		t.Errorf("non-ECR host got %v", resp.Auth)
	}
	// AWS_ECR_ROLE_ARN works as for ecr-credential-provider.
	tok := podToken(t)
	r = runPlugin(t, "ecr-credential-provider", append(env, "AWS_ECR_ROLE_ARN=arn:aws:iam::210987654321:role/d"), saRequestJSON(t, host+"/app", tok, nil))
	if got, _ := ecrToken(t, f, r, host); got.Identity != "arn:aws:iam::210987654321:role/d" {
		t.Errorf("token for %s", got.Identity)
	}
	// Flags: --help like ecr-credential-provider; anything else is refused, as it refuses it.
	if r := runPlugin(t, "ecr-credential-provider", env, "", "--help"); r.code != 0 {
		t.Errorf("--help: exit %d %s", r.code, r.stderr)
	}
	r = runPlugin(t, "ecr-credential-provider", env, request(ecrV1, host+"/app"), "--ecr-role-arn", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "unknown flag") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("unknown flag: exit %d stderr %q", r.code, r.stderr)
	}
}

func closedLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// The on-disk cache keeps ECR tokens between invocations: a second run asks AWS
// nothing, and a service account with another role never gets the first one's token.
func TestECRCacheBetweenRuns(t *testing.T) {
	const image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
	const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	f, env := startAWS(t)
	dir := filepath.Join(t.TempDir(), "cache") // made by the plugin, private; a test-made one has the platform's default access (under wine, Everyone may read)
	first, _ := ecrToken(t, f, runPlugin(t, "", env, request(ecrV1, image), "--cache-dir", dir, "--backends=ecr"), host)
	second, _ := ecrToken(t, f, runPlugin(t, "", env, request(ecrV1, image), "--cache-dir", dir, "--backends=ecr"), host)
	if first.Password != second.Password || f.Calls(awsfake.ECRGetAuthorizationToken) != 1 {
		t.Fatalf("second run made a call (%d calls) or got another token", f.Calls(awsfake.ECRGetAuthorizationToken))
	}
	tok := podToken(t)
	roleA := map[string]string{"eks.amazonaws.com/ecr-role-arn": "arn:aws:iam::210987654321:role/a"}
	roleB := map[string]string{"eks.amazonaws.com/ecr-role-arn": "arn:aws:iam::210987654321:role/b"}
	a1, _ := ecrToken(t, f, runPlugin(t, "", env, saRequestJSON(t, image, tok, roleA), "--cache-dir", dir, "--backends=ecr"), host)
	a2, _ := ecrToken(t, f, runPlugin(t, "", env, saRequestJSON(t, image, tok, roleA), "--cache-dir", dir, "--backends=ecr"), host)
	b1, _ := ecrToken(t, f, runPlugin(t, "", env, saRequestJSON(t, image, tok, roleB), "--cache-dir", dir, "--backends=ecr"), host)
	if a1.Identity != "arn:aws:iam::210987654321:role/a" || a1.Password != a2.Password || b1.Identity != "arn:aws:iam::210987654321:role/b" || a1.Password == first.Password {
		t.Fatalf("per-role caching wrong: node %s, a %s/%s, b %s", first.Identity, a1.Identity, a2.Identity, b1.Identity)
	}
	if n := f.Calls(awsfake.ECRGetAuthorizationToken); n != 3 {
		t.Fatalf("%d ECR calls, want 3 (node, role a once, role b)", n)
	}
}
