// Package ecrhost recognises Amazon ECR registry hosts from the host name alone: no
// DNS, no network, no AWS SDK. It runs on every plugin invocation, cache hits
// included, so it is a handful of string operations.
//
// Private registries are "<account>.<service>.<region>.<suffix>" where account is 12
// digits, the service label says the endpoint
//
//	dkr.ecr        IPv4 endpoint
//	dkr-ecr        dual-stack (IPv4 and IPv6) endpoint
//	dkr.ecr-fips   FIPS endpoint
//	dkr-ecr-fips   dual-stack FIPS endpoint
//
// and the suffix names the partition; each suffix has its own service labels:
//
//	amazonaws.com                dkr.ecr, dkr.ecr-fips, dkr-ecr   commercial and GovCloud (us-gov-*)
//	on.aws                       dkr-ecr, dkr-ecr-fips, dkr.ecr   commercial and GovCloud, dual-stack
//	amazonaws.com.cn             dkr.ecr                          China (cn-*)
//	on.amazonwebservices.com.cn  dkr-ecr                          China, dual-stack
//	amazonaws.eu                 dkr.ecr                          European Sovereign Cloud (eusc-*)
//	c2s.ic.gov                   dkr.ecr                          ISO (us-iso-*)
//	sc2s.sgov.gov                dkr.ecr                          ISO-B (us-isob-*)
//	cloud.adc-e.uk               dkr.ecr                          ISO-E (eu-isoe-*)
//	csp.hci.ic.gov               dkr.ecr                          ISO-F (us-isof-*)
//
// MatchImages lists exactly these forms as kubelet matchImages patterns.
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

import (
	"slices"
	"strings"
)

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

// partitionSuffix is one DNS suffix of private registries, the region names it serves
// and the service labels hosts under it carry. Parse accepts exactly these
// service/suffix pairs and MatchImages lists exactly them, so the two cannot disagree.
type partitionSuffix struct {
	suffix    string
	dualStack bool
	// prefixes lists the region prefixes (with trailing '-') of this suffix; nil
	// means every region not claimed by another suffix's prefixes (commercial).
	prefixes []string
	// services are the service labels of hosts under this suffix: dkr.ecr (IPv4),
	// dkr-ecr (dual-stack), with -fips for the FIPS endpoints.
	services []string
}

var suffixes = []partitionSuffix{
	// dkr-ecr under amazonaws.com and dkr.ecr under on.aws are accepted as the EKS
	// plugin accepts them (both mean the dual-stack endpoint).
	{suffix: "amazonaws.com", services: []string{"dkr.ecr", "dkr.ecr-fips", "dkr-ecr"}},
	{suffix: "on.aws", dualStack: true, services: []string{"dkr-ecr", "dkr-ecr-fips", "dkr.ecr"}},
	{suffix: "amazonaws.com.cn", prefixes: []string{"cn-"}, services: []string{"dkr.ecr"}},
	{suffix: "on.amazonwebservices.com.cn", dualStack: true, prefixes: []string{"cn-"}, services: []string{"dkr-ecr"}},
	{suffix: "amazonaws.eu", prefixes: []string{"eusc-"}, services: []string{"dkr.ecr"}},
	{suffix: "c2s.ic.gov", prefixes: []string{"us-iso-"}, services: []string{"dkr.ecr"}},
	{suffix: "sc2s.sgov.gov", prefixes: []string{"us-isob-"}, services: []string{"dkr.ecr"}},
	{suffix: "cloud.adc-e.uk", prefixes: []string{"eu-isoe-"}, services: []string{"dkr.ecr"}},
	{suffix: "csp.hci.ic.gov", prefixes: []string{"us-isof-"}, services: []string{"dkr.ecr"}},
}

// publicHosts are ECR Public's hosts; the second is dual-stack.
var publicHosts = [...]string{"public.ecr.aws", "ecr-public.aws.com"}

// Parse reports whether host (as an image names it, possibly with a port) is an ECR
// registry host, and what it says. Letters are compared case-insensitively; a
// trailing dot, a port, userinfo or anything that is not a plain DNS name is refused.
func Parse(host string) (Registry, bool) {
	if len(host) == 0 || len(host) > 253 {
		return Registry{}, false
	}
	h := strings.ToLower(host)
	switch h {
	case publicHosts[0]:
		return Registry{Public: true, Region: PublicRegion, Suffix: h}, true
	case publicHosts[1]:
		return Registry{Public: true, Region: PublicRegion, Suffix: h, DualStack: true}, true
	}
	// account . service . region . suffix, where service is one or two labels.
	account, rest, ok := strings.Cut(h, ".")
	if !ok || !isAccount(account) {
		return Registry{}, false
	}
	service, rest, ok := strings.Cut(rest, ".")
	if ok && service == "dkr" {
		var second string
		second, rest, ok = strings.Cut(rest, ".")
		service += "." + second
	}
	if !ok {
		return Registry{}, false
	}
	region, suffix, ok := strings.Cut(rest, ".")
	if !ok || !isRegion(region) {
		return Registry{}, false
	}
	ps, ok := lookupSuffix(suffix)
	if !ok || !slices.Contains(ps.services, service) || !ps.serves(region) {
		return Registry{}, false
	}
	r := Registry{
		FIPS:      strings.HasSuffix(service, "-fips"),
		DualStack: ps.dualStack || strings.HasPrefix(service, "dkr-ecr"),
	}
	r.Account, r.Region, r.Suffix = account, region, ps.suffix
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

// MatchImages returns kubelet CredentialProviderConfig matchImages patterns that send
// every ECR host Parse accepts to the plugin, and nothing but hosts of those forms: one
// "*.<service>.*.<suffix>" per service label and partition suffix, then ECR Public's
// hosts. The kubelet's '*' matches within one DNS label, so "*.dkr.ecr.*.amazonaws.com"
// alone misses the FIPS, dual-stack, China, EUSC and ISO hosts, and the kubelet never
// asks the plugin for them. Letters are lower case (the kubelet compares them as they
// are) and no pattern has a port (Parse refuses ports).
func MatchImages() []string {
	var out []string
	for _, ps := range suffixes {
		for _, svc := range ps.services {
			out = append(out, "*."+svc+".*."+ps.suffix)
		}
	}
	return append(out, publicHosts[:]...)
}
