package azureconfig

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/imagecred/image-credential-provider/acr/acrhost"
	"github.com/imagecred/image-credential-provider/internal/strictyaml"
)

// DefaultAudience is the Microsoft Entra ID audience of Azure Container Registry
// tokens ("https://containerregistry.azure.net/.default" is the scope). ACR uses it
// in every Azure cloud; it also works when a registry refuses ARM-audience tokens
// (azureADAuthenticationAsArmPolicy disabled).
const DefaultAudience = "https://containerregistry.azure.net"

// Cloud is what registry authentication needs to know about one Azure cloud.
type Cloud struct {
	// Name is the canonical name (AzurePublicCloud, ..., or the environment file's).
	Name string
	// AuthorityHost is the Microsoft Entra ID authority, "https://host/".
	AuthorityHost string
	// Audience is the ACR audience for AAD tokens (scope = Audience + "/.default").
	Audience string
	// RegistrySuffix is the login server suffix without a leading dot ("azurecr.io");
	// empty for a custom cloud without ACR.
	RegistrySuffix string
}

// Scope is the AAD scope to ask for.
func (c Cloud) Scope() string { return strings.TrimSuffix(c.Audience, "/") + "/.default" }

// The built-in clouds.
var (
	AzurePublic = Cloud{
		Name:           "AzurePublicCloud",
		AuthorityHost:  "https://login.microsoftonline.com/",
		Audience:       DefaultAudience,
		RegistrySuffix: "azurecr.io",
	}
	AzureChina = Cloud{
		Name:           "AzureChinaCloud",
		AuthorityHost:  "https://login.chinacloudapi.cn/",
		Audience:       DefaultAudience,
		RegistrySuffix: "azurecr.cn",
	}
	AzureUSGovernment = Cloud{
		Name:           "AzureUSGovernmentCloud",
		AuthorityHost:  "https://login.microsoftonline.us/",
		Audience:       DefaultAudience,
		RegistrySuffix: "azurecr.us",
	}
)

// WellKnownSuffixes are the registry suffixes of every Azure cloud, past and present
// (azurecr.de belonged to the retired German cloud); they are always recognised.
var WellKnownSuffixes = acrhost.WellKnownSuffixes

// StackCloudName is the cloud name that selects a custom cloud from an environment
// file (the name azure.json uses for Azure Stack Hub).
const StackCloudName = "AzureStackCloud"

// KnownCloud returns the built-in cloud called name (case-insensitive, with the
// aliases azure.json accepts; "" is the public cloud).
func KnownCloud(name string) (Cloud, bool) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "", "AZURECLOUD", "AZUREPUBLICCLOUD", "PUBLIC":
		return AzurePublic, true
	case "AZURECHINACLOUD", "CHINA":
		return AzureChina, true
	case "AZUREUSGOVERNMENT", "AZUREUSGOVERNMENTCLOUD", "USGOVERNMENT":
		return AzureUSGovernment, true
	}
	return Cloud{}, false
}

// IsStack reports whether name selects a custom cloud from an environment file.
func IsStack(name string) bool {
	return strings.EqualFold(strings.TrimSpace(name), StackCloudName)
}

// Environment is the part of an Azure environment file (the go-autorest
// azure.Environment JSON that AZURE_ENVIRONMENT_FILEPATH names) that matters here.
type Environment struct {
	Name                       string `json:"name"`
	ActiveDirectoryEndpoint    string `json:"activeDirectoryEndpoint"`
	ContainerRegistryDNSSuffix string `json:"containerRegistryDNSSuffix"`
	ResourceManagerEndpoint    string `json:"resourceManagerEndpoint"`
	TokenAudience              string `json:"tokenAudience"`
}

// LoadEnvironment reads an environment file and turns it into a Cloud. audience
// overrides DefaultAudience when not empty.
func LoadEnvironment(path, audience string) (Cloud, error) {
	data, err := readSmall(path)
	if err != nil {
		return Cloud{}, err
	}
	c, err := ParseEnvironment(data, audience)
	if err != nil {
		var se *strictyaml.Error
		if errors.As(err, &se) {
			return Cloud{}, fmt.Errorf("%s:%w", path, err)
		}
		return Cloud{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseEnvironment turns environment file content into a Cloud. The authority
// (activeDirectoryEndpoint) must be https; the registry suffix may be empty (a cloud
// without ACR).
func ParseEnvironment(data []byte, audience string) (Cloud, error) {
	var env Environment
	if _, err := strictyaml.Decode(data, &env, strictyaml.Options{IgnoreUnknown: true, HideValues: true}); err != nil {
		return Cloud{}, err
	}
	if env.ActiveDirectoryEndpoint == "" {
		return Cloud{}, errors.New("environment file has no activeDirectoryEndpoint")
	}
	authority, err := NormalizeAuthority(env.ActiveDirectoryEndpoint)
	if err != nil {
		return Cloud{}, fmt.Errorf("environment file activeDirectoryEndpoint: %w", err)
	}
	suffix, err := NormalizeSuffix(env.ContainerRegistryDNSSuffix)
	if err != nil {
		return Cloud{}, fmt.Errorf("environment file containerRegistryDNSSuffix: %w", err)
	}
	name := env.Name
	if name == "" {
		name = StackCloudName
	}
	if audience == "" {
		audience = DefaultAudience
	}
	return Cloud{Name: name, AuthorityHost: authority, Audience: audience, RegistrySuffix: suffix}, nil
}

// NormalizeAuthority checks an authority host URL and returns it as "https://host/"
// (a path, such as an ADFS "/adfs", is kept).
func NormalizeAuthority(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("%q is not https", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must be a plain https://host/ URL", s)
	}
	return "https://" + strings.ToLower(u.Host) + strings.TrimSuffix(u.Path, "/") + "/", nil
}

// NormalizeSuffix checks a registry DNS suffix ("azurecr.io", ".azurecr.example")
// and returns it lower-case without a leading dot. "" stays "".
func NormalizeSuffix(s string) (string, error) {
	s = strings.ToLower(strings.Trim(strings.TrimSpace(s), "."))
	if s == "" {
		return "", nil
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("suffix %q needs at least two labels", s)
	}
	for _, l := range labels {
		if !IsDNSLabel(l) {
			return "", fmt.Errorf("suffix %q has an invalid label %q", s, l)
		}
	}
	return s, nil
}

// IsDNSLabel reports whether l is a lower-case LDH label (1-63 characters, letters,
// digits and inner hyphens).
func IsDNSLabel(l string) bool { return acrhost.IsDNSLabel(l) }
