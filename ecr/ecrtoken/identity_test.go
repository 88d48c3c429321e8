package ecrtoken

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
)

func TestCacheIdentity(t *testing.T) {
	withFake(t)
	const (
		host  = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
		roleA = "arn:aws:iam::210987654321:role/a"
		roleB = "arn:aws:iam::210987654321:role/b"
	)
	base := newProvider(t, ecr.Config{})
	id := func(p *Provider, req providers.Request) string {
		t.Helper()
		s, scope := p.CacheIdentity(req)
		if scope != providers.RegistryPluginCacheKeyType {
			t.Fatalf("scope %s", scope)
		}
		for _, secret := range []string{awsfake.TestSecretAccessKey, awsfake.TestAccessKeyID, "sa-token-1", "sa-token-2"} {
			if strings.Contains(s, secret) {
				t.Fatalf("identity %q contains a secret or key id", s)
			}
		}
		return s
	}
	plain := id(base, imageReq(host))
	if id(base, imageReq(host)) != plain {
		t.Fatal("identity not stable")
	}
	// Two tokens of the same service account and annotations: same identity (the
	// core adds the service account's namespace/name/uid to the key).
	sa1 := id(base, saReq(host, "sa-token-1", map[string]string{ecr.RoleAnnotation: roleA}))
	if sa2 := id(base, saReq(host, "sa-token-2", map[string]string{ecr.RoleAnnotation: roleA})); sa1 != sa2 {
		t.Fatalf("token rotation changed the identity: %q vs %q", sa1, sa2)
	}
	distinct := map[string]string{
		"plain":                  plain,
		"sa role a":              sa1,
		"sa role b":              id(base, saReq(host, "sa-token-1", map[string]string{ecr.RoleAnnotation: roleB})),
		"sa node fallback":       id(base, saReq(host, "sa-token-1", nil)),
		"other region":           id(base, imageReq("123456789012.dkr.ecr.eu-west-2.amazonaws.com/app")),
		"fips":                   id(base, imageReq("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/app")),
		"non-fips":               id(base, imageReq("123456789012.dkr.ecr.us-east-1.amazonaws.com/app")),
		"public":                 id(base, imageReq("public.ecr.aws/x/y")),
		"profile":                id(newProvider(t, ecr.Config{Profile: "puller"}), imageReq(host)),
		"node role":              id(newProvider(t, ecr.Config{RoleARN: roleA}), imageReq(host)),
		"sa role required, none": id(newProvider(t, ecr.Config{RequireServiceAccountRole: true}), saReq(host, "sa-token-1", nil)),
	}
	// Each setting that picks another principal (or another endpoint) on its own.
	for _, kv := range [][2]string{
		{"AWS_PROFILE", "from-env"},
		{"AWS_DEFAULT_PROFILE", "from-default-env"},
		{"AWS_CONFIG_FILE", "/etc/aws/other-config"},
		{"AWS_SHARED_CREDENTIALS_FILE", "/etc/aws/other-credentials"},
		{"AWS_ROLE_ARN", roleA},
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"},
		{"AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1/elsewhere"},
		{"AWS_ACCESS_KEY_ID", "AKIAOTHERSTATICKEY00"},
	} {
		old := os.Getenv(kv[0])
		t.Setenv(kv[0], kv[1])
		s := id(base, imageReq(host))
		if strings.Contains(s, "AKIAOTHERSTATICKEY00") {
			t.Errorf("identity %q carries the access key id", s)
		}
		distinct[kv[0]] = s
		t.Setenv(kv[0], old)
	}
	// A profile named in the config is the profile, whatever the environment says.
	t.Setenv("AWS_PROFILE", "from-env")
	if a, b := id(newProvider(t, ecr.Config{Profile: "puller"}), imageReq(host)), distinct["profile"]; a != b {
		t.Errorf("$AWS_PROFILE changed the identity of a configured profile: %q vs %q", a, b)
	}
	t.Setenv("AWS_PROFILE", "")
	seen := map[string]string{}
	for name, s := range distinct {
		if other, dup := seen[s]; dup {
			t.Errorf("%s and %s share identity %q", name, other, s)
		}
		seen[s] = name
	}
	// The configured default SA role and the same role from an annotation are the
	// same principal.
	if a, b := id(newProvider(t, ecr.Config{ServiceAccountRoleARN: roleB}), saReq(host, "t", nil)), id(base, saReq(host, "t", map[string]string{ecr.RoleAnnotation: roleB})); a != b {
		t.Errorf("same role, different identities: %q %q", a, b)
	}
}

// BenchmarkCacheHitPath is what every invocation pays before the cache answers:
// Serves and CacheIdentity. Neither loads SDK configuration.
func BenchmarkCacheHitPath(b *testing.B) {
	p, err := New(ecr.Config{RoleARN: "arn:aws:iam::123456789012:role/r"})
	if err != nil {
		b.Fatal(err)
	}
	req := saReq("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", "tok", map[string]string{ecr.RoleAnnotation: "arn:aws:iam::210987654321:role/a"})
	b.ReportAllocs()
	for b.Loop() {
		if !p.Serves(req.Image) {
			b.Fatal("not served")
		}
		p.CacheIdentity(req)
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(ecr.Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCredentials is one cache miss in process: SDK configuration, credential
// chain (static), GetAuthorizationToken against the loopback fake.
func BenchmarkCredentials(b *testing.B) {
	f := awsfake.New()
	defer f.Close()
	for _, kv := range f.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	b.Setenv("AWS_CA_BUNDLE", "")
	p, err := New(ecr.Config{})
	if err != nil {
		b.Fatal(err)
	}
	req := imageReq("123456789012.dkr.ecr.us-east-1.amazonaws.com/app")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Credentials(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
