// Package azureconfig reads the Azure cloud provider configuration file (azure.json,
// JSON or YAML) and the clouds it can name: the three public sovereign clouds and a
// custom (Azure Stack style) cloud described by an environment file.
//
// Only the fields that decide how to authenticate to Azure Container Registry are
// read; the many others an azure.json carries (subscription, resource group, load
// balancer settings, ...) are ignored.
package azureconfig

import (
	"fmt"
	"io"
	"os"

	"github.com/imagecred/image-credential-provider/internal/strictyaml"

	"github.com/imagecred/image-credential-provider/internal/textfile"
)

// File is the part of azure.json that matters for registry credentials.
type File struct {
	// Cloud names the cloud: AzurePublicCloud, AzureChinaCloud,
	// AzureUSGovernmentCloud, AzureStackCloud (with an environment file) ...
	Cloud    string `json:"cloud,omitempty"`
	TenantID string `json:"tenantId,omitempty"`

	AADClientID           string `json:"aadClientId,omitempty"`
	AADClientSecret       string `json:"aadClientSecret,omitempty"` // secret
	AADClientCertPath     string `json:"aadClientCertPath,omitempty"`
	AADClientCertPassword string `json:"aadClientCertPassword,omitempty"` // secret

	UseManagedIdentityExtension bool `json:"useManagedIdentityExtension,omitempty"`
	// UserAssignedIdentityID is a user-assigned identity's client id, or its resource
	// id (/subscriptions/.../userAssignedIdentities/NAME).
	UserAssignedIdentityID string `json:"userAssignedIdentityID,omitempty"`

	AADFederatedTokenFile                 string `json:"aadFederatedTokenFile,omitempty"`
	UseFederatedWorkloadIdentityExtension bool   `json:"useFederatedWorkloadIdentityExtension,omitempty"`

	// ResourceManagerEndpoint makes acr-credential-provider download cloud metadata on every run;
	// it is read so it can be reported, not fetched.
	ResourceManagerEndpoint string `json:"resourceManagerEndpoint,omitempty"`
	// IdentitySystem "adfs" is not supported for registry credentials.
	IdentitySystem string `json:"identitySystem,omitempty"`
}

// maxFile bounds the size of the files read here.
const maxFile = 1 << 20

// Load reads and parses an azure.json file. An error about its content is
// "path:line:column: field: what is wrong, what is allowed", without the file's values.
func Load(path string) (File, error) {
	data, err := readSmall(path)
	if err != nil {
		return File{}, err
	}
	f, err := Parse(data)
	if err != nil {
		return File{}, fmt.Errorf("%s:%w", path, err)
	}
	return f, nil
}

// Parse decodes azure.json content, JSON or YAML, ignoring the fields that are not
// about registry credentials. Errors start with "line:column: " and never quote the
// content (it holds secrets).
func Parse(data []byte) (File, error) {
	var f File
	if _, err := strictyaml.Decode(data, &f, strictyaml.Options{IgnoreUnknown: true, HideValues: true}); err != nil {
		return File{}, err
	}
	return f, nil
}

func readSmall(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFile)
	}
	return textfile.StripBOM(data), nil
}
