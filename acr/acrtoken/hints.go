package acrtoken

import (
	"errors"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/imagecred/image-credential-provider/acr/exchange"
	"github.com/imagecred/image-credential-provider/providers"
)

// What to change when an identity is refused, appended to the error ("; ..."): which
// setting chose the identity, and which role assignment, federated credential or
// setting is missing.

// aadHint follows a failure to get a Microsoft Entra token for id.
func (p *Provider) aadHint(id identity, registry string, sa *providers.ServiceAccount, err error) string {
	code := aadErrorCode(err.Error())
	switch id.kind {
	case managedIdentity:
		h := "; " + p.chosenBy(id)
		switch status := aadStatus(err); {
		case status == http.StatusBadRequest || status == http.StatusNotFound:
			h += "; check that this identity is assigned to the node (its VM or scale set)"
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			h += "; check that this identity is assigned to the node and has the AcrPull role on registry " + registryName(registry)
		default:
			return ""
		}
		return h + "; to use another identity, name it in an azure.json given with --acr-azure-config (useManagedIdentityExtension and userAssignedIdentityID, or a service principal)"
	case serviceAccountToken, workloadIdentity:
		switch code {
		case "AADSTS70021", "AADSTS700211", "AADSTS700212", "AADSTS700213":
			subject := "system:serviceaccount:NAMESPACE:NAME"
			if sa != nil && sa.Namespace != "" && sa.Name != "" {
				subject = "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
			}
			return "; application " + id.clientID + " needs a federated identity credential for the cluster's OIDC issuer, subject " + subject + " and audience api://AzureADTokenExchange"
		case "AADSTS700016":
			return "; no application with client id " + id.clientID + " in tenant " + id.tenantID
		}
	case secretPrincipal:
		switch code {
		case "AADSTS7000215", "AADSTS7000222":
			return "; the client secret is wrong or expired: renew it and set aadClientSecret in azure.json (or AZURE_CLIENT_SECRET)"
		case "AADSTS700016":
			return "; no application with client id " + id.clientID + " in tenant " + id.tenantID + ": check aadClientId and tenantId"
		}
	case certificatePrincipal:
		switch code {
		case "AADSTS700027", "AADSTS700023":
			return "; the certificate " + id.certPath + " is not registered on application " + id.clientID
		case "AADSTS700016":
			return "; no application with client id " + id.clientID + " in tenant " + id.tenantID + ": check aadClientId and tenantId"
		}
	}
	if code == "AADSTS90002" {
		return "; tenant " + id.tenantID + " does not exist in this cloud: check tenantId and cloud"
	}
	return ""
}

// exchangeHint follows the registry's refusal of id's token.
func (p *Provider) exchangeHint(id identity, registry string, err error) string {
	var se *exchange.StatusError
	if !errors.As(err, &se) || (se.Status != http.StatusUnauthorized && se.Status != http.StatusForbidden) {
		return ""
	}
	h := "; give " + id.String() + " the AcrPull role on registry " + registryName(registry) + " (a role assignment scoped to the registry)"
	if id.kind == managedIdentity {
		h += "; " + p.chosenBy(id) + "; to use another identity, name it in an azure.json given with --acr-azure-config"
	}
	return h
}

// chosenBy says which setting chose a managed identity.
func (p *Provider) chosenBy(id identity) string {
	switch {
	case p.azureConfig != "":
		return "azure.json " + p.azureConfig + " chose this identity"
	case id.clientID != "":
		return "AZURE_CLIENT_ID chose this identity (no azure.json: --acr-azure-config is not set)"
	}
	return "no azure.json is given (--acr-azure-config), so the node's system-assigned managed identity was tried"
}

// aadStatus is the HTTP status of a failed token request, 0 when unknown.
func aadStatus(err error) int {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		return afe.RawResponse.StatusCode
	}
	return 0
}

// aadErrorCode finds the first AADSTSnnnn code in an error, "" when there is none.
func aadErrorCode(s string) string {
	i := strings.Index(s, "AADSTS")
	if i < 0 {
		return ""
	}
	j := i + len("AADSTS")
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[i:j]
}

// registryName is the registry's name as Azure shows it: the first label of its
// login server ("myacr" for myacr.azurecr.io).
func registryName(loginServer string) string {
	name, _, _ := strings.Cut(loginServer, ".")
	return name
}
