package ecr

import "path/filepath"

// InputFiles lists the local files the ECR backend's answers depend on, present or
// not: the SDK's shared config and credentials files (AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials), and the
// token files the SDK reads when the environment names them (web identity, container
// credentials). getenv reads the environment; home is the user's home directory.
func (c Config) InputFiles(getenv func(string) string, home string) []string {
	or := func(env, def string) string {
		if v := getenv(env); v != "" {
			return v
		}
		if home == "" {
			return ""
		}
		return def
	}
	files := []string{
		or("AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config")),
		or("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials")),
	}
	for _, env := range []string{"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"} {
		if v := getenv(env); v != "" {
			files = append(files, v)
		}
	}
	return files
}
