// Package ecrhost recognises Amazon ECR registry hosts from the host name alone: no
// DNS, no network, no AWS SDK. It runs on every plugin invocation, cache hits
// included, so it is a handful of string operations.
//
// Private registries are "<account>.dkr.ecr.<region>.<suffix>" where account is 12
// digits, the service label is one of
//
//	dkr.ecr        IPv4 endpoint
//	dkr-ecr        dual-stack (IPv4 and IPv6) endpoint
//	dkr.ecr-fips   FIPS endpoint
//	dkr-ecr-fips   dual-stack FIPS endpoint
//
// and the suffix names the partition:
//
//	amazonaws.com                commercial and GovCloud (us-gov-*)
//	on.aws                       commercial and GovCloud, dual-stack
//	amazonaws.com.cn             China (cn-*)
//	on.amazonwebservices.com.cn  China, dual-stack
//	amazonaws.eu                 European Sovereign Cloud (eusc-*)
//	c2s.ic.gov                   ISO (us-iso-*)
//	sc2s.sgov.gov                ISO-B (us-isob-*)
//	cloud.adc-e.uk               ISO-E (eu-isoe-*)
//	csp.hci.ic.gov               ISO-F (us-isof-*)
//
// A region that belongs to another partition's suffix is not ECR
// ("1….dkr.ecr.cn-north-1.amazonaws.com" is refused). ECR Public is
// "public.ecr.aws" (IPv4) and "ecr-public.aws.com" (its dual-stack host), whose API
// lives in us-east-1.
//
// Anything else, including any host with a port, is not ECR: real ECR registries are
// served on 443 only, so "<account>.dkr.ecr.<region>.amazonaws.com:5000" is some other
// registry that borrowed the name. A registry behind a custom domain (a CNAME) or a
// port is ECR only through the plugin's explicit host mapping.
package ecrhost

import "strings"

// PublicRegion is the region of the ECR Public API, whatever the image host.
const PublicRegion = "us-east-1"

// Registry is what an ECR host says about its registry.
type Registry struct {
	// Public is true for ECR Public (public.ecr.aws, ecr-public.aws.com); Account is
	// then empty and Region is PublicRegion.
	Public bool
	// Account is the 12-digit AWS account id of a private registry.
	Account string
	// Region is the AWS region ("eu-west-1", "cn-north-1", "us-gov-west-1").
	Region string
	// FIPS is true when the host is a FIPS endpoint (the ECR API call must go to the
	// FIPS endpoint too).
	FIPS bool
	// DualStack is true when the host is a dual-stack endpoint (dkr-ecr, on.aws,
	// on.amazonwebservices.com.cn, and ECR Public's ecr-public.aws.com).
	DualStack bool
	// Suffix is the DNS suffix of the host ("amazonaws.com", "on.aws", ...).
	Suffix string
}

// partitionSuffix is one DNS suffix of private registries and the region names it
// serves.
type partitionSuffix struct {
	suffix    string
	dualStack bool
	// prefixes lists the region prefixes (with trailing '-') of this suffix; nil
	// means every region not claimed by another suffix's prefixes (commercial).
	prefixes []string
}

var suffixes = []partitionSuffix{
	{suffix: "amazonaws.com"},
	{suffix: "on.aws", dualStack: true},
	{suffix: "amazonaws.com.cn", prefixes: []string{"cn-"}},
	{suffix: "on.amazonwebservices.com.cn", dualStack: true, prefixes: []string{"cn-"}},
	{suffix: "amazonaws.eu", prefixes: []string{"eusc-"}},
	{suffix: "c2s.ic.gov", prefixes: []string{"us-iso-"}},
	{suffix: "sc2s.sgov.gov", prefixes: []string{"us-isob-"}},
	{suffix: "cloud.adc-e.uk", prefixes: []string{"eu-isoe-"}},
	{suffix: "csp.hci.ic.gov", prefixes: []string{"us-isof-"}},
}

// Parse reports whether host (as an image names it, possibly with a port) is an ECR
// registry host, and what it says. Letters are compared case-insensitively; a
// trailing dot, a port, userinfo or anything that is not a plain DNS name is refused.
func Parse(host string) (Registry, bool) {
	if len(host) == 0 || len(host) > 253 {
		return Registry{}, false
	}
	h := strings.ToLower(host)
	switch h {
	case "public.ecr.aws":
		return Registry{Public: true, Region: PublicRegion, Suffix: h}, true
	case "ecr-public.aws.com":
		return Registry{Public: true, Region: PublicRegion, Suffix: h, DualStack: true}, true
	}
	// account . service . region . suffix
	account, rest, ok := strings.Cut(h, ".")
	if !ok || !isAccount(account) {
		return Registry{}, false
	}
	var r Registry
	switch {
	case strings.HasPrefix(rest, "dkr.ecr-fips."):
		r.FIPS, rest = true, rest[len("dkr.ecr-fips."):]
	case strings.HasPrefix(rest, "dkr.ecr."):
		rest = rest[len("dkr.ecr."):]
	case strings.HasPrefix(rest, "dkr-ecr-fips."):
		r.FIPS, r.DualStack, rest = true, true, rest[len("dkr-ecr-fips."):]
	case strings.HasPrefix(rest, "dkr-ecr."):
		r.DualStack, rest = true, rest[len("dkr-ecr."):]
	default:
		return Registry{}, false
	}
	region, suffix, ok := strings.Cut(rest, ".")
	if !ok || !isRegion(region) {
		return Registry{}, false
	}
	ps, ok := lookupSuffix(suffix)
	if !ok || !ps.serves(region) {
		return Registry{}, false
	}
	r.Account, r.Region, r.Suffix = account, region, ps.suffix
	r.DualStack = r.DualStack || ps.dualStack
	return r, true
}

// IsECR reports whether host is an ECR registry host (see Parse).
func IsECR(host string) bool {
	_, ok := Parse(host)
	return ok
}

func lookupSuffix(s string) (partitionSuffix, bool) {
	for _, ps := range suffixes {
		if ps.suffix == s {
			return ps, true
		}
	}
	return partitionSuffix{}, false
}

func (ps partitionSuffix) serves(region string) bool {
	if ps.prefixes != nil {
		for _, p := range ps.prefixes {
			if strings.HasPrefix(region, p) && isRegionOf(region, p) {
				return true
			}
		}
		return false
	}
	// Commercial suffixes serve every region no other suffix claims.
	for _, other := range suffixes {
		for _, p := range other.prefixes {
			if isRegionOf(region, p) {
				return false
			}
		}
	}
	return true
}

// isRegionOf reports whether region has the partition prefix p ("us-iso-") as a
// whole: "us-iso-east-1" is of "us-iso-", "us-isob-east-1" is not.
func isRegionOf(region, p string) bool {
	if !strings.HasPrefix(region, p) {
		return false
	}
	// The region name after the prefix must itself be "<name>-<digits>".
	rest := region[len(p):]
	i := strings.LastIndexByte(rest, '-')
	return i > 0 && allDigits(rest[i+1:])
}

func isAccount(s string) bool { return len(s) == 12 && allDigits(s) }

// isRegion accepts AWS region names: lower-case letters and digits in two or more
// dash-separated words, the first all letters, the last all digits
// ("us-east-1", "us-gov-west-1", "eusc-de-east-1", "us-isob-east-1").
func isRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 {
		return false
	}
	words := strings.Split(s, "-")
	if len(words) < 3 {
		return false
	}
	for i, w := range words {
		if w == "" {
			return false
		}
		for _, c := range w {
			letter := c >= 'a' && c <= 'z'
			digit := c >= '0' && c <= '9'
			switch {
			case i == 0 && !letter:
				return false
			case i == len(words)-1 && !digit:
				return false
			case !letter && !digit:
				return false
			}
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MatchImages are kubelet CredentialProviderConfig matchImages patterns that send
// every documented ECR host family to the plugin. The kubelet's '*' matches within one
// DNS label, so "*.dkr.ecr.*.amazonaws.com" alone misses the FIPS, dual-stack, China,
// EUSC and ISO hosts, and the kubelet never asks the plugin for them.
var MatchImages = []string{
	"*.dkr.ecr.*.amazonaws.com",
	"*.dkr.ecr-fips.*.amazonaws.com",
	"*.dkr-ecr.*.on.aws",
	"*.dkr-ecr-fips.*.on.aws",
	"*.dkr.ecr.*.amazonaws.com.cn",
	"*.dkr-ecr.*.on.amazonwebservices.com.cn",
	"*.dkr.ecr.*.amazonaws.eu",
	"*.dkr.ecr.*.c2s.ic.gov",
	"*.dkr.ecr.*.sc2s.sgov.gov",
	"*.dkr.ecr.*.cloud.adc-e.uk",
	"*.dkr.ecr.*.csp.hci.ic.gov",
	"public.ecr.aws",
	"ecr-public.aws.com",
}
