// Package acr is the Azure Container Registry backend's configuration and host tables:
// Config, its flags and the acr-credential-provider drop-in arguments, the cloud a node
// is in, and Hosts, which says which image hosts the backend serves. It links no Azure
// SDK and no HTTP client; package acrtoken fetches the credentials.
//
// # Hosts
//
// Served: <name>.azurecr.io, .azurecr.cn, .azurecr.us, .azurecr.de, geo-replica hosts
// <name>.<region>.geo.<suffix>, the custom cloud's containerRegistryDNSSuffix, suffixes
// listed in Config.RegistrySuffixes, and configured mirror sources. Matching is per
// label (foo.azurecr.io.example and a.b.azurecr.io are not ACR); a port in the image host
// is kept in the answer's key and in the requests to the registry.
//
// # Clouds
//
// AzurePublicCloud (default), AzureChinaCloud and AzureUSGovernmentCloud set the AAD
// authority and the registry suffix. AzureStackCloud, or any Config.EnvironmentFile,
// reads an Azure Stack environment file (activeDirectoryEndpoint,
// containerRegistryDNSSuffix; AZURE_ENVIRONMENT_FILEPATH by default). The cloud comes
// from Config.Cloud, else from azure.json (Config.AzureConfig); see ResolveCloud.
//
// # Mirrors
//
// Config.RegistryMirror takes acr-credential-provider's "src:dst[,src:dst]";
// Config.Mirrors takes {source, target} pairs with ports. An image on a configured source
// gets the target's credentials under both keys.
package acr
