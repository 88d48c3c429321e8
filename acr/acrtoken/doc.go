// Package acrtoken is the token half of the Azure Container Registry backend, whose
// configuration and host tables are package acr: it turns an Azure identity into
// registry credentials the kubelet can use, the way `az acr login` does, and never hands
// the kubelet anything but an ACR refresh token.
//
// # Identities
//
// The node identity comes from azure.json (acr.Config.AzureConfig, JSON or YAML) with the
// standard AZURE_* variables filling what it leaves empty, in this order:
// useManagedIdentityExtension (or aadClientId/aadClientSecret "msi") → managed identity,
// user-assigned by userAssignedIdentityID (client id, or resource id when it is an ARM
// path); a federated token file (aadFederatedTokenFile with
// useFederatedWorkloadIdentityExtension, or AZURE_FEDERATED_TOKEN_FILE) → workload
// identity; aadClientCertPath / AZURE_CLIENT_CERTIFICATE_PATH → service principal with a
// certificate (PEM or PKCS#12, with aadClientCertPassword); aadClientSecret /
// AZURE_CLIENT_SECRET → service principal with a secret; otherwise managed identity
// (AZURE_CLIENT_ID as user-assigned client id, else system-assigned). Managed identity
// uses whatever azidentity finds: IMDS, or IDENTITY_ENDPOINT/IDENTITY_HEADER (App
// Service protocol), Azure Arc, ...
//
// Service-account-token mode (the kubelet sends the pod's projected token): the token is
// the client assertion (azidentity.NewClientAssertionCredential) of the application
// named by the kubernetes.azure.com/acr-client-id annotation, in the tenant of
// kubernetes.azure.com/acr-tenant-id, else azure.json's tenantId, else AZURE_TENANT_ID.
// It does not depend on useManagedIdentityExtension. Without the client id annotation
// the request fails with an error naming it, unless acr.Config.NodeIdentityFallback is set.
// The kubelet's serviceAccountTokenAudience must be the one the application's federated
// credential expects (api://AzureADTokenExchange by default). Mirrored images always use
// the node identity (mirrors are node configuration).
//
// CacheIdentity holds the authority, audience, mirror target and the identity's kind,
// client id, tenant, resource id and file paths; never a secret or a token.
//
// # Exchange
//
// AAD token for scope <audience>/.default and, at the same time, GET
// https://<registry>/v2/ for the Bearer challenge; then POST https://<realm
// host>/oauth2/exchange (grant_type=access_token, service, tenant, access_token). The
// tenant sent is the identity's, or the AAD token's tid claim (managed identities). A
// realm host that is not an ACR login server is refused (the AAD token is never sent
// there); redirects are never followed. An answer without a refresh_token, or with an
// empty one, is an error. The answer: username 00000000-0000-0000-0000-000000000000,
// password the refresh token, cacheKeyType Registry, Result.Expiry the refresh token's
// exp claim (read without verification); a refresh token without a readable exp is
// assumed to live FallbackLifetime (1 h), one that expires within a minute is an error.
//
// # Clouds
//
// AzurePublicCloud (default), AzureChinaCloud and AzureUSGovernmentCloud set the AAD
// authority and the registry suffix; every cloud uses the ACR audience
// https://containerregistry.azure.net (acr.Config.Audience overrides it). AzureStackCloud,
// or any acr.Config.EnvironmentFile, reads an Azure Stack environment file
// (activeDirectoryEndpoint, containerRegistryDNSSuffix; AZURE_ENVIRONMENT_FILEPATH by
// default). AZURE_AUTHORITY_HOST overrides the authority. Instance discovery runs only
// against the well-known AAD hosts (which answer it themselves); for any other authority
// MSAL would send it to login.microsoftonline.com, so it is skipped.
// resourceManagerEndpoint metadata is not downloaded (the AKS plugin makes three GETs per
// run for it): put the suffix and authority in an environment file instead.
//
// # Mirrors
//
// An image on a configured mirror source (acr.Hosts) gets the target's credentials under
// both keys; nothing else is ever answered for a host that is not ACR.
//
// # Failures
//
// Every request goes through the SDK retry policy (retryOptions: 4 tries about 0.2, 0.6
// and 1.4 s apart, 6 s per try) and the whole call is bounded by Timeout (20 s) and the
// caller's context; a failing managed identity endpoint costs about 2 s (the AKS plugin: 62
// s). Errors are one line: "acr: registry R: IDENTITY: STEP: cause", with the service's
// error code and first description line, known secrets and tokens redacted.
//
// # Cost
//
// New reads azure.json and builds no SDK object; Serves and CacheIdentity do no I/O
// (BenchmarkCacheHitPath: about 20 µs for New+Serves+CacheIdentity). HTTP clients and
// credentials are built on the first Credentials call.
package acrtoken
