package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
)

// ecrPassword returns the password part of a GetAuthorizationToken answer.
func ecrPassword(t *testing.T, token *string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(token))
	if err != nil {
		t.Fatal(err)
	}
	user, pw, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		t.Fatalf("token is not AWS:<password>")
	}
	return pw
}

// TestECRRegistriesTakeOnlyTheirTokens gets real tokens from the fake ECR and ECR
// Public through the SDK, as the plugin does, and pulls with them: each registry takes
// only unexpired tokens of its own service and region.
func TestECRRegistriesTakeOnlyTheirTokens(t *testing.T) {
	f, err := Start(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	env := f.Env
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider(awsfake.TestAccessKeyID, awsfake.TestSecretAccessKey, "")
	priv, err := ecr.New(ecr.Options{Region: "us-west-2", Credentials: creds, BaseEndpoint: aws.String(env.PluginEnv["AWS_ENDPOINT_URL_ECR"])}).
		GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecrpublic.New(ecrpublic.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(env.PluginEnv["AWS_ENDPOINT_URL_ECR_PUBLIC"])}).
		GetAuthorizationToken(ctx, &ecrpublic.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		op   awsfake.Op
		role string
		want int
	}{
		{"all", "", 2},
		{awsfake.ECRGetAuthorizationToken, "", 1},
		{awsfake.ECRGetAuthorizationToken, awsfake.TestIdentity, 1},
		{awsfake.ECRGetAuthorizationToken, "arn:aws:iam::123456789012:role/other", 0},
		{"all", awsfake.TestIdentity, 2},
		{awsfake.STSAssumeRoleWithWebIdentity, "arn:aws:iam::123456789012:role/other", 0},
	} {
		if got := awsCalls(f.aws, c.op, c.role); got != c.want {
			t.Errorf("awsCalls(%s, %q) = %d, want %d", c.op, c.role, got, c.want)
		}
	}
	privPW := ecrPassword(t, priv.AuthorizationData[0].AuthorizationToken)
	pubPW := ecrPassword(t, pub.AuthorizationData.AuthorizationToken)

	pem, err := os.ReadFile(env.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			to, ok := env.Resolve[addr]
			if !ok {
				t.Errorf("dial %s: not a fake's name", addr)
				return nil, net.UnknownNetworkError("not a fake")
			}
			return (&net.Dialer{}).DialContext(ctx, network, to)
		},
	}
	pullWith := func(ref, password string) error {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		_, err = remote.Get(r, remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: "AWS", Password: password}))
		return err
	}
	const acct = awsfake.DefaultAccount
	cases := []struct {
		ref, password string
		ok            bool
	}{
		{acct + ".dkr.ecr.us-west-2.amazonaws.com/team/app:v1", privPW, true},
		{acct + ".dkr.ecr-fips.us-west-2.amazonaws.com/app:v1", privPW, true},
		{acct + ".dkr-ecr.us-west-2.on.aws/app:latest", privPW, true},
		{acct + ".dkr.ecr.eu-west-1.amazonaws.com/app:v1", privPW, false},        // another region's registry
		{acct + ".dkr.ecr.cn-north-1.amazonaws.com.cn/app:v1", privPW, false},    // another partition
		{"public.ecr.aws/fake-alias/app:v1", privPW, false},                      // a private token on ECR Public
		{"public.ecr.aws/fake-alias/app:v1", pubPW, true},                        // token flow with AWS:<token>
		{"ecr-public.aws.com/fake-alias/app:v1", pubPW, true},                    // the dual-stack name
		{acct + ".dkr.ecr.us-west-2.amazonaws.com/team/app:v1", pubPW, false},    // a public token on ECR
		{acct + ".dkr.ecr.us-west-2.amazonaws.com/team/app:v1", "forged", false}, // never issued
	}
	for _, tc := range cases {
		if err := pullWith(tc.ref, tc.password); (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok=%v", tc.ref, err, tc.ok)
		}
	}
	f.aws.ExpireTokens()
	if err := pullWith(acct+".dkr.ecr.us-west-2.amazonaws.com/team/app:v1", privPW); err == nil {
		t.Errorf("an expired ECR token was accepted")
	}
	if err := pullWith("public.ecr.aws/fake-alias/app:v1", pubPW); err == nil {
		t.Errorf("an expired ECR Public token was accepted")
	}
	for _, p := range strings.Split(env.Vars["ECR_MATCH_IMAGES"], ",") {
		if p == "" || strings.ContainsAny(p, " \"") {
			t.Errorf("ECR_MATCH_IMAGES has pattern %q", p)
		}
	}
}
