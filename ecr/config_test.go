package ecr

import (
	"regexp"
	"strings"
	"testing"
)

// The patterns the hand-written validators implement.
var (
	roleARNRE     = regexp.MustCompile(`^arn:aws(-[a-zA-Z0-9]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

func TestIsRoleARN(t *testing.T) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:role/puller",
		"arn:aws:iam::123456789012:role/path/to/puller",
		"arn:aws-cn:iam::123456789012:role/r",
		"arn:aws-us-gov:iam::123456789012:role/r",
		"arn:aws-iso-b:iam::123456789012:role/r",
		"arn:aws-eusc:iam::123456789012:role/a+b=c,d.e@f_g-h",
	} {
		if !isRoleARN(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{
		"", "role/x", "arn:aws:iam::123456789012:user/x", "arn:aws:iam::12345678901:role/x",
		"arn:aws:iam::123456789012:role/", "arn:aws:sts::123456789012:role/x", "arn:aws-:iam::123456789012:role/x",
		"arn:aws--cn:iam::123456789012:role/x", "arn:gcp:iam::123456789012:role/x", "arn:aws:iam::123456789012:role/x y",
		"arn:aws:iam::123456789012:role/" + strings.Repeat("a", 513), " arn:aws:iam::123456789012:role/x",
	} {
		if isRoleARN(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzIsRoleARN(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:role/puller")
	f.Add("arn:aws-us-gov:iam::123456789012:role/a/b")
	f.Add("arn:aws-:iam::1:role/")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isRoleARN(s), roleARNRE.MatchString(s); got != want {
			t.Fatalf("isRoleARN(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := IsSessionName(s), sessionNameRE.MatchString(s); got != want {
			t.Fatalf("IsSessionName(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
