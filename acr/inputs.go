package acr

import "github.com/imagecred/image-credential-provider/acr/azureconfig"

// InputFiles lists the local files the ACR backend's answers depend on, present or
// not: azure.json (Config.AzureConfig) and the certificate it names, the custom cloud's
// environment file (Config.EnvironmentFile, else AZURE_ENVIRONMENT_FILEPATH), and the
// workload identity token and client certificate files the environment names
// (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_CERTIFICATE_PATH). getenv reads the
// environment.
func (c Config) InputFiles(getenv func(string) string) []string {
	var files []string
	if c.AzureConfig != "" {
		files = append(files, c.AzureConfig)
		if f, err := azureconfig.Load(c.AzureConfig); err == nil && f.AADClientCertPath != "" {
			files = append(files, f.AADClientCertPath)
		}
	}
	env := c.EnvironmentFile
	if env == "" {
		env = getenv("AZURE_ENVIRONMENT_FILEPATH")
	}
	for _, f := range []string{env, getenv("AZURE_FEDERATED_TOKEN_FILE"), getenv("AZURE_CLIENT_CERTIFICATE_PATH")} {
		if f != "" {
			files = append(files, f)
		}
	}
	return files
}
