// Package kubeletconfig reads, checks and writes the kubelet's CredentialProviderConfig
// (the file or directory named by --image-credential-provider-config) as the kubelet
// itself does (k8s.io/kubernetes v1.37 pkg/credentialprovider/plugin):
//
//   - Read takes a file, or a directory whose *.json, *.yaml and *.yml files are read
//     in lexicographic order; Decode reads one file strictly, with the kubelet's field
//     names compared case-sensitively, no unknown field and no key given twice, in
//     apiVersion kubelet.config.k8s.io/v1, v1beta1 or v1alpha1 (tokenAttributes only
//     in v1);
//   - Validate applies the kubelet's rules (names, apiVersions, matchImages syntax,
//     defaultCacheDuration, tokenAttributes) and names each error's file and field
//     path (providers[1].matchImages[0]);
//   - Encode writes a file the kubelet reads back to the same values; Merge puts one
//     provider in place among the others; Edit does so in an existing YAML file's
//     text, keeping every byte of it that is not that provider's entry.
//
// The file is accepted or refused exactly as the kubelet accepts or refuses it: the
// types mirror k8s.io/kubelet/config/v1 field for field and the tests check both
// against the kubelet's own code. They are mirrored rather than imported so that the
// binaries, which the kubelet runs for every pull, need not initialize the Kubernetes
// API machinery.
package kubeletconfig

import (
	"github.com/imagecred/image-credential-provider/internal/duration"
)

// The group, kind and versions of the file.
const (
	Group    = "kubelet.config.k8s.io"
	Kind     = "CredentialProviderConfig"
	V1       = Group + "/v1"
	V1beta1  = Group + "/v1beta1"
	V1alpha1 = Group + "/v1alpha1"
)

// The request apiVersions a provider may name.
const (
	RequestV1       = "credentialprovider.kubelet.k8s.io/v1"
	RequestV1beta1  = "credentialprovider.kubelet.k8s.io/v1beta1"
	RequestV1alpha1 = "credentialprovider.kubelet.k8s.io/v1alpha1"
)

// RequestVersions lists the request apiVersions the kubelet speaks, newest first.
func RequestVersions() []string { return []string{RequestV1, RequestV1beta1, RequestV1alpha1} }

// The service account token cache types.
const (
	CacheTypeServiceAccount = "ServiceAccount"
	CacheTypeToken          = "Token"
)

// Config is one CredentialProviderConfig, in version v1's terms whatever version it was
// read in.
type Config struct {
	APIVersion string     `json:"apiVersion,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	Providers  []Provider `json:"providers"`
}

// Provider is one exec plugin the kubelet runs, as v1's CredentialProvider.
type Provider struct {
	Name                 string             `json:"name"`
	MatchImages          []string           `json:"matchImages"`
	DefaultCacheDuration *duration.Duration `json:"defaultCacheDuration"`
	APIVersion           string             `json:"apiVersion"`
	Args                 []string           `json:"args,omitempty"`
	Env                  []EnvVar           `json:"env,omitempty"`
	TokenAttributes      *TokenAttributes   `json:"tokenAttributes,omitempty"`
}

// EnvVar is one environment variable the kubelet sets for the plugin.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TokenAttributes configures the service account token the kubelet passes on (v1 only).
type TokenAttributes struct {
	ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
	CacheType                            string   `json:"cacheType"`
	RequireServiceAccount                *bool    `json:"requireServiceAccount"`
	RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys,omitempty"`
	OptionalServiceAccountAnnotationKeys []string `json:"optionalServiceAccountAnnotationKeys,omitempty"`
}

// Provider returns the provider called name, or nil.
func (c *Config) Provider(name string) *Provider {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i]
		}
	}
	return nil
}

// Merge returns c with p in place: the provider of the same name replaced where it
// stands, or p added last when there is none. Every other provider is kept as it is,
// in its place. The result is in apiVersion v1; c is not changed.
func Merge(c *Config, p Provider) (merged *Config, replaced bool) {
	out := &Config{APIVersion: V1, Kind: Kind}
	if c != nil {
		out.Providers = append(out.Providers, c.Providers...)
	}
	for i := range out.Providers {
		if out.Providers[i].Name == p.Name {
			out.Providers[i] = p
			return out, true
		}
	}
	out.Providers = append(out.Providers, p)
	return out, false
}
