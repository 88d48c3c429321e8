package acr

import (
	"flag"
	"fmt"
	"strings"
)

// Name is the backend's name in errors, logs and cache keys.
const Name = "acr"

// The service account annotations that select a workload's identity in
// service-account-token mode: the client id of the application whose federated
// credential trusts the pod's token, and its tenant.
const (
	ClientIDAnnotation = "kubernetes.azure.com/acr-client-id"
	TenantIDAnnotation = "kubernetes.azure.com/acr-tenant-id"
)

// Config is the `acr:` section of the plugin's configuration file.
type Config struct {
	// AzureConfig is the path of the node's azure.json (JSON or YAML). Empty: the
	// identity comes from the environment (AZURE_* variables) or, failing that, the
	// node's system-assigned managed identity.
	AzureConfig string `json:"azureConfig,omitempty"`
	// Cloud overrides azure.json's cloud: AzurePublicCloud (default), AzureChinaCloud,
	// AzureUSGovernmentCloud, or AzureStackCloud for a custom cloud described by
	// EnvironmentFile.
	Cloud string `json:"cloud,omitempty"`
	// EnvironmentFile describes a custom cloud (the Azure Stack environment JSON:
	// activeDirectoryEndpoint, containerRegistryDNSSuffix). Default for
	// AzureStackCloud: $AZURE_ENVIRONMENT_FILEPATH.
	EnvironmentFile string `json:"environmentFile,omitempty"`
	// Audience overrides the AAD audience of ACR tokens
	// (default https://containerregistry.azure.net).
	Audience string `json:"audience,omitempty"`
	// RegistrySuffixes adds login server suffixes ("azurecr.example.internal") to
	// azurecr.io/.cn/.us/.de and the cloud's own.
	RegistrySuffixes []string `json:"registrySuffixes,omitempty"`
	// RegistryMirror is acr-credential-provider's --registry-mirror form: "src:dst[,src:dst]"
	// (hosts without ports), e.g. "mcr.microsoft.com:myacr.azurecr.io".
	RegistryMirror string `json:"registryMirror,omitempty"`
	// Mirrors are mirror mappings that may carry ports.
	Mirrors []Mirror `json:"mirrors,omitempty"`
	// DisableInstanceDiscovery skips Microsoft Entra instance discovery even for the
	// public clouds' authorities (it is always skipped for other authorities).
	DisableInstanceDiscovery bool `json:"disableInstanceDiscovery,omitempty"`
	// NodeIdentityFallback: in service-account-token mode, a service account without
	// the kubernetes.azure.com/acr-client-id annotation gets the node identity's
	// credentials instead of an error.
	NodeIdentityFallback bool `json:"nodeIdentityFallback,omitempty"`
}

// Mirror sends pulls of images on Source to the ACR registry Target: credentials for
// Target are returned under both hosts.
type Mirror struct {
	// Source is the registry host[:port] images name (e.g. mcr.microsoft.com).
	Source string `json:"source"`
	// Target is the ACR login server host[:port] that serves them.
	Target string `json:"target"`
}

// AddFlags registers the backend's command-line flags.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.AzureConfig, "acr-azure-config", c.AzureConfig, "path of the node's azure.json for Azure Container Registry credentials")
	fs.StringVar(&c.AzureConfig, "azure-config", c.AzureConfig, "same as -acr-azure-config")
	fs.StringVar(&c.RegistryMirror, "acr-registry-mirror", c.RegistryMirror, "mirror SRC:DST[,SRC:DST]: images on SRC get the credentials of the ACR registry DST")
	fs.StringVar(&c.Cloud, "acr-cloud", c.Cloud, "Azure cloud (AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud, AzureStackCloud); overrides azure.json")
	fs.StringVar(&c.EnvironmentFile, "acr-environment-file", c.EnvironmentFile, "custom cloud environment file (default $AZURE_ENVIRONMENT_FILEPATH for AzureStackCloud)")
}

// ParseRegistryMirror parses acr-credential-provider's "src:dst[,src:dst]" form. Spaces are
// ignored, empty entries skipped; anything else malformed is an error.
func ParseRegistryMirror(s string) ([]Mirror, error) {
	s = strings.Join(strings.Fields(s), "")
	var out []Mirror
	for _, entry := range strings.Split(s, ",") {
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("registry mirror %q: want SOURCE:TARGET (hosts without ports; use the config file's mirrors list for ports)", entry)
		}
		out = append(out, Mirror{Source: parts[0], Target: parts[1]})
	}
	return out, nil
}
