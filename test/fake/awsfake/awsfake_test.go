package awsfake_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
)

// cfg builds SDK configuration by hand (no environment, no shared files) aimed at f.
func cfg(region string, creds aws.CredentialsProvider) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: creds,
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

var static = credentials.NewStaticCredentialsProvider(awsfake.TestAccessKeyID, awsfake.TestSecretAccessKey, "")

func ecrClient(f *awsfake.Server, region string, creds aws.CredentialsProvider) *ecr.Client {
	return ecr.NewFromConfig(cfg(region, creds), func(o *ecr.Options) { o.BaseEndpoint = aws.String(f.ECRURL) })
}

func password(t *testing.T, token string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	user, pw, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		t.Fatalf("token is not AWS:<password>")
	}
	return pw
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestECRTokenSignedAndRecorded(t *testing.T) {
	f := awsfake.New()
	defer f.Close()
	out, err := ecrClient(f, "eu-west-1", static).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	d := out.AuthorizationData[0]
	pw := password(t, *d.AuthorizationToken)
	tok, ok := f.Lookup(pw)
	if !ok || !f.Valid(pw) || tok.Identity != awsfake.TestIdentity || tok.Region != "eu-west-1" || tok.Op != awsfake.ECRGetAuthorizationToken {
		t.Fatalf("token %+v ok=%v", tok, ok)
	}
	if !strings.Contains(pw, ":") {
		t.Errorf("password %q has no colon: the split-at-first-colon rule goes untested", pw)
	}
	if got := d.ExpiresAt.Sub(tok.IssuedAt); got < 12*time.Hour-time.Second || got > 12*time.Hour+time.Second {
		t.Errorf("expiresAt %v after issue, want 12h", got)
	}
	log := f.CallLog()
	if len(log) != 1 || log[0].Service != "ecr" || log[0].Region != "eu-west-1" || log[0].Status != 200 || log[0].AccessKeyID != awsfake.TestAccessKeyID {
		t.Fatalf("call log %+v", log)
	}
	// A second call gets a distinct token; ExpireTokens invalidates both.
	out2, err := ecrClient(f, "eu-west-1", static).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if pw2 := password(t, *out2.AuthorizationData[0].AuthorizationToken); pw2 == pw {
		t.Fatal("two calls got the same token")
	}
	f.ExpireTokens()
	if f.Valid(pw) {
		t.Fatal("expired token still valid")
	}
	if f.Valid("fake-ecr:1:made-up") {
		t.Fatal("made-up password valid")
	}
}

func TestRefusesBadSignatures(t *testing.T) {
	f := awsfake.New()
	defer f.Close()
	tests := []struct {
		name   string
		client func() error
		code   string
	}{
		{"wrong secret", func() error {
			_, err := ecrClient(f, "us-east-1", credentials.NewStaticCredentialsProvider(awsfake.TestAccessKeyID, "wrong", "")).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
			return err
		}, "InvalidSignatureException"},
		{"unknown key", func() error {
			_, err := ecrClient(f, "us-east-1", credentials.NewStaticCredentialsProvider("AKIDUNKNOWN", "x", "")).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
			return err
		}, "UnrecognizedClientException"},
		{"ECR call at the STS endpoint", func() error {
			c := ecr.NewFromConfig(cfg("us-east-1", static), func(o *ecr.Options) { o.BaseEndpoint = aws.String(f.STSURL) })
			_, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
			return err
		}, ""},
		{"ECR call at the ECR Public endpoint", func() error {
			c := ecr.NewFromConfig(cfg("us-east-1", static), func(o *ecr.Options) { o.BaseEndpoint = aws.String(f.ECRPublicURL) })
			_, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
			return err
		}, "UnknownOperationException"},
		{"ECR Public outside us-east-1", func() error {
			c := ecrpublic.NewFromConfig(cfg("eu-west-1", static), func(o *ecrpublic.Options) { o.BaseEndpoint = aws.String(f.ECRPublicURL) })
			_, err := c.GetAuthorizationToken(context.Background(), &ecrpublic.GetAuthorizationTokenInput{})
			return err
		}, "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.client()
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.code != "" && apiCode(err) != tt.code {
				t.Fatalf("error %v, want code %s", err, tt.code)
			}
		})
	}
	if len(f.Issued()) != 0 {
		t.Fatalf("tokens issued to refused calls: %v", f.Issued())
	}
}

func TestECRPublic(t *testing.T) {
	f := awsfake.New()
	defer f.Close()
	f.SetTokenLifetime(time.Hour)
	c := ecrpublic.NewFromConfig(cfg("us-east-1", static), func(o *ecrpublic.Options) { o.BaseEndpoint = aws.String(f.ECRPublicURL) })
	out, err := c.GetAuthorizationToken(context.Background(), &ecrpublic.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	pw := password(t, *out.AuthorizationData.AuthorizationToken)
	tok, ok := f.Lookup(pw)
	if !ok || tok.Op != awsfake.ECRPublicGetAuthorizationToken || f.CallLog()[0].Service != "ecr-public" {
		t.Fatalf("token %+v, calls %+v", tok, f.CallLog())
	}
	if d := out.AuthorizationData.ExpiresAt.Sub(tok.IssuedAt); d < time.Hour-time.Second || d > time.Hour+time.Second {
		t.Fatalf("lifetime %v, want 1h", d)
	}
}

func TestWebIdentityThenECR(t *testing.T) {
	f := awsfake.New()
	defer f.Close()
	f.AcceptWebIdentityTokens("sa-token-1")
	stsc := sts.NewFromConfig(cfg("eu-central-1", nil), func(o *sts.Options) { o.BaseEndpoint = aws.String(f.STSURL) })
	const role = "arn:aws:iam::210987654321:role/puller"
	prov := stscreds.NewWebIdentityRoleProvider(stsc, role, staticToken("sa-token-1"), func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "ns.name" })
	out, err := ecrClient(f, "eu-central-1", aws.NewCredentialsCache(prov)).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := f.Lookup(password(t, *out.AuthorizationData[0].AuthorizationToken))
	if tok.Identity != role {
		t.Fatalf("token issued to %q, want the role", tok.Identity)
	}
	reqs := f.WebIdentityRequests()
	if len(reqs) != 1 || reqs[0].RoleARN != role || reqs[0].Token != "sa-token-1" || reqs[0].RoleSessionName != "ns.name" {
		t.Fatalf("web identity requests %+v", reqs)
	}
	// A token the fake does not accept.
	bad := stscreds.NewWebIdentityRoleProvider(stsc, role, staticToken("other"))
	if _, err := bad.Retrieve(context.Background()); apiCode(err) != "InvalidIdentityToken" {
		t.Fatalf("unaccepted token: %v", err)
	}
}

func TestAssumeRole(t *testing.T) {
	f := awsfake.New()
	defer f.Close()
	stsc := sts.NewFromConfig(cfg("us-west-2", static), func(o *sts.Options) { o.BaseEndpoint = aws.String(f.STSURL) })
	const role = "arn:aws:iam::123456789012:role/ecr-reader"
	prov := stscreds.NewAssumeRoleProvider(stsc, role, func(o *stscreds.AssumeRoleOptions) { o.ExternalID = aws.String("ext") })
	out, err := ecrClient(f, "us-west-2", aws.NewCredentialsCache(prov)).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := f.Lookup(password(t, *out.AuthorizationData[0].AuthorizationToken))
	reqs := f.AssumeRoleRequests()
	if tok.Identity != role || len(reqs) != 1 || reqs[0].Identity != awsfake.TestIdentity || reqs[0].ExternalID != "ext" {
		t.Fatalf("token %+v, requests %+v", tok, reqs)
	}
	for _, c := range f.CallLog() {
		if c.Op == awsfake.STSAssumeRole && (c.Service != "sts" || c.Region != "us-west-2") {
			t.Fatalf("AssumeRole scope %+v", c)
		}
	}
}

func TestKnobs(t *testing.T) {
	f := awsfake.New()
	defer f.Close()
	c := ecr.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: static, Retryer: func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 4; o.MaxBackoff = time.Millisecond })
	}}, func(o *ecr.Options) { o.BaseEndpoint = aws.String(f.ECRURL) })
	f.ThrottleNext(awsfake.ECRGetAuthorizationToken, 2)
	if _, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{}); err != nil {
		t.Fatalf("throttled twice then served, but: %v", err)
	}
	if n := f.Calls(awsfake.ECRGetAuthorizationToken); n != 3 {
		t.Fatalf("%d calls, want 3 (2 throttled + 1)", n)
	}
	f.FailNext(awsfake.ECRGetAuthorizationToken, 9, 0)
	_, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError || apiCode(err) != "ServerException" {
		t.Fatalf("want a 500 ServerException, got %v", err)
	}
	if n := f.Calls(awsfake.ECRGetAuthorizationToken); n != 7 {
		t.Fatalf("%d calls, want 7", n)
	}
	f.FailNext(awsfake.ECRGetAuthorizationToken, 0, 0)
	f.SetFixedPassword("known-password")
	out, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil || password(t, *out.AuthorizationData[0].AuthorizationToken) != "known-password" || !f.Valid("known-password") {
		t.Fatalf("fixed password: %v", err)
	}
	f.SetDelay(awsfake.ECRGetAuthorizationToken, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{}); err == nil {
		t.Fatal("delayed call answered within 100ms")
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	if _, err := awsfake.Listen("0.0.0.0:0"); err == nil {
		t.Fatal("listened on all interfaces")
	}
}

type staticToken string

func (s staticToken) GetIdentityToken() ([]byte, error) { return []byte(s), nil }
