package main

// Each family of errors an operator meets, exactly as the kubelet logs it: one line,
// one prefix (the name the binary was invoked under), what was tried and what to
// change, no Go type names.

import (
	"regexp"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

// oneErrorLine checks r failed with exactly the line want on stderr.
func oneErrorLine(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 || r.stdout != "" {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	if got := strings.TrimSuffix(r.stderr, "\n"); got != want {
		t.Errorf("stderr\n  %s\nwant\n  %s", got, want)
	}
	checkOneLineOnePrefix(t, r.stderr)
}

// goNames are words only Go code would print.
var goNames = regexp.MustCompile(`Go struct|of type |\bjson: |DropInConfig|\*[a-z]+\.[A-Z]|[a-z]+\.[A-Z][A-Za-z]+\{`)

// checkOneLineOnePrefix checks an error output is one line that does not repeat its
// prefix ("x: x: ...") and names no Go type.
func checkOneLineOnePrefix(t *testing.T, stderr string) {
	t.Helper()
	line := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(line, "\n") {
		t.Errorf("more than one line:\n%s", stderr)
	}
	parts := strings.SplitN(line, ": ", 3)
	if len(parts) == 3 && (parts[0] == parts[1] || strings.TrimSuffix(parts[0], "-credential-provider") == parts[1] && parts[1] != "ecr") {
		t.Errorf("prefix repeated: %q", line)
	}
	if goNames.MatchString(line) {
		t.Errorf("Go type names: %q", line)
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	const head = "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\n"
	yamlFile := writeFile(t, dir, "config.yaml", head+"cache:\n  disabled: 3\n")
	jsonFile := writeFile(t, dir, "config.json", "{\n  \"apiVersion\": \"imagecred.dev/v1alpha1\",\n  \"kind\": \"ImageCredentialProviderConfig\",\n  \"ecr\": {\"registries\": {\"host\": \"a\"}}\n}\n")
	azureJSON := writeFile(t, dir, "azure.json", "{\n  \"cloud\": \"AzurePublicCloud\",\n  \"useManagedIdentityExtension\": \"yes-s3cr3t\"\n}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"YAML", []string{"--config", yamlFile}, "image-credential-provider: " + yamlFile + ":4:13: cache.disabled: want true or false, got 3"},
		{"JSON", []string{"--config", jsonFile}, "image-credential-provider: " + jsonFile + ":4:25: ecr.registries: want a list of mappings of host, account, region, fips, dualStack, got a mapping"},
		{"azure.json", []string{"--backends=acr", "--acr-azure-config", azureJSON}, "image-credential-provider: acr: azure config: " + azureJSON + ":3:34: useManagedIdentityExtension: want true or false, got text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPlugin(t, "", nil, request("credentialprovider.kubelet.k8s.io/v1", "myacr.azurecr.io/app"), tt.args...)
			oneErrorLine(t, r, tt.want)
			if strings.Contains(r.stderr, "s3cr3t") {
				t.Error("a value of azure.json was printed")
			}
		})
	}
}

// Identity failures say which identity was tried, what refused it, and what to change.
func TestIdentityErrors(t *testing.T) {
	t.Run("acr managed identity refused, no azure.json", func(t *testing.T) {
		a := startAzure(t, azurefake.Options{})
		a.fake.FailNext(azurefake.AppService, 100, 403)
		r := runPlugin(t, "", a.env, request(acrV1, "myacr.azurecr.io/app"), "--no-cache", "--backends=acr")
		oneErrorLine(t, r, "image-credential-provider: acr: registry myacr.azurecr.io: managed identity (system-assigned): AAD token: "+
			"ManagedIdentityCredential: status 403: temporarily_unavailable: injected failure from the fake appservice endpoint; "+
			"no azure.json is given (--acr-azure-config), so the node's system-assigned managed identity was tried; "+
			"check that this identity is assigned to the node and has the AcrPull role on registry myacr; "+
			"to use another identity, name it in an azure.json given with --acr-azure-config (useManagedIdentityExtension and userAssignedIdentityID, or a service principal)")
	})
	t.Run("acr registry refuses the token", func(t *testing.T) {
		a := startAzure(t, azurefake.Options{Audience: "https://another-audience.example"})
		cfg := a.azureJSON(t, miAzureJSON)
		r := runPlugin(t, "", a.env, request(acrV1, "myacr.azurecr.io/app"), "--no-cache", "--backends=acr", "--acr-azure-config", cfg)
		acrFails(t, r, "myacr.azurecr.io", "token exchange: POST https://myacr.azurecr.io/oauth2/exchange: status 401",
			"; give managed identity (client id ua-binary) the AcrPull role on registry myacr (a role assignment scoped to the registry); azure.json "+cfg+" chose this identity; to use another identity, name it in an azure.json given with --acr-azure-config")
		checkOneLineOnePrefix(t, r.stderr)
	})
	t.Run("ecr access denied", func(t *testing.T) {
		f, env := startAWS(t)
		f.FailNext(awsfake.ECRGetAuthorizationToken, 10, awsfake.AccessDeniedStatus)
		r := runPlugin(t, "", env, request(ecrV1, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"), "--no-cache", "--backends=ecr")
		line := strings.TrimSuffix(r.stderr, "\n")
		want := regexp.MustCompile(`^image-credential-provider: ecr: registry 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com \(region eu-west-1\): ` +
			`ecr:GetAuthorizationToken as the node's AWS credentials \(EnvConfigCredentials\): HTTP 400 AccessDeniedException: ` +
			`User: arn:aws:iam::123456789012:user/fake-node is not authorized to perform: ecr:GetAuthorizationToken on resource: \* because no identity-based policy allows the ecr:GetAuthorizationToken action( \(request id [^)]*\))?; ` +
			`allow ecr:GetAuthorizationToken for that principal in its IAM policies \(the AmazonEC2ContainerRegistryReadOnly managed policy has it, and ecr:BatchGetImage and ecr:GetDownloadUrlForLayer, which pulling needs too\)$`)
		if r.code != 1 || !want.MatchString(line) {
			t.Errorf("exit %d, stderr\n  %s\nwant it to match\n  %s", r.code, line, want)
		}
		checkOneLineOnePrefix(t, r.stderr)
	})
	t.Run("gcr missing scope", func(t *testing.T) {
		f, env := startGoogleFake(t)
		f.SetScopes("default", gcpfake.ScopeLogging)
		r := runPlugin(t, "", env, request(gcrV1, "us-docker.pkg.dev/p/r/app"), "--no-cache", "--backends=gcr")
		oneErrorLine(t, r, "image-credential-provider: gcr: registry us-docker.pkg.dev: metadata server (service account default): "+
			"the account's access scopes ("+gcpfake.ScopeLogging+") let it read no images: give the node (its VM or node pool) the cloud-platform scope, "+
			"or a https://www.googleapis.com/auth/devstorage.* scope such as devstorage.read_only, or set gcr.serviceAccount to an account that has one")
	})
	t.Run("gcr impersonation denied", func(t *testing.T) {
		f, env := startGoogleFake(t)
		f.DenyImpersonation(gcrTarget)
		tok := podToken(t)
		r := runPlugin(t, "", env, saRequestJSON(t, "gcr.io/p/app", tok, map[string]string{"iam.gke.io/gcp-service-account": gcrTarget}),
			"--no-cache", "--backends=gcr", "--gcr-wi-audience="+gcrPoolAud, "--gcr-wi-token-url="+f.STSURL, "--gcr-wi-iam-credentials-url="+f.IAMCredentialsURL)
		failsOneLine(t, r, "gcr.io", "workload identity as "+gcrTarget+": ", "PERMISSION_DENIED",
			"; principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/subject/system:serviceaccount:ns1:puller needs roles/iam.workloadIdentityUser on "+gcrTarget)
		checkOneLineOnePrefix(t, r.stderr)
	})
}

// Under the names of the plugins they replace, the binaries print their own help and
// version, errors carry that name once, and suggestions name only commands that exist.
func TestDropInHelpAndVersion(t *testing.T) {
	tests := []struct {
		name    string
		usage   string // the usage line
		badArgs []string
		bad     string // the error for badArgs
	}{
		{"ecr-credential-provider", "  ecr-credential-provider [flags]", []string{"--region", "x"},
			`ecr-credential-provider: unknown flag "--region": ecr-credential-provider takes no flags; it is configured through the environment (AWS_* variables, AWS_ECR_ROLE_ARN) (see ecr-credential-provider --help)`},
		{"auth-provider-gcp", "  auth-provider-gcp get-credentials [flags]", []string{"version"},
			`auth-provider-gcp: unknown command "version": the only command is get-credentials (see auth-provider-gcp --help)`},
		{"acr-credential-provider", "  acr-credential-provider AZURE_JSON [flags]", []string{"/etc/kubernetes/azure.json", "--ib-sni-name", "x"},
			`acr-credential-provider: flag --ib-sni-name: identity bindings are not supported by this provider (see acr-credential-provider --help)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, flag := range []string{"--help", "-h"} {
				r := runPlugin(t, tt.name, nil, "", flag)
				if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, tt.name+" is image-credential-provider, installed under the name of") ||
					!strings.Contains(r.stdout, "\nUsage:\n"+tt.usage) || !strings.Contains(r.stdout, "--version") {
					t.Errorf("%s: exit %d, stderr %q, stdout:\n%s", flag, r.code, r.stderr, r.stdout)
				}
				// Every command it suggests exists: under this name only its own
				// command line; anything else through image-credential-provider.
				for _, line := range strings.Split(r.stdout, "\n") {
					if i := strings.Index(line, tt.name+" "); i >= 0 && !strings.HasPrefix(line[i:], tt.usage[2:]) && !strings.HasPrefix(line, tt.name+" is ") {
						t.Errorf("%s suggests %q", flag, line)
					}
				}
				// The project's own words cannot reach the help: internal/docs
				// checks every tracked file for them.
				if strings.Contains(r.stdout, "DropIn") {
					t.Errorf("internal names in the help:\n%s", r.stdout)
				}
			}
			r := runPlugin(t, tt.name, nil, "", "--version")
			if r.code != 0 || !strings.HasPrefix(r.stdout, "image-credential-provider ") || !strings.HasSuffix(r.stdout, ", installed as "+tt.name+"\n") {
				t.Errorf("--version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			oneErrorLine(t, runPlugin(t, tt.name, nil, "", tt.badArgs...), tt.bad)
		})
	}
	// A Windows file name is the same name.
	r := runPlugin(t, "ACR-Credential-Provider.EXE", nil, "", "--help")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "acr-credential-provider is image-credential-provider") {
		t.Errorf(".exe name: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// On a terminal, the hint names a command that exists.
	r = runPlugin(t, "ecr-credential-provider", nil, "")
	if !strings.HasPrefix(r.stderr, "ecr-credential-provider: empty request on stdin") {
		t.Errorf("empty stdin: %q", r.stderr)
	}
}
