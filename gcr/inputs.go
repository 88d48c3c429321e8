package gcr

import (
	"encoding/json"
	"os"
	"slices"

	"github.com/imagecred/image-credential-provider/internal/textfile"
)

// InputFiles lists the local files the Google backend's answers depend on, present or
// not: the credentials file of the keyfile source (Config.KeyFile, else
// GOOGLE_APPLICATION_CREDENTIALS) and, for a workload identity federation file
// (external_account), the subject token file it names. getenv reads the environment.
func (c Config) InputFiles(getenv func(string) string) []string {
	sources := c.Sources
	if len(sources) == 0 {
		sources = DefaultSources
	}
	if !slices.Contains(sources, SourceKeyFile) {
		return nil
	}
	key := c.KeyFile
	if key == "" {
		key = getenv("GOOGLE_APPLICATION_CREDENTIALS")
	}
	if key == "" {
		return nil
	}
	files := []string{key}
	if data, err := os.ReadFile(key); err == nil {
		var f struct {
			CredentialSource struct {
				File string `json:"file"`
			} `json:"credential_source"`
		}
		if json.Unmarshal(textfile.StripBOM(data), &f) == nil && f.CredentialSource.File != "" {
			files = append(files, f.CredentialSource.File)
		}
	}
	return files
}
