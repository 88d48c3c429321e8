package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
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

// ECR registries of the fakes: one registry per region, each taking only tokens the
// fake issued for that region, so a pull proves the plugin asked the region of the
// image's host. The us-west-2 registry also answers for its FIPS and dual-stack names.
var ecrSites = []struct {
	name, region string
	hosts        []string
	repos        []string
}{
	{"ecr-us-west-2", "us-west-2", []string{
		awsfake.DefaultAccount + ".dkr.ecr.us-west-2.amazonaws.com",
		awsfake.DefaultAccount + ".dkr.ecr-fips.us-west-2.amazonaws.com",
		awsfake.DefaultAccount + ".dkr-ecr.us-west-2.on.aws",
	}, []string{"team/app", "app"}},
	{"ecr-eu-west-1", "eu-west-1", []string{awsfake.DefaultAccount + ".dkr.ecr.eu-west-1.amazonaws.com"}, []string{"app"}},
	{"ecr-cn-north-1", "cn-north-1", []string{awsfake.DefaultAccount + ".dkr.ecr.cn-north-1.amazonaws.com.cn"}, []string{"app"}},
}

// AWS: ECR, ECR Public and STS (awsfake) reached by the plugin through the SDK's own
// endpoint settings (AWS_ENDPOINT_URL_ECR, _ECR_PUBLIC, _STS) with the fake's static
// test credentials; ECR registries that take only basic auth "AWS:<token>" for an
// unexpired token the fake ECR issued in the registry's region, and an ECR Public
// registry (public.ecr.aws, ecr-public.aws.com) that takes only ECR Public tokens
// through the Docker token flow.
func startAWS(f *Fakes) error {
	env := f.Env
	a, err := awsfake.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	f.onClose(a.Close)
	valid := func(op awsfake.Op, region string) registry.Validator {
		return func(password string) error {
			t, ok := a.Lookup(password)
			switch {
			case !ok:
				return errors.New("not a token the fake AWS issued")
			case !a.Valid(password):
				return errors.New("token expired")
			case t.Op != op:
				return fmt.Errorf("token issued by %s, not %s", t.Op, op)
			case t.Region != region:
				return fmt.Errorf("token issued in %s, not %s", t.Region, region)
			}
			return nil
		}
	}
	for _, s := range ecrSites {
		if _, err := f.startSite(s.name, s.hosts, registry.ECRAuth(valid(awsfake.ECRGetAuthorizationToken, s.region)), s.repos); err != nil {
			return err
		}
	}
	if _, err := f.startSite("ecr-public", []string{"public.ecr.aws", "ecr-public.aws.com"},
		registry.ECRPublicAuth(valid(awsfake.ECRPublicGetAuthorizationToken, "us-east-1")), []string{"fake-alias/app"}); err != nil {
		return err
	}
	// Nothing from the machine's own AWS setup may reach the plugin: no shared files,
	// no instance metadata; only the fake's static key.
	empty := filepath.Join(f.dir, "aws-empty-config")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	for _, kv := range a.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env.PluginEnv[k] = v
	}
	env.PluginEnv["AWS_CONFIG_FILE"] = empty
	env.PluginEnv["AWS_SHARED_CREDENTIALS_FILE"] = empty
	env.PluginEnv["AWS_EC2_METADATA_DISABLED"] = "true"
	env.Vars["AWS_ACCOUNT"] = awsfake.DefaultAccount
	env.Vars["AWS_URL"] = a.URL
	env.Vars["ECR_USERNAME"] = registry.ECRUsername
	// The kubelet matchImages patterns the ECR backend documents (ecrhost.MatchImages()),
	// comma-separated, for scripts writing a kubelet CredentialProviderConfig.
	env.Vars["ECR_MATCH_IMAGES"] = strings.Join(ecrhost.MatchImages(), ",")
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
