package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
	"github.com/imagecred/image-credential-provider/test/fake/connectproxy"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
	"github.com/imagecred/image-credential-provider/test/fake/registry"
)

// The cloud backends whose fakes run, in order.
var clouds = []cloud{
	{name: "ecr", start: startAWS},
	{name: "gcr", start: startGoogle},
	{name: "acr", start: startAzure},
}

// ECR registries by region: one registry per region, answering for the private
// registry host names of that region, and taking only "AWS:<token>" where the token is
// one the fake ECR issued, unexpired, to a call signed for that region (a plugin that
// asked the wrong region's endpoint gets a token this registry refuses).
var ecrRegions = []struct {
	site, region string
	hosts        []string
}{
	{"ecr", "us-west-2", []string{
		awsfake.DefaultAccount + ".dkr.ecr.us-west-2.amazonaws.com",
		"210987654321.dkr.ecr.us-west-2.amazonaws.com",
	}},
	{"ecr-eu-west-1", "eu-west-1", []string{awsfake.DefaultAccount + ".dkr.ecr.eu-west-1.amazonaws.com"}},
}

// ECRWebIdentityRole is the role the conformance service account names in its
// eks.amazonaws.com/ecr-role-arn annotation.
const ECRWebIdentityRole = "arn:aws:iam::" + awsfake.DefaultAccount + ":role/ecr-puller"

// AWS: ECR, ECR Public and STS (awsfake, plain HTTP on loopback) for the plugin, reached
// through the SDK's own AWS_ENDPOINT_URL_* settings with the fake's static test
// credentials, and ECR registries (basic auth "AWS:<token>").
func startAWS(f *Fakes) error {
	env := f.Env
	a, err := awsfake.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	f.onClose(a.Close)
	for _, r := range ecrRegions {
		region := r.region
		valid := func(token string) error {
			t, ok := a.Lookup(token)
			switch {
			case !ok || !a.Valid(token):
				return errors.New("not an unexpired authorization token of the fake ECR")
			case t.Op != awsfake.ECRGetAuthorizationToken:
				return fmt.Errorf("token issued by %s, not ECR", t.Op)
			case t.Region != region:
				return fmt.Errorf("token issued in %s, not %s", t.Region, region)
			}
			return nil
		}
		if _, err := f.startSite(r.site, r.hosts, registry.ECRAuth(valid), []string{"team/app", "app"}); err != nil {
			return err
		}
	}
	for _, kv := range a.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env.PluginEnv[k] = v
	}
	// Nothing else of the default chain may answer: no shared files, no instance metadata.
	env.PluginEnv["AWS_EC2_METADATA_DISABLED"] = "true"
	env.PluginEnv["AWS_CONFIG_FILE"] = filepath.Join(f.dir, "aws-config-absent")
	env.PluginEnv["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(f.dir, "aws-credentials-absent")
	env.Vars["AWS_URL"] = a.URL
	env.Vars["AWS_ACCOUNT"] = awsfake.DefaultAccount
	env.Vars["AWS_NODE_IDENTITY"] = awsfake.TestIdentity
	env.Vars["ECR_WI_ROLE"] = ECRWebIdentityRole
	f.aws = a
	return nil
}

// Google: the metadata server, STS and IAM credentials (gcpfake) for the plugin, and a
// registry that takes only "oauth2accesstoken:<token gcpfake issued and not expired>"
// through the Docker token flow, answering for Container Registry and Artifact
// Registry host names.
func startGoogle(f *Fakes) error {
	env := f.Env
	g, err := gcpfake.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	f.onClose(g.Close)
	valid := func(token string) error {
		if !g.Valid(token) {
			return errors.New("not an unexpired access token of the fake Google")
		}
		return nil
	}
	hosts := []string{"gcr.io", "us.gcr.io", "eu.gcr.io", "us-docker.pkg.dev", "europe-west1-docker.pkg.dev"}
	if _, err := f.startSite("google", hosts, registry.GoogleAuth(valid), []string{"fake-project/app", "fake-project/repo/app"}); err != nil {
		return err
	}
	env.PluginEnv["GCE_METADATA_HOST"] = g.MetadataHost
	env.Vars["GCP_METADATA_HOST"] = g.MetadataHost
	env.Vars["GCP_STS_URL"] = g.STSURL
	env.Vars["GCP_IAM_URL"] = g.IAMCredentialsURL
	env.Vars["GCP_PROJECT"] = gcpfake.DefaultProjectID
	env.Vars["GCP_NODE_SA"] = gcpfake.DefaultEmail
	env.Vars["GCP_WI_SA"] = "puller@fake-project.iam.gserviceaccount.com"
	g.AddServiceAccount(env.Vars["GCP_WI_SA"], gcpfake.ScopeCloudPlatform)
	f.google = g
	return nil
}

// Azure: Entra ID, managed identity and the ACR exchange (azurefake) reached by the
// plugin through a CONNECT proxy (HTTPS_PROXY) with the CA in SSL_CERT_FILE, and a
// registry that trades only refresh tokens azurefake issued for an access token.
func startAzure(f *Fakes) error {
	env := f.Env
	a, err := azurefake.Start(azurefake.Options{CA: f.ca})
	if err != nil {
		return err
	}
	f.onClose(a.Close)
	p, err := connectproxy.Start(a.Addr)
	if err != nil {
		return err
	}
	f.onClose(func() { _ = p.Close() })
	hosts := []string{"myacr.azurecr.io", "otheracr.azurecr.io"}
	valid := func(token string) error {
		if err := a.ValidateRefreshToken(token); err != nil {
			return err
		}
		svc, ok := a.RefreshTokenService(token)
		if !ok {
			return errors.New("refresh token names no registry")
		}
		for _, h := range hosts {
			if strings.EqualFold(svc, h) {
				return nil
			}
		}
		return fmt.Errorf("refresh token issued for %s, not this registry", svc)
	}
	if _, err := f.startSite("acr", hosts, registry.ACRAuth(valid), []string{"team/app", "app"}); err != nil {
		return err
	}

	const (
		miClientID = "ua-conformance"
		wiClientID = "wi-conformance"
		wiSubject  = "system:serviceaccount:team-a:acr-puller"
	)
	a.AddUserAssignedIdentity(miClientID, "")
	a.AddFederatedPrincipal("", wiClientID, wiSubject)
	azureJSON := filepath.Join(f.dir, "azure.json")
	content := fmt.Sprintf(`{"cloud":"AzurePublicCloud","useManagedIdentityExtension":true,"userAssignedIdentityID":%q,"subscriptionId":"0000","resourceGroup":"rg","tenantId":%q}`,
		miClientID, azurefake.DefaultTenantID)
	if err := os.WriteFile(azureJSON, []byte(content), 0o644); err != nil {
		return err
	}
	env.PluginEnv["HTTPS_PROXY"] = p.URL
	env.PluginEnv["SSL_CERT_FILE"] = env.CAFile
	env.PluginEnv["IDENTITY_ENDPOINT"] = a.AppServiceEndpoint()
	env.PluginEnv["IDENTITY_HEADER"] = a.IdentityHeader
	env.Vars["ACR_AZURE_JSON"] = azureJSON
	env.Vars["ACR_TENANT"] = azurefake.DefaultTenantID
	env.Vars["ACR_WI_CLIENT_ID"] = wiClientID
	env.Vars["ACR_WI_AUDIENCE"] = azurefake.FederatedAudience
	env.Vars["ACR_USERNAME"] = azurefake.RefreshTokenUsername
	f.azure = a
	return nil
}
