package ecrtoken

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecrsdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
)

// hostFamilies are one image per host family, with the signing scope the ECR call
// must carry and the API endpoints the SDK must pick for it without overrides: ECR's
// (or ECR Public's) and STS's for a service account role.
var hostFamilies = []struct {
	image, region, service, endpoint, sts string
}{
	{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app", "us-east-1", "ecr", "https://api.ecr.us-east-1.amazonaws.com", "https://sts.us-east-1.amazonaws.com"},
	{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app", "eu-west-1", "ecr", "https://api.ecr.eu-west-1.amazonaws.com", "https://sts.eu-west-1.amazonaws.com"},
	{"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/app", "us-gov-west-1", "ecr", "https://api.ecr.us-gov-west-1.amazonaws.com", "https://sts.us-gov-west-1.amazonaws.com"},
	{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/app", "us-east-1", "ecr", "https://api.ecr-fips.us-east-1.amazonaws.com", "https://sts-fips.us-east-1.amazonaws.com"},
	// GovCloud's regular STS endpoints are its FIPS endpoints.
	{"123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com/app", "us-gov-east-1", "ecr", "https://api.ecr-fips.us-gov-east-1.amazonaws.com", "https://sts.us-gov-east-1.amazonaws.com"},
	{"123456789012.dkr-ecr.us-west-2.on.aws/app", "us-west-2", "ecr", "https://ecr.us-west-2.api.aws", "https://sts.us-west-2.api.aws"},
	{"123456789012.dkr-ecr-fips.us-west-2.on.aws/app", "us-west-2", "ecr", "https://ecr-fips.us-west-2.api.aws", "https://sts-fips.us-west-2.api.aws"},
	{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app", "cn-north-1", "ecr", "https://api.ecr.cn-north-1.amazonaws.com.cn", "https://sts.cn-north-1.amazonaws.com.cn"},
	{"123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn/app", "cn-northwest-1", "ecr", "https://ecr.cn-northwest-1.api.amazonwebservices.com.cn", "https://sts.cn-northwest-1.api.amazonwebservices.com.cn"},
	{"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu/app", "eusc-de-east-1", "ecr", "https://api.ecr.eusc-de-east-1.amazonaws.eu", "https://sts.eusc-de-east-1.amazonaws.eu"},
	{"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov/app", "us-iso-east-1", "ecr", "https://api.ecr.us-iso-east-1.c2s.ic.gov", "https://sts.us-iso-east-1.c2s.ic.gov"},
	{"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/app", "us-isob-east-1", "ecr", "https://api.ecr.us-isob-east-1.sc2s.sgov.gov", "https://sts.us-isob-east-1.sc2s.sgov.gov"},
	{"123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk/app", "eu-isoe-west-1", "ecr", "https://api.ecr.eu-isoe-west-1.cloud.adc-e.uk", "https://sts.eu-isoe-west-1.cloud.adc-e.uk"},
	{"123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov/app", "us-isof-south-1", "ecr", "https://api.ecr.us-isof-south-1.csp.hci.ic.gov", "https://sts.us-isof-south-1.csp.hci.ic.gov"},
	{"public.ecr.aws/nginx/nginx", "us-east-1", "ecr-public", "https://api.ecr-public.us-east-1.amazonaws.com", "https://sts.us-east-1.amazonaws.com"},
	// ECR Public's dual-stack host: its API and STS over dual-stack too.
	{"ecr-public.aws.com/team/app", "us-east-1", "ecr-public", "https://ecr-public.us-east-1.api.aws", "https://sts.us-east-1.api.aws"},
}

func TestEveryHostFamilyThroughEndpointOverrides(t *testing.T) {
	f := withFake(t)
	p := newProvider(t, ecr.Config{})
	for _, tt := range hostFamilies {
		t.Run(tt.image, func(t *testing.T) {
			req := imageReq(tt.image)
			if !p.Serves(req.Image) {
				t.Fatal("not served")
			}
			before := len(f.CallLog())
			res, err := fetch(t, p, req)
			tok := mustToken(t, f, res, err, req.Image.Host)
			if tok.Identity != awsfake.TestIdentity || tok.Region != tt.region {
				t.Errorf("token for %s in %s, want the node's in %s", tok.Identity, tok.Region, tt.region)
			}
			calls := f.CallLog()[before:]
			if len(calls) != 1 || calls[0].Service != tt.service || calls[0].Region != tt.region {
				t.Errorf("calls %+v, want one %s call signed for %s", calls, tt.service, tt.region)
			}
			if got := tok.ExpiresAt.Sub(tok.IssuedAt); got != awsfake.DefaultTokenLifetime {
				t.Errorf("token lifetime %v", got)
			}
		})
	}
}

// TestEndpointFollowsImageHost proves, without endpoint overrides, that the SDK sends
// the call to the endpoint the image host implies: the HTTP client records the URL the
// SDK resolved and hands the request to the fake, which checks the signature against
// that Host.
func TestEndpointFollowsImageHost(t *testing.T) {
	isolate(t)
	f := awsfake.New()
	defer f.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", awsfake.TestAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsfake.TestSecretAccessKey)
	for _, tt := range hostFamilies {
		t.Run(tt.image, func(t *testing.T) {
			rd := newRedirector(f)
			p := newProvider(t, ecr.Config{}, WithHTTPClient(rd))
			req := imageReq(tt.image)
			res, err := fetch(t, p, req)
			mustToken(t, f, res, err, req.Image.Host)
			if hosts := rd.Hosts(); len(hosts) != 1 || hosts[0] != tt.endpoint {
				t.Fatalf("SDK called %v, want %s", hosts, tt.endpoint)
			}
		})
	}
}

// TestResolverAgreesWithHostVariant feeds the client options built for each host to
// the SDK's own endpoint resolvers (ECR or ECR Public, and STS), the way the clients
// bind them.
func TestResolverAgreesWithHostVariant(t *testing.T) {
	p := newProvider(t, ecr.Config{})
	ctx := context.Background()
	for _, tt := range hostFamilies {
		reg, ok := ecrhost.Parse(strings.SplitN(tt.image, "/", 2)[0])
		if !ok {
			t.Fatalf("%s not ECR", tt.image)
		}
		var ep smithyendpoints.Endpoint
		var err error
		if reg.Public {
			var o ecrpublic.Options
			p.ecrPublicOptions(reg, nil)(&o)
			ep, err = ecrpublic.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, ecrpublic.EndpointParameters{
				Region:       aws.String(o.Region),
				UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
				UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
				Endpoint:     o.BaseEndpoint,
			})
		} else {
			var o ecrsdk.Options
			p.ecrOptions(reg, nil)(&o)
			ep, err = ecrsdk.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, ecrsdk.EndpointParameters{
				Region:       aws.String(o.Region),
				UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
				UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
				Endpoint:     o.BaseEndpoint,
			})
		}
		if err != nil || ep.URI.String() != tt.endpoint {
			t.Errorf("%s: resolved %s (%v), want %s", tt.image, ep.URI.String(), err, tt.endpoint)
		}
		var so sts.Options
		p.stsOptions(reg, nil)(&so)
		ep, err = sts.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, sts.EndpointParameters{
			Region:            aws.String(so.Region),
			UseFIPS:           aws.Bool(so.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
			UseDualStack:      aws.Bool(so.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
			UseGlobalEndpoint: aws.Bool(false),
			Endpoint:          so.BaseEndpoint,
		})
		if err != nil || ep.URI.String() != tt.sts {
			t.Errorf("%s: STS resolved %s (%v), want %s", tt.image, ep.URI.String(), err, tt.sts)
		}
	}
	// With an endpoint override the variants step aside (the SDK refuses FIPS or
	// dual-stack together with a custom endpoint).
	override := aws.String("http://127.0.0.1:1/override")
	reg, _ := ecrhost.Parse("123456789012.dkr-ecr-fips.us-west-2.on.aws")
	o := ecrsdk.Options{BaseEndpoint: override}
	p.ecrOptions(reg, nil)(&o)
	so := sts.Options{BaseEndpoint: override}
	p.stsOptions(reg, nil)(&so)
	pub, _ := ecrhost.Parse("ecr-public.aws.com")
	po := ecrpublic.Options{BaseEndpoint: override}
	p.ecrPublicOptions(pub, nil)(&po)
	if o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled || o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled ||
		so.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled || so.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled ||
		po.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled {
		t.Error("FIPS or dual-stack set together with an endpoint override")
	}
}

func TestNonECRHostsGetNothing(t *testing.T) {
	f := withFake(t)
	p := newProvider(t, ecr.Config{})
	for _, image := range []string{
		"docker.io/library/nginx",
		"registry.k8s.io/pause",
		"gcr.io/p/app",
		"myacr.azurecr.io/app",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com:5000/app",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
		"evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
		"localhost:5000/app",
	} {
		req := imageReq(image)
		if p.Serves(req.Image) {
			t.Errorf("%s served", image)
		}
		if _, err := fetch(t, p, req); err == nil || !strings.Contains(err.Error(), "not an Amazon ECR registry") {
			t.Errorf("%s: Credentials error %v", image, err)
		}
	}
	if n := f.TotalCalls(); n != 0 {
		t.Fatalf("%d calls to AWS for non-ECR hosts", n)
	}
}

func TestCustomRegistryMapping(t *testing.T) {
	f := withFake(t)
	p := newProvider(t, ecr.Config{Registries: []ecr.Registry{
		{Host: "registry.example.com", Account: "123456789012", Region: "eu-central-1"},
		{Host: "ecr-proxy.internal:5000", Region: "cn-north-1"},
	}})
	for _, tc := range []struct{ image, host, region string }{
		{"registry.example.com/app", "registry.example.com", "eu-central-1"},
		{"Registry.Example.com/app", "Registry.Example.com", "eu-central-1"},
		{"ecr-proxy.internal:5000/team/app", "ecr-proxy.internal:5000", "cn-north-1"},
	} {
		res, err := fetch(t, p, imageReq(tc.image))
		tok := mustToken(t, f, res, err, tc.host)
		if tok.Region != tc.region {
			t.Errorf("%s: token from %s, want %s", tc.image, tok.Region, tc.region)
		}
	}
	if p.Serves(imageReq("ecr-proxy.internal/app").Image) || p.Serves(imageReq("example.com/app").Image) {
		t.Error("a host that is not mapped (or mapped only with a port) is served")
	}
	for name, cfg := range map[string]ecr.Config{
		"ECR host":       {Registries: []ecr.Registry{{Host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", Region: "us-east-1"}}},
		"bad region":     {Registries: []ecr.Registry{{Host: "r.example", Region: "moon-1"}}},
		"no region":      {Registries: []ecr.Registry{{Host: "r.example"}}},
		"bad account":    {Registries: []ecr.Registry{{Host: "r.example", Region: "us-east-1", Account: "12"}}},
		"url":            {Registries: []ecr.Registry{{Host: "https://r.example", Region: "us-east-1"}}},
		"path":           {Registries: []ecr.Registry{{Host: "r.example/x", Region: "us-east-1"}}},
		"duplicate":      {Registries: []ecr.Registry{{Host: "r.example", Region: "us-east-1"}, {Host: "R.example", Region: "us-west-1"}}},
		"bad role":       {RoleARN: "arn:aws:iam::123:user/x"},
		"bad SA role":    {ServiceAccountRoleARN: "role/x"},
		"external id":    {ExternalID: "x"},
		"bad session":    {RoleARN: "arn:aws:iam::123456789012:role/r", RoleSessionName: "has space"},
		"partition role": {RoleARN: "arn:aws-cn:iam::123456789012:user/r"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestServiceAccountRoles(t *testing.T) {
	const (
		annotated = "arn:aws:iam::210987654321:role/annotated"
		defRole   = "arn:aws:iam::210987654321:role/default"
		envRole   = "arn:aws-cn:iam::210987654321:role/from-env"
		token     = "header.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dGVhbS1hOnB1bGxlciJ9.sig-of-the-sa-token"
	)
	tests := []struct {
		name        string
		cfg         ecr.Config
		env         string // AWS_ECR_ROLE_ARN
		image       string
		annotations map[string]string
		wantRole    string // "" = node credentials
		wantErr     string
	}{
		{name: "annotation", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", annotations: map[string]string{ecr.RoleAnnotation: annotated}, cfg: ecr.Config{ServiceAccountRoleARN: defRole}, wantRole: annotated},
		{name: "configured default", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", cfg: ecr.Config{ServiceAccountRoleARN: defRole}, wantRole: defRole},
		{name: "default from env", image: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app", env: envRole, wantRole: envRole},
		{name: "config beats env", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", env: envRole, cfg: ecr.Config{ServiceAccountRoleARN: defRole}, wantRole: defRole},
		{name: "ECR Public without AWS_REGION", image: "public.ecr.aws/team/app", annotations: map[string]string{ecr.RoleAnnotation: annotated}, wantRole: annotated},
		{name: "no role: node credentials", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", annotations: map[string]string{"other": "x"}},
		{name: "no role, role required", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", cfg: ecr.Config{RequireServiceAccountRole: true}, wantErr: "has no eks.amazonaws.com/ecr-role-arn annotation"},
		{name: "malformed annotation", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", annotations: map[string]string{ecr.RoleAnnotation: "not-an-arn"}, wantErr: "is not an IAM role ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withFake(t)
			if tt.env != "" {
				t.Setenv(ecr.RoleEnv, tt.env)
			}
			p := newProvider(t, tt.cfg)
			req := saReq(tt.image, token, tt.annotations)
			res, err := fetch(t, p, req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "ecr: registry "+req.Image.Host+" (region ") {
					t.Fatalf("error %v, want one naming the registry and %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), token) || f.TotalCalls() != 0 {
					t.Fatalf("error carries the token or AWS was called (%d calls)", f.TotalCalls())
				}
				return
			}
			tok := mustToken(t, f, res, err, req.Image.Host)
			web := f.WebIdentityRequests()
			if tt.wantRole == "" {
				if tok.Identity != awsfake.TestIdentity || len(web) != 0 {
					t.Fatalf("token for %s after %d web identity calls, want node credentials", tok.Identity, len(web))
				}
				return
			}
			if tok.Identity != tt.wantRole {
				t.Fatalf("token issued to %s, want %s", tok.Identity, tt.wantRole)
			}
			if len(web) != 1 || web[0].RoleARN != tt.wantRole || web[0].Token != token || web[0].RoleSessionName != "team-a.puller" {
				t.Fatalf("web identity requests %+v", web)
			}
			reg, _ := ecrhost.Parse(req.Image.Host)
			for _, c := range f.CallLog() {
				if c.Op != awsfake.STSAssumeRoleWithWebIdentity && c.Region != reg.Region {
					t.Errorf("call %+v not signed for %s", c, reg.Region)
				}
			}
		})
	}
}

// TestServiceAccountSTSRegion checks, for every host family, which STS and ECR
// endpoints the SDK really calls in service-account-token mode when nothing overrides
// them: the registry's region (us-east-1 for ECR Public) and its FIPS and dual-stack
// variants; AWS_REGION is not set.
func TestServiceAccountSTSRegion(t *testing.T) {
	isolate(t)
	f := awsfake.New()
	defer f.Close()
	const role = "arn:aws:iam::210987654321:role/puller"
	for _, tc := range hostFamilies {
		rd := newRedirector(f)
		p := newProvider(t, ecr.Config{}, WithHTTPClient(rd))
		req := saReq(tc.image, "sa-token", map[string]string{ecr.RoleAnnotation: role})
		res, err := fetch(t, p, req)
		if tok := mustToken(t, f, res, err, req.Image.Host); tok.Identity != role || tok.Region != tc.region {
			t.Errorf("%s: token for %s in %s", tc.image, tok.Identity, tok.Region)
		}
		if hosts := rd.Hosts(); len(hosts) != 2 || hosts[0] != tc.sts || hosts[1] != tc.endpoint {
			t.Errorf("%s: calls went to %v, want %s then %s", tc.image, hosts, tc.sts, tc.endpoint)
		}
	}
}

func TestNodeRoleARN(t *testing.T) {
	f := withFake(t)
	const role = "arn:aws:iam::210987654321:role/cross-account-puller"
	p := newProvider(t, ecr.Config{RoleARN: role, ExternalID: "ext-1", RoleSessionName: "node-puller"})
	res, err := fetch(t, p, imageReq("123456789012.dkr.ecr.eu-north-1.amazonaws.com/app"))
	if tok := mustToken(t, f, res, err, "123456789012.dkr.ecr.eu-north-1.amazonaws.com"); tok.Identity != role {
		t.Fatalf("token for %s, want the role", tok.Identity)
	}
	ar := f.AssumeRoleRequests()
	if len(ar) != 1 || ar[0].RoleARN != role || ar[0].Identity != awsfake.TestIdentity || ar[0].ExternalID != "ext-1" || ar[0].RoleSessionName != "node-puller" {
		t.Fatalf("AssumeRole requests %+v", ar)
	}
	for _, c := range f.CallLog() {
		if c.Region != "eu-north-1" {
			t.Errorf("call %+v not signed for eu-north-1", c)
		}
	}
	// A service account with its own role does not go through the node role.
	req := saReq("123456789012.dkr.ecr.eu-north-1.amazonaws.com/app", "sa-token", map[string]string{ecr.RoleAnnotation: "arn:aws:iam::210987654321:role/sa"})
	res, err = fetch(t, p, req)
	if tok := mustToken(t, f, res, err, req.Image.Host); tok.Identity != "arn:aws:iam::210987654321:role/sa" || len(f.AssumeRoleRequests()) != 1 {
		t.Fatalf("SA request got %s after %d AssumeRole calls", tok.Identity, len(f.AssumeRoleRequests()))
	}
}

func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	f := withFake(t)
	p := newProvider(t, ecr.Config{})
	const host = "123456789012.dkr.ecr.us-west-1.amazonaws.com"
	for _, tc := range []struct {
		name string
		knob func()
	}{
		{"throttled twice", func() { f.ThrottleNext(awsfake.ECRGetAuthorizationToken, 2) }},
		{"500 twice", func() { f.FailNext(awsfake.ECRGetAuthorizationToken, 2, 500) }},
		{"503 twice", func() { f.FailNext(awsfake.ECRGetAuthorizationToken, 2, 503) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.Calls(awsfake.ECRGetAuthorizationToken)
			tc.knob()
			res, err := fetch(t, p, imageReq(host+"/app"))
			mustToken(t, f, res, err, host)
			if n := f.Calls(awsfake.ECRGetAuthorizationToken) - before; n != 3 {
				t.Fatalf("%d calls, want 3", n)
			}
		})
	}
	t.Run("throttled throughout", func(t *testing.T) {
		before := f.Calls(awsfake.ECRGetAuthorizationToken)
		f.ThrottleNext(awsfake.ECRGetAuthorizationToken, 100)
		defer f.ThrottleNext(awsfake.ECRGetAuthorizationToken, 0)
		start := time.Now()
		_, err := fetch(t, p, imageReq(host+"/app"))
		if err == nil {
			t.Fatal("succeeded")
		}
		if n := f.Calls(awsfake.ECRGetAuthorizationToken) - before; n != MaxAttempts {
			t.Errorf("%d attempts, want %d", n, MaxAttempts)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "ecr: registry "+host+" (region us-west-1): ") || !strings.Contains(msg, "ThrottlingException") || strings.Contains(msg, "\n") {
			t.Errorf("error %q", msg)
		}
		if d := time.Since(start); d > Timeout {
			t.Errorf("took %v", d)
		}
	})
	t.Run("STS throttled twice", func(t *testing.T) {
		f.ThrottleNext(awsfake.STSAssumeRoleWithWebIdentity, 2)
		req := saReq(host+"/app", "sa-token", map[string]string{ecr.RoleAnnotation: "arn:aws:iam::210987654321:role/r"})
		res, err := fetch(t, p, req)
		mustToken(t, f, res, err, host)
	})
}

func TestUnreachableEndpointFailsInBoundedTime(t *testing.T) {
	withFake(t)
	t.Setenv("AWS_ENDPOINT_URL_ECR", closedPort(t))
	p := newProvider(t, ecr.Config{})
	start := time.Now()
	_, err := fetch(t, p, imageReq("123456789012.dkr.ecr.eu-west-3.amazonaws.com/app"))
	d := time.Since(start)
	if err == nil || !strings.HasPrefix(err.Error(), "ecr: registry 123456789012.dkr.ecr.eu-west-3.amazonaws.com (region eu-west-3): ecr:GetAuthorizationToken as the node's AWS credentials (EnvConfigCredentials): ") || !strings.Contains(err.Error(), "refused") { // "connection refused"; on Windows "actively refused it"
		t.Fatalf("error %v", err)
	}
	// MaxAttempts tries with at most MaxBackoff between them.
	if d > time.Duration(MaxAttempts)*MaxBackoff+2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestSlowEndpointEndsAtTheDeadline(t *testing.T) {
	f := withFake(t)
	f.SetDelay(awsfake.ECRGetAuthorizationToken, time.Minute)
	p := newProvider(t, ecr.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Credentials(ctx, imageReq("123456789012.dkr.ecr.eu-west-3.amazonaws.com/app"))
	if err == nil || !strings.Contains(err.Error(), "gave up after") || time.Since(start) > 3*time.Second {
		t.Fatalf("error %v after %v", err, time.Since(start))
	}
}

// TestNoCredentialsFailsFast: no credentials anywhere and an instance metadata
// endpoint that refuses connections. ecr-credential-provider spends 12 s here.
func TestNoCredentialsFailsFast(t *testing.T) {
	f := withFake(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", closedPort(t))
	p := newProvider(t, ecr.Config{})
	start := time.Now()
	_, err := fetch(t, p, imageReq("123456789012.dkr.ecr.us-east-1.amazonaws.com/app"))
	d := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no usable AWS credentials") || !strings.Contains(err.Error(), "EC2 instance metadata") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error on several lines: %q", err)
	}
	if d > 2*time.Second {
		t.Errorf("took %v to notice there are no credentials", d)
	}
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("%d calls reached AWS without credentials", n)
	}
	// A service account with a role needs no node credentials at all.
	req := saReq("public.ecr.aws/x/y", "sa-token", map[string]string{ecr.RoleAnnotation: "arn:aws:iam::210987654321:role/r"})
	res, err := fetch(t, p, req)
	mustToken(t, f, res, err, "public.ecr.aws")
}

// TestSilentInstanceMetadataIsBounded: an instance metadata endpoint that accepts
// connections and never answers costs about a second, not the call's whole deadline.
func TestSilentInstanceMetadataIsBounded(t *testing.T) {
	f := withFake(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+l.Addr().String())
	p := newProvider(t, ecr.Config{})
	start := time.Now()
	_, err = fetch(t, p, imageReq("123456789012.dkr.ecr.us-east-1.amazonaws.com/app"))
	d := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no usable AWS credentials") {
		t.Fatalf("error %v", err)
	}
	if d > 3*time.Second {
		t.Errorf("a silent metadata endpoint held the call for %v", d)
	}
	if f.TotalCalls() != 0 {
		t.Errorf("%d calls reached AWS", f.TotalCalls())
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	f := withFake(t)
	const token = "eyJhbGciOi.secret-service-account-token.sig"
	f.AcceptWebIdentityTokens("some-other-token")
	p := newProvider(t, ecr.Config{})
	req := saReq("123456789012.dkr.ecr.us-east-1.amazonaws.com/app", token, map[string]string{ecr.RoleAnnotation: "arn:aws:iam::210987654321:role/r"})
	_, err := fetch(t, p, req)
	if err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken") || !strings.Contains(err.Error(), "trust policy") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), awsfake.TestSecretAccessKey) {
		t.Fatalf("secret in error: %v", err)
	}
	// A rejected token is a configuration error: asked once, not retried.
	if n := f.Calls(awsfake.STSAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("%d AssumeRoleWithWebIdentity calls for a rejected token, want 1", n)
	}
}

func TestExpiry(t *testing.T) {
	f := withFake(t)
	p := newProvider(t, ecr.Config{})
	const host = "123456789012.dkr.ecr.sa-east-1.amazonaws.com"
	f.SetTokenLifetime(90 * time.Minute)
	res, err := fetch(t, p, imageReq(host+"/app"))
	tok := mustToken(t, f, res, err, host)
	if tok.ExpiresAt.Sub(tok.IssuedAt) != 90*time.Minute {
		t.Fatal("lifetime knob ignored")
	}
	f.SetTokenLifetime(30 * time.Second)
	if _, err := fetch(t, p, imageReq(host+"/app")); err == nil || !strings.Contains(err.Error(), "about to be") {
		t.Fatalf("a token expiring in 30s was accepted: %v", err)
	}
}

func TestDecodeToken(t *testing.T) {
	enc := func(s string) string { return base64Std(s) }
	for _, tc := range []struct {
		in, user, pass string
		ok             bool
	}{
		{enc("AWS:abc"), "AWS", "abc", true},
		{enc("AWS:a:b:c"), "AWS", "a:b:c", true},
		{enc("AWS:"), "", "", false},
		{enc(":x"), "", "", false},
		{enc("AWS"), "", "", false},
		{"!!", "", "", false},
		{"", "", "", false},
	} {
		u, p, err := decodeToken(tc.in)
		if (err == nil) != tc.ok || u != tc.user || p != tc.pass {
			t.Errorf("decodeToken(%q) = %q %q %v", tc.in, u, p, err)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("error quotes the token: %v", err)
		}
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(base64Std("AWS:password"))
	f.Add(base64Std("AWS:a:b"))
	f.Add("")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		u, p, err := decodeToken(s)
		if err != nil {
			if u != "" || p != "" {
				t.Fatal("values with an error")
			}
			return
		}
		raw, _ := base64.StdEncoding.DecodeString(s)
		if u == "" || p == "" || strings.Contains(u, ":") || string(raw) != u+":"+p {
			t.Fatalf("%q → %q %q", s, u, p)
		}
	})
}

func TestSessionName(t *testing.T) {
	for _, tc := range []struct {
		sa   *providers.ServiceAccount
		want string
	}{
		{nil, ecr.DefaultSessionName},
		{&providers.ServiceAccount{}, ecr.DefaultSessionName},
		{&providers.ServiceAccount{Namespace: "kube-system", Name: "puller"}, "kube-system.puller"},
		{&providers.ServiceAccount{Namespace: strings.Repeat("n", 63), Name: "x"}, strings.Repeat("n", 63) + "."},
		{&providers.ServiceAccount{Namespace: "ns", Name: "a/b ü"}, "ns.a_b__"},
	} {
		got := sessionName(tc.sa)
		if got != tc.want || !ecr.IsSessionName(got) {
			t.Errorf("sessionName(%+v) = %q, want %q", tc.sa, got, tc.want)
		}
	}
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
