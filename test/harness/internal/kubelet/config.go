package kubelet

import (
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"
)

// ProviderConfig is what the session reports about one configured provider. The kubelet
// code reads and validates the config itself; this lenient read only names providers.
type ProviderConfig struct {
	Name                 string           `json:"name"`
	APIVersion           string           `json:"apiVersion"`
	MatchImages          []string         `json:"matchImages"`
	DefaultCacheDuration string           `json:"defaultCacheDuration,omitempty"`
	TokenAttributes      *TokenAttributes `json:"tokenAttributes,omitempty"`
}

// TokenAttributes mirrors the config's tokenAttributes (service-account-token mode).
type TokenAttributes struct {
	ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
	CacheType                            string   `json:"cacheType"`
	RequireServiceAccount                *bool    `json:"requireServiceAccount"`
	RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys,omitempty"`
	OptionalServiceAccountAnnotationKeys []string `json:"optionalServiceAccountAnnotationKeys,omitempty"`
}

// ReadProviderConfig reads the providers of a CredentialProviderConfig file, or of the
// *.json, *.yaml and *.yml files of a directory in lexicographic order.
func ReadProviderConfig(path string) ([]ProviderConfig, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if fi.IsDir() {
		files = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".json", ".yaml", ".yml":
				if !e.IsDir() {
					files = append(files, filepath.Join(path, e.Name()))
				}
			}
		}
		sort.Strings(files)
	}
	var out []ProviderConfig
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return out, err
		}
		var doc struct {
			Providers []ProviderConfig `json:"providers"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return out, err
		}
		out = append(out, doc.Providers...)
	}
	return out, nil
}
