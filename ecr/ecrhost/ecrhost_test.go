package ecrhost

import (
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/match"
)

func TestParse(t *testing.T) {
	tests := []struct {
		host string
		want Registry
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", Registry{Account: "123456789012", Region: "us-east-1", Suffix: "amazonaws.com"}},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com", Registry{Account: "123456789012", Region: "eu-west-1", Suffix: "amazonaws.com"}},
		{"123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM", Registry{Account: "123456789012", Region: "eu-west-1", Suffix: "amazonaws.com"}},
		{"123456789012.dkr.ecr.ap-southeast-5.amazonaws.com", Registry{Account: "123456789012", Region: "ap-southeast-5", Suffix: "amazonaws.com"}},
		{"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", Registry{Account: "123456789012", Region: "us-gov-west-1", Suffix: "amazonaws.com"}},
		{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", Registry{Account: "123456789012", Region: "us-east-1", FIPS: true, Suffix: "amazonaws.com"}},
		{"123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com", Registry{Account: "123456789012", Region: "us-gov-east-1", FIPS: true, Suffix: "amazonaws.com"}},
		{"123456789012.dkr-ecr.us-west-2.on.aws", Registry{Account: "123456789012", Region: "us-west-2", DualStack: true, Suffix: "on.aws"}},
		{"123456789012.dkr-ecr-fips.us-west-2.on.aws", Registry{Account: "123456789012", Region: "us-west-2", DualStack: true, FIPS: true, Suffix: "on.aws"}},
		{"123456789012.dkr-ecr.us-west-2.amazonaws.com", Registry{Account: "123456789012", Region: "us-west-2", DualStack: true, Suffix: "amazonaws.com"}},
		{"123456789012.dkr.ecr.us-west-2.on.aws", Registry{Account: "123456789012", Region: "us-west-2", DualStack: true, Suffix: "on.aws"}},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Registry{Account: "123456789012", Region: "cn-north-1", Suffix: "amazonaws.com.cn"}},
		{"123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn", Registry{Account: "123456789012", Region: "cn-northwest-1", DualStack: true, Suffix: "on.amazonwebservices.com.cn"}},
		{"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", Registry{Account: "123456789012", Region: "eusc-de-east-1", Suffix: "amazonaws.eu"}},
		{"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", Registry{Account: "123456789012", Region: "us-iso-east-1", Suffix: "c2s.ic.gov"}},
		{"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", Registry{Account: "123456789012", Region: "us-isob-east-1", Suffix: "sc2s.sgov.gov"}},
		{"123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", Registry{Account: "123456789012", Region: "eu-isoe-west-1", Suffix: "cloud.adc-e.uk"}},
		{"123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", Registry{Account: "123456789012", Region: "us-isof-south-1", Suffix: "csp.hci.ic.gov"}},
		{"public.ecr.aws", Registry{Public: true, Region: "us-east-1", Suffix: "public.ecr.aws"}},
		{"Public.ECR.aws", Registry{Public: true, Region: "us-east-1", Suffix: "public.ecr.aws"}},
		{"ecr-public.aws.com", Registry{Public: true, Region: "us-east-1", Suffix: "ecr-public.aws.com", DualStack: true}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, ok := Parse(tt.host)
			if !ok || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v, true", tt.host, got, ok, tt.want)
			}
			if !IsECR(tt.host) {
				t.Fatalf("IsECR(%q) = false", tt.host)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, host := range []string{
		"",
		"docker.io",
		"registry.k8s.io",
		"gcr.io",
		"myacr.azurecr.io",
		"localhost:5000",
		// Ports: real ECR answers on 443 only.
		"123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com:5000",
		"public.ecr.aws:443",
		// Look-alikes.
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.",
		"evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"x.123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr.us-east-1.amazonaws.co",
		"123456789012.dkr.ecr.us-east-1.notamazonaws.com",
		"public.ecr.aws.evil.example",
		"evil-public.ecr.aws",
		"ecr-public.aws.com.cn",
		// Wrong account ids.
		"12345678901.dkr.ecr.us-east-1.amazonaws.com",
		"1234567890123.dkr.ecr.us-east-1.amazonaws.com",
		"12345678901a.dkr.ecr.us-east-1.amazonaws.com",
		"user@123456789012.dkr.ecr.us-east-1.amazonaws.com",
		// Wrong service labels.
		"123456789012.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr-fipss.us-east-1.amazonaws.com",
		"123456789012.dkr_ecr.us-east-1.amazonaws.com",
		"123456789012.api.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr.us-east-1.amazonaws.com",
		// Service labels a partition suffix does not have.
		"123456789012.dkr.ecr-fips.us-west-2.on.aws",
		"123456789012.dkr-ecr-fips.us-west-2.amazonaws.com",
		"123456789012.dkr.ecr-fips.cn-north-1.amazonaws.com.cn",
		"123456789012.dkr-ecr.cn-north-1.amazonaws.com.cn",
		"123456789012.dkr.ecr.cn-north-1.on.amazonwebservices.com.cn",
		"123456789012.dkr-ecr.eusc-de-east-1.amazonaws.eu",
		"123456789012.dkr.ecr-fips.us-iso-east-1.c2s.ic.gov",
		// Wrong regions.
		"123456789012.dkr.ecr..amazonaws.com",
		"123456789012.dkr.ecr.amazonaws.com",
		"123456789012.dkr.ecr.us-east.amazonaws.com",
		"123456789012.dkr.ecr.us_east_1.amazonaws.com",
		"123456789012.dkr.ecr.1-east-1.amazonaws.com",
		"123456789012.dkr.ecr.us--1.amazonaws.com",
		// A region that belongs to another partition's suffix.
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
		"123456789012.dkr.ecr.us-iso-east-1.amazonaws.com",
		"123456789012.dkr.ecr.us-isob-east-1.c2s.ic.gov",
		"123456789012.dkr.ecr.us-east-1.amazonaws.eu",
		"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.com",
		"123456789012.dkr.ecr.eu-west-1.cloud.adc-e.uk",
		strings.Repeat("1", 300),
	} {
		if r, ok := Parse(host); ok {
			t.Errorf("Parse(%q) = %+v, want not ECR", host, r)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr-ecr-fips.us-west-2.on.aws",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
		"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
		"public.ecr.aws",
		"ecr-public.aws.com",
		"localhost:5000",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		r, ok := Parse(host)
		if !ok {
			if r != (Registry{}) {
				t.Fatalf("not ECR but %+v", r)
			}
			return
		}
		if strings.ContainsAny(host, ":/@ \t\n") {
			t.Fatalf("%q accepted with a port, path, userinfo or space", host)
		}
		if r.Region == "" || r.Suffix == "" || !isRegion(r.Region) {
			t.Fatalf("%q: incomplete %+v", host, r)
		}
		lh := strings.ToLower(host)
		if !strings.HasSuffix(lh, "."+r.Suffix) && lh != r.Suffix {
			t.Fatalf("%q does not end in its suffix %q", host, r.Suffix)
		}
		if r.Public {
			if r.Account != "" || r.Region != PublicRegion || r.DualStack != (r.Suffix == "ecr-public.aws.com") || r.FIPS {
				t.Fatalf("%q: public with %+v", host, r)
			}
			return
		}
		if !isAccount(r.Account) || !strings.HasPrefix(lh, r.Account+".") || !strings.Contains(lh, "."+r.Region+".") {
			t.Fatalf("%q: account/region %+v not from the host", host, r)
		}
		// Parsing is stable: the canonical form parses to the same registry.
		svc := "dkr.ecr"
		if r.DualStack && (r.Suffix == "amazonaws.com" || r.Suffix == "amazonaws.com.cn" || strings.Contains(lh, ".dkr-ecr")) {
			svc = "dkr-ecr"
		}
		if r.FIPS {
			svc += "-fips"
		}
		again, ok := Parse(r.Account + "." + svc + "." + r.Region + "." + r.Suffix)
		if !ok || again != r {
			t.Fatalf("%q → %+v, canonical form → %+v %v", host, r, again, ok)
		}
	})
}

// TestMatchImages checks the suggested kubelet patterns with the kubelet's own
// matching rules: every documented host family is matched, and every pattern is about
// ECR hosts only.
func TestMatchImages(t *testing.T) {
	for _, image := range []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
		"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/app",
		"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/app",
		"123456789012.dkr-ecr.us-west-2.on.aws/app",
		"123456789012.dkr-ecr-fips.us-west-2.on.aws/app",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app",
		"123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn/app",
		"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu/app",
		"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov/app",
		"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/app",
		"123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk/app",
		"123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov/app",
		"public.ecr.aws/nginx/nginx",
		"ecr-public.aws.com/team/app",
	} {
		n := 0
		for _, p := range MatchImages() {
			if match.Match(p, image) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s matched by %d patterns, want 1", image, n)
		}
		if host, _, _ := strings.Cut(image, "/"); !IsECR(host) {
			t.Errorf("%s is not ECR", host)
		}
	}
	for _, p := range MatchImages() {
		if _, err := match.NormalizeKey(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
		// Fill the account and region labels with a region of the pattern's partition.
		region := "us-west-2"
		for _, ps := range suffixes {
			if ps.prefixes != nil && strings.HasSuffix(p, "."+ps.suffix) {
				region = ps.prefixes[0] + "east-1"
			}
		}
		host := strings.Replace(strings.Replace(p, "*", "123456789012", 1), "*", region, 1)
		if !IsECR(host) {
			t.Errorf("pattern %q: its instance %q is not ECR", p, host)
		}
	}
}
