package acrtoken

import (
	"errors"
	"fmt"
	"strings"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/acr/azureconfig"
)

// kind is how an identity authenticates to Microsoft Entra ID.
type kind int

const (
	managedIdentity kind = iota + 1
	workloadIdentity
	secretPrincipal
	certificatePrincipal
	serviceAccountToken
)

func (k kind) String() string {
	switch k {
	case managedIdentity:
		return "managed identity"
	case workloadIdentity:
		return "workload identity"
	case secretPrincipal:
		return "service principal (client secret)"
	case certificatePrincipal:
		return "service principal (certificate)"
	case serviceAccountToken:
		return "service account token"
	}
	return "unknown identity"
}

// identity is one resolved Azure identity. It is resolved without any network or SDK
// work (it runs on cache hits too); the azidentity credential is built from it later.
type identity struct {
	kind     kind
	clientID string // managed identity: user-assigned client id ("" = system-assigned)
	tenantID string
	// resourceID selects a user-assigned managed identity by ARM resource id.
	resourceID string
	tokenFile  string // workload identity
	certPath   string // certificate principal
	// secrets: never printed, never part of a cache key
	secret, certPassword string
}

// String describes the identity for errors and logs: kind and ids, never secrets.
func (i identity) String() string {
	switch i.kind {
	case managedIdentity:
		switch {
		case i.resourceID != "":
			return "managed identity (resource id " + i.resourceID + ")"
		case i.clientID != "":
			return "managed identity (client id " + i.clientID + ")"
		}
		return "managed identity (system-assigned)"
	case certificatePrincipal:
		return fmt.Sprintf("%s (client id %s, tenant %s, certificate %s)", i.kind, i.clientID, i.tenantID, i.certPath)
	}
	return fmt.Sprintf("%s (client id %s, tenant %s)", i.kind, i.clientID, i.tenantID)
}

// cacheKey is what distinguishes this identity's tokens from another's.
func (i identity) cacheKey() string {
	return strings.Join([]string{
		"kind=" + fmt.Sprint(int(i.kind)),
		"client=" + i.clientID,
		"tenant=" + strings.ToLower(i.tenantID),
		"resource=" + strings.ToLower(i.resourceID),
		"tokenfile=" + i.tokenFile,
		"cert=" + i.certPath,
	}, "|")
}

// lookupFunc reads an environment variable.
type lookupFunc func(string) (string, bool)

func (f lookupFunc) get(name string) string {
	v, _ := f(name)
	return strings.TrimSpace(v)
}

// resolveNode picks the node's identity from azure.json, with the standard AZURE_*
// variables filling what azure.json leaves empty. Order:
//
//  1. useManagedIdentityExtension: managed identity (userAssignedIdentityID as client
//     id, or as resource id when it is an ARM path); aadClientId/Secret "msi" too.
//  2. A federated token file (aadFederatedTokenFile with
//     useFederatedWorkloadIdentityExtension, or AZURE_FEDERATED_TOKEN_FILE): workload
//     identity.
//  3. A client certificate (aadClientCertPath or AZURE_CLIENT_CERTIFICATE_PATH).
//  4. A client secret (aadClientSecret or AZURE_CLIENT_SECRET).
//  5. Otherwise managed identity: user-assigned by AZURE_CLIENT_ID if set, else
//     system-assigned.
func resolveNode(f azureconfig.File, env lookupFunc) (identity, error) {
	clientID := first(f.AADClientID, env.get("AZURE_CLIENT_ID"))
	tenantID := first(f.TenantID, env.get("AZURE_TENANT_ID"))
	if strings.EqualFold(f.IdentitySystem, "adfs") {
		return identity{}, errors.New(`azure.json identitySystem "adfs" is not supported for registry credentials`)
	}

	if f.UseManagedIdentityExtension || (f.AADClientID == "msi" && f.AADClientSecret == "msi") {
		return managed(f.UserAssignedIdentityID), nil
	}
	tokenFile := env.get("AZURE_FEDERATED_TOKEN_FILE")
	if f.UseFederatedWorkloadIdentityExtension && f.AADFederatedTokenFile != "" {
		tokenFile = f.AADFederatedTokenFile
	}
	if tokenFile != "" {
		return needIDs(identity{kind: workloadIdentity, clientID: clientID, tenantID: tenantID, tokenFile: tokenFile})
	}
	if certPath := first(f.AADClientCertPath, env.get("AZURE_CLIENT_CERTIFICATE_PATH")); certPath != "" {
		pw := f.AADClientCertPassword
		if f.AADClientCertPath == "" {
			pw, _ = env("AZURE_CLIENT_CERTIFICATE_PASSWORD")
		}
		return needIDs(identity{kind: certificatePrincipal, clientID: clientID, tenantID: tenantID, certPath: certPath, certPassword: pw})
	}
	if secret := firstRaw(f.AADClientSecret, env); secret != "" {
		return needIDs(identity{kind: secretPrincipal, clientID: clientID, tenantID: tenantID, secret: secret})
	}
	return managed(env.get("AZURE_CLIENT_ID")), nil
}

// managed is a managed identity selected by a client id, an ARM resource id, or
// nothing (system-assigned).
func managed(id string) identity {
	id = strings.TrimSpace(id)
	if strings.Contains(strings.ToLower(id), "/subscriptions/") {
		return identity{kind: managedIdentity, resourceID: id}
	}
	return identity{kind: managedIdentity, clientID: id}
}

func needIDs(i identity) (identity, error) {
	switch {
	case i.clientID == "":
		return identity{}, fmt.Errorf("%s needs a client id (azure.json aadClientId or AZURE_CLIENT_ID)", i.kind)
	case i.tenantID == "":
		return identity{}, fmt.Errorf("%s needs a tenant id (azure.json tenantId or AZURE_TENANT_ID)", i.kind)
	}
	if err := checkID("client id", i.clientID); err != nil {
		return identity{}, err
	}
	if err := checkID("tenant id", i.tenantID); err != nil {
		return identity{}, err
	}
	return i, nil
}

// resolveServiceAccount picks the identity of a service-account-token request from
// the service account's annotations: the client id annotation is required; the tenant
// annotation wins over azure.json's tenantId and AZURE_TENANT_ID. ok is false when
// the client id annotation is absent.
func resolveServiceAccount(ann map[string]string, f azureconfig.File, env lookupFunc) (id identity, ok bool, err error) {
	clientID := strings.TrimSpace(ann[acr.ClientIDAnnotation])
	if clientID == "" {
		return identity{}, false, nil
	}
	tenantID := first(strings.TrimSpace(ann[acr.TenantIDAnnotation]), f.TenantID, env.get("AZURE_TENANT_ID"))
	if tenantID == "" {
		return identity{}, true, fmt.Errorf("service account has %s but no tenant: set %s (or tenantId in azure.json, or AZURE_TENANT_ID)", acr.ClientIDAnnotation, acr.TenantIDAnnotation)
	}
	if err := checkID("annotation "+acr.ClientIDAnnotation, clientID); err != nil {
		return identity{}, true, err
	}
	if err := checkID("tenant", tenantID); err != nil {
		return identity{}, true, err
	}
	return identity{kind: serviceAccountToken, clientID: clientID, tenantID: tenantID}, true, nil
}

// checkID accepts GUIDs and tenant domain names: letters, digits, '-' and '.', at
// most 256 characters. It keeps odd annotation values out of URLs, logs and keys.
func checkID(what, v string) error {
	if len(v) > 256 {
		return fmt.Errorf("%s is too long", what)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%s %q has characters other than letters, digits, '-' and '.'", what, v)
		}
	}
	return nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// firstRaw is first() for a secret: azure.json's value, else AZURE_CLIENT_SECRET,
// untrimmed (a secret may legitimately end in a space).
func firstRaw(fromFile string, env lookupFunc) string {
	if fromFile != "" {
		return fromFile
	}
	v, _ := env("AZURE_CLIENT_SECRET")
	return v
}
