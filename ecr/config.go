package ecr

import (
	"flag"
	"fmt"
	"strings"

	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
)

// Name is the backend's name in errors, logs and cache keys.
const Name = "ecr"

// RoleAnnotation is the service account annotation naming the role to assume with the
// pod's service account token (the name the EKS plugin uses for it).
const RoleAnnotation = "eks.amazonaws.com/ecr-role-arn"

// RoleEnv is the environment variable with the default role for service-account
// requests (the EKS plugin reads it too).
const RoleEnv = "AWS_ECR_ROLE_ARN"

// DefaultSessionName names sessions of Config.RoleARN, and web identity sessions
// whose service account is unknown.
const DefaultSessionName = "image-credential-provider"

// Config is the `ecr:` section of the plugin's configuration file. The zero value
// works: the SDK's default credential chain, no role, ecr-credential-provider's service-account
// behaviour (annotation, else $AWS_ECR_ROLE_ARN, else node credentials).
type Config struct {
	// Profile is the shared config/credentials profile to use (default: $AWS_PROFILE,
	// else "default").
	Profile string `json:"profile,omitempty"`
	// RoleARN is a role assumed (sts:AssumeRole) with the node's credentials before
	// every ECR call, e.g. a cross-account puller role. Service-account requests with a
	// role of their own do not use it.
	RoleARN string `json:"roleARN,omitempty"`
	// ExternalID is the external id RoleARN's trust policy asks for, if any.
	ExternalID string `json:"externalID,omitempty"`
	// RoleSessionName names the RoleARN session (default "image-credential-provider").
	RoleSessionName string `json:"roleSessionName,omitempty"`
	// ServiceAccountRoleARN is the role assumed with a pod's service account token
	// (sts:AssumeRoleWithWebIdentity) when the service account has no
	// eks.amazonaws.com/ecr-role-arn annotation. Default: $AWS_ECR_ROLE_ARN.
	ServiceAccountRoleARN string `json:"serviceAccountRoleARN,omitempty"`
	// RequireServiceAccountRole makes a service-account request without any role (no
	// annotation, no ServiceAccountRoleARN) an error instead of using the node's
	// credentials.
	RequireServiceAccountRole bool `json:"requireServiceAccountRole,omitempty"`
	// Registries maps custom registry hosts (a CNAME or proxy in front of an ECR
	// registry, or an ECR host with a port) to the ECR registry they serve. Only these
	// hosts, besides real ECR hosts, ever get an ECR token.
	Registries []Registry `json:"registries,omitempty"`
}

// Registry maps one custom host to an ECR registry.
type Registry struct {
	// Host is the registry host as images name it, with the port if they carry one
	// ("registry.example.com", "ecr-proxy.internal:5000").
	Host string `json:"host"`
	// Account is the registry's 12-digit AWS account id (optional; recorded in the
	// cache identity and logs).
	Account string `json:"account,omitempty"`
	// Region is the registry's region; it picks the API endpoint and partition.
	Region string `json:"region"`
	// FIPS sends the GetAuthorizationToken call to the region's FIPS endpoint.
	FIPS bool `json:"fips,omitempty"`
	// DualStack sends it to the region's dual-stack endpoint.
	DualStack bool `json:"dualStack,omitempty"`
}

// AddFlags registers the backend's command-line flags.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Profile, "ecr-profile", c.Profile, "AWS shared config profile for ECR credentials (default $AWS_PROFILE)")
	fs.StringVar(&c.RoleARN, "ecr-role-arn", c.RoleARN, "IAM role to assume with the node's AWS credentials before asking ECR for a token")
	fs.StringVar(&c.ExternalID, "ecr-external-id", c.ExternalID, "external id for -ecr-role-arn")
	fs.StringVar(&c.ServiceAccountRoleARN, "ecr-sa-role-arn", c.ServiceAccountRoleARN, "role for service-account-token requests whose service account has no eks.amazonaws.com/ecr-role-arn annotation (default $AWS_ECR_ROLE_ARN)")
	fs.BoolVar(&c.RequireServiceAccountRole, "ecr-require-sa-role", c.RequireServiceAccountRole, "refuse service-account-token requests that have no role instead of using the node's credentials")
}

// isRoleARN accepts IAM role ARNs of every partition:
// arn:<partition>:iam::<12 digits>:role/<path and name>. It is hand-written rather
// than a regexp: the plugin starts for every pull, and compiling a pattern with a
// {1,512} repetition at init cost more than a millisecond.
func isRoleARN(s string) bool {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return false
	}
	partition, rest, ok := strings.Cut(rest, ":")
	if !ok || !isPartition(partition) {
		return false
	}
	rest, ok = strings.CutPrefix(rest, "iam::")
	if !ok || len(rest) < 12 || !isAccount(rest[:12]) {
		return false
	}
	name, ok := strings.CutPrefix(rest[12:], ":role/")
	return ok && len(name) >= 1 && len(name) <= 512 && allIn(name, "+=,.@_-/")
}

// isPartition accepts "aws" and "aws-<word>[-<word>...]" (aws-cn, aws-us-gov, aws-iso-b).
func isPartition(p string) bool {
	words := strings.Split(p, "-")
	if words[0] != "aws" {
		return false
	}
	for _, w := range words[1:] {
		if w == "" || !allIn(w, "") {
			return false
		}
	}
	return true
}

// IsSessionName reports whether s is a valid STS RoleSessionName: [\w+=,.@-]{2,64}.
func IsSessionName(s string) bool { return len(s) >= 2 && len(s) <= 64 && allIn(s, "+=,.@_-") }

// allIn reports whether s has only ASCII letters, digits and bytes of extra.
func allIn(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// ValidateRoleARN checks that arn, when set, is an IAM role ARN; what names the
// setting in the error.
func ValidateRoleARN(what, arn string) error {
	if arn != "" && !isRoleARN(arn) {
		return fmt.Errorf("%s %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", what, arn)
	}
	return nil
}

// Validate checks the configuration without any I/O: role ARNs, session name,
// external id and registry mappings. $AWS_ECR_ROLE_ARN is checked when the backend
// that reads it is built.
func (c Config) Validate() error {
	_, err := c.mappings()
	return err
}

// mappings validates c and returns its registry mappings by lower-case host[:port].
func (c Config) mappings() (map[string]ecrhost.Registry, error) {
	if err := ValidateRoleARN("roleARN", c.RoleARN); err != nil {
		return nil, fmt.Errorf("ecr: %w", err)
	}
	if c.RoleSessionName != "" && !IsSessionName(c.RoleSessionName) {
		return nil, fmt.Errorf("ecr: roleSessionName %q: want 2-64 characters of letters, digits and +=,.@_-", c.RoleSessionName)
	}
	if c.ExternalID != "" && c.RoleARN == "" {
		return nil, fmt.Errorf("ecr: externalID is set but roleARN is not")
	}
	if err := ValidateRoleARN("serviceAccountRoleARN", c.ServiceAccountRoleARN); err != nil {
		return nil, fmt.Errorf("ecr: %w", err)
	}
	out := make(map[string]ecrhost.Registry, len(c.Registries))
	for _, r := range c.Registries {
		host, reg, err := r.validate()
		if err != nil {
			return nil, fmt.Errorf("ecr: %w", err)
		}
		if _, dup := out[host]; dup {
			return nil, fmt.Errorf("ecr: registries: host %q is mapped twice", r.Host)
		}
		out[host] = reg
	}
	return out, nil
}

// validate checks one mapping and returns its lower-case host[:port] and registry.
func (r Registry) validate() (string, ecrhost.Registry, error) {
	host := strings.ToLower(strings.TrimSpace(r.Host))
	if !isHostPort(host) {
		return "", ecrhost.Registry{}, fmt.Errorf("registries: host %q: want host or host:port", r.Host)
	}
	if ecrhost.IsECR(host) {
		return "", ecrhost.Registry{}, fmt.Errorf("registries: host %q is an ECR host already; map only custom hosts", r.Host)
	}
	if r.Account != "" && !isAccount(r.Account) {
		return "", ecrhost.Registry{}, fmt.Errorf("registries: host %q: account %q is not a 12-digit AWS account id", r.Host, r.Account)
	}
	// Let the host parser validate the region: it knows the partitions.
	account := r.Account
	if account == "" {
		account = "000000000000"
	}
	reg, ok := ecrhost.Parse(account + ".dkr.ecr." + r.Region + "." + suffixForRegion(r.Region))
	if !ok {
		return "", ecrhost.Registry{}, fmt.Errorf("registries: host %q: %q is not an AWS region", r.Host, r.Region)
	}
	reg.Account = r.Account
	reg.FIPS, reg.DualStack = r.FIPS, r.DualStack
	return host, reg, nil
}

// isHostPort accepts what the kubelet can match a matchImages pattern against: a host
// name of 1-63 byte labels of letters, digits, '-' and '_', with an optional port
// 1-65535 (no IPv6 literal, no glob or URL metacharacter).
func isHostPort(s string) bool {
	name, port, hasPort := strings.Cut(s, ":")
	if hasPort && !isPort(port) {
		return false
	}
	if name == "" || len(name) > 253 {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if len(l) == 0 || len(l) > 63 || !allIn(l, "-_") {
			return false
		}
	}
	return true
}

// isPort accepts 1-65535 without leading zeros.
func isPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// suffixForRegion is the registry DNS suffix of region's partition.
func suffixForRegion(region string) string {
	for _, p := range []struct{ prefix, suffix string }{
		{"cn-", "amazonaws.com.cn"},
		{"eusc-", "amazonaws.eu"},
		{"us-isob-", "sc2s.sgov.gov"},
		{"us-isof-", "csp.hci.ic.gov"},
		{"us-iso-", "c2s.ic.gov"},
		{"eu-isoe-", "cloud.adc-e.uk"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.suffix
		}
	}
	return "amazonaws.com"
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
