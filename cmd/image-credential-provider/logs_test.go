package main

// What each log level shows (internal/loglevel), for each backend against its loopback
// fake, run as the kubelet runs the front end: the lines that must be there, that a
// successful run at the default level writes nothing to stderr, and that no secret
// reaches stderr at any level.

import (
	"encoding/base64"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/testbin"
	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
)

// logCase is one backend set up against its fake.
type logCase struct {
	backend, image, companion string
	env, args                 []string
	// secrets must never appear on stderr (the response's passwords are added).
	secrets []string
	// decisions are fragments of lines -v=2 must show (besides the common ones).
	decisions []string
}

func logCases(t *testing.T) []logCase {
	const staticPassword = "static-s3cr3t-password"
	dir := t.TempDir()
	dockercfg := writeFile(t, dir, "config.json", `{"auths":{"reg.example":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("alice:"+staticPassword))+`"}}}`)

	aws, awsEnv := startAWS(t)
	_ = aws
	gcp, gcpEnv := startGoogleFake(t)
	_ = gcp
	cases := []logCase{
		{
			backend: "static", image: "reg.example/team/app", companion: "image-credential-provider-all",
			args: []string{"--backends=static", "--dockercfg", dockercfg}, secrets: []string{staticPassword},
			decisions: []string{`"Docker config file read" backend="static" file=` + strconv.Quote(dockercfg)},
		},
		{
			backend: "ecr", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", companion: "image-credential-provider-ecr",
			env: awsEnv, args: []string{"--backends=ecr"}, secrets: []string{awsfake.TestSecretAccessKey},
			decisions: []string{`"AWS credentials found"`, `source="EnvConfigCredentials"`, `"HTTP call" backend="ecr" operation="ECR:GetAuthorizationToken" method="POST"`,
				`"Token cache miss: fetched and stored" backend="ecr"`},
		},
		{
			backend: "gcr", image: "us-docker.pkg.dev/p/r/app", companion: "image-credential-provider-gcr",
			env: gcpEnv, args: []string{"--backends=gcr"},
			decisions: []string{`"Credential source skipped" backend="gcr"`, `"Credential source answered" backend="gcr" registry="us-docker.pkg.dev" source="metadata server (service account default)"`,
				`"HTTP call" backend="gcr" method="GET" url="http://` + gcp.MetadataHost + `/computeMetadata/v1/instance/service-accounts/default/token" status=200`,
				`"Token cache miss: fetched and stored" backend="gcr"`},
		},
	}
	if runtime.GOOS == "windows" {
		// The Azure fake's test CA cannot be trusted there (see needsTestCA).
		return cases
	}
	az := startAzure(t, azurefake.Options{})
	spJSON := az.azureJSON(t, `{"tenantId":"`+acrTenant+`","aadClientId":"sp-binary","aadClientSecret":"`+acrSecret+`"}`)
	return append(cases,
		logCase{
			backend: "acr", image: "myacr.azurecr.io/app", companion: "image-credential-provider-acr",
			env: az.env, args: []string{"--backends=acr", "--acr-azure-config", spJSON}, secrets: []string{acrSecret},
			decisions: []string{`"Fetching ACR credentials" registry="myacr.azurecr.io" identity="service principal (client secret) (client id sp-binary, tenant ` + acrTenant + `)"`,
				`"Azure SDK" event="Authentication"`, `"Microsoft Entra token acquired"`,
				`"HTTP call" backend="acr" method="POST" url="https://myacr.azurecr.io/oauth2/exchange" status=200`,
				`"Token cache miss: fetched and stored" backend="acr"`},
		})
}

// stderrLines are the lines of a run's stderr.
func stderrLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestLogLevels(t *testing.T) {
	for _, c := range logCases(t) {
		t.Run(c.backend, func(t *testing.T) {
			levels := []struct {
				v    string
				want []string
			}{
				{"0", nil},
				{"1", []string{`"Request answered" image="` + c.image + `" backends="` + c.backend + `" outcome="1 key(s), cacheKeyType Registry, cacheDuration `,
					`answeredBy="` + c.companion + `" handedOverBy="image-credential-provider"`}},
				{"2", append([]string{
					`"Handing the request over" to="` + c.companion + `" why="the token cache directory does not exist yet"`,
					`"No config file (--config): flags and defaults only"`,
					`"Backend chosen: it serves the registry" backend="` + c.backend + `"`,
					`"Answer recorded for replay" cacheKeyType="Registry"`,
				}, c.decisions...)},
				{"4", []string{`"Request from the kubelet" apiVersion="credentialprovider.kubelet.k8s.io/v1" image="` + c.image + `"`,
					`"Response to the kubelet" apiVersion="credentialprovider.kubelet.k8s.io/v1" cacheKeyType="Registry"`, `password (masked, `}},
				{"10", nil},
			}
			for _, l := range levels {
				t.Run("v="+l.v, func(t *testing.T) {
					r := runPlugin(t, "", c.env, request("credentialprovider.kubelet.k8s.io/v1", c.image), append(c.args, "-v="+l.v)...)
					resp := decodeResponse(t, r)
					if len(resp.Auth) != 1 {
						t.Fatalf("auth %v", resp.Auth)
					}
					lines := stderrLines(r.stderr)
					switch l.v {
					case "0":
						if len(lines) != 0 {
							t.Errorf("a successful run at the default level wrote to stderr:\n%s", r.stderr)
						}
					case "1":
						if len(lines) != 1 {
							t.Errorf("want exactly one line at -v=1, got:\n%s", r.stderr)
						}
					}
					for _, w := range l.want {
						if !strings.Contains(r.stderr, w) {
							t.Errorf("stderr has no %s\n%s", w, r.stderr)
						}
					}
					secrets := c.secrets
					for _, a := range resp.Auth {
						secrets = append(secrets, a.Password)
					}
					for _, s := range secrets {
						if strings.Contains(r.stderr, s) {
							t.Errorf("stderr carries a secret (%.6s…)", s)
						}
					}
					for _, line := range lines {
						if !strings.HasPrefix(line, "I") && !strings.HasPrefix(line, "W") {
							t.Errorf("a line that is not klog's: %q", line)
						}
					}
				})
			}
		})
	}
}

// The front end replaying a recorded answer says so in its one line at -v=1.
func TestLogReplaySummary(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.json", `{"auths":{"reg.example":{"username":"alice","password":"replayed-s3cr3t"}}}`)
	home := t.TempDir()
	args := []string{"--backends=static", "--dockercfg", cfg, "-v=1"}
	for i, want := range []string{`answeredBy="image-credential-provider-all" handedOverBy="image-credential-provider"`, `answeredBy="image-credential-provider (recorded answer)"`} {
		r, err := testbin.Run{Bin: pluginBin, Args: args, Home: home, Stdin: request("credentialprovider.kubelet.k8s.io/v1", "reg.example/app")}.Do()
		if err != nil || r.Code != 0 {
			t.Fatalf("run %d: %v, exit %d, %s", i, err, r.Code, r.Stderr)
		}
		lines := stderrLines(r.Stderr)
		if len(lines) != 1 || !strings.Contains(lines[0], `"Request answered" image="reg.example/app"`) || !strings.Contains(lines[0], want) {
			t.Errorf("run %d: want one summary line with %s, got:\n%s", i, want, r.Stderr)
		}
		if strings.Contains(r.Stderr, "replayed-s3cr3t") {
			t.Errorf("run %d: stderr carries the password", i)
		}
	}
}

// A failure is one error line at the default level; at -v=1 the summary line comes
// first, naming the backend and the error.
func TestLogFailureSummary(t *testing.T) {
	f, env := startGoogleFake(t)
	f.SetScopes("default", "https://www.googleapis.com/auth/logging.write")
	for _, v := range []string{"0", "1"} {
		r := runPlugin(t, "", env, request(gcrV1, "gcr.io/p/app"), "--backends=gcr", "-v="+v)
		lines := stderrLines(r.stderr)
		if r.code != 1 || len(lines) != map[string]int{"0": 1, "1": 2}[v] {
			t.Fatalf("-v=%s: exit %d, stderr:\n%s", v, r.code, r.stderr)
		}
		if v == "1" && (!strings.Contains(lines[0], `"Request failed" image="gcr.io/p/app" backends="gcr" err="gcr: registry gcr.io: `) || !strings.Contains(lines[0], `answeredBy="image-credential-provider-gcr"`)) {
			t.Errorf("summary line %q", lines[0])
		}
	}
}

// The SDKs' own logging goes through klog: the AWS SDK's IMDSv1 fallback warning is a
// -v=2 line, not a line of its own on stderr; AZURE_SDK_GO_LOGGING=all prints nothing
// at the default level.
func TestSDKLogsGoThroughKlog(t *testing.T) {
	t.Run("aws imdsv1 fallback", func(t *testing.T) {
		f := awsfake.New()
		t.Cleanup(f.Close)
		imds, err := f.StartIMDS("arn:aws:iam::123456789012:role/node-role", true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(imds.Close)
		empty := writeFile(t, t.TempDir(), "empty", "")
		env := append(f.EndpointEnv(), imds.Env()...)
		env = append(env, "AWS_CONFIG_FILE="+empty, "AWS_SHARED_CREDENTIALS_FILE="+empty)
		for _, v := range []string{"0", "2"} {
			r := runPlugin(t, "", env, request(ecrV1, "123456789012.dkr.ecr.us-east-2.amazonaws.com/app"), "--backends=ecr", "--no-cache", "-v="+v)
			tok, _ := ecrToken(t, f, r, "123456789012.dkr.ecr.us-east-2.amazonaws.com")
			if tok.Identity != "arn:aws:iam::123456789012:role/node-role" {
				t.Errorf("token for %s, want the instance role's", tok.Identity)
			}
			if _, creds := imds.Calls(); creds == 0 {
				t.Error("instance metadata gave no credentials")
			}
			switch v {
			case "0":
				if r.stderr != "" {
					t.Errorf("stderr at the default level:\n%s", r.stderr)
				}
			case "2":
				if !strings.Contains(r.stderr, `"AWS SDK" level="WARN" msg="falling back to IMDSv1`) || !strings.Contains(r.stderr, `source="EC2RoleProvider"`) {
					t.Errorf("no IMDSv1 fallback line through klog:\n%s", r.stderr)
				}
			}
		}
	})
	t.Run("azure sdk logging variable", func(t *testing.T) {
		a := startAzure(t, azurefake.Options{})
		env := append(a.env, "AZURE_SDK_GO_LOGGING=all")
		r := runPlugin(t, "", env, request(acrV1, "myacr.azurecr.io/app"), "--backends=acr", "--no-cache", "--acr-azure-config", a.azureJSON(t, miAzureJSON))
		acrAuth(t, a, r, "myacr.azurecr.io")
		if r.stderr != "" {
			t.Errorf("stderr at the default level:\n%s", r.stderr)
		}
	})
}

// A service-account request answered with the node's identity says so at -v=1 and in
// get.
func TestNodeIdentityFallbackIsReported(t *testing.T) {
	awsf, awsEnv := startAWS(t)
	_ = awsf
	gcpf, gcpEnv := startGoogleFake(t)
	_ = gcpf
	az := startAzure(t, azurefake.Options{})
	acrConfig := writeFile(t, t.TempDir(), "config.yaml", "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [acr]\nacr:\n  azureConfig: "+az.azureJSON(t, miAzureJSON)+"\n  nodeIdentityFallback: true\n")
	tok := podToken(t)
	tests := []struct {
		backend, image string
		env, args      []string
		want           string
	}{
		{"ecr", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", awsEnv, []string{"--backends=ecr"},
			"ecr: the node's identity answers a service-account request: service account ns1/puller has no eks.amazonaws.com/ecr-role-arn annotation and no default role is set"},
		{"gcr", "gcr.io/p/app", gcpEnv, []string{"--backends=gcr"},
			"gcr: the node's identity answers a service-account request: workload identity is not configured"},
		{"acr", "myacr.azurecr.io/app", az.env, []string{"--config", acrConfig},
			"acr: the node's identity answers a service-account request: the service account has no kubernetes.azure.com/acr-client-id annotation and nodeIdentityFallback is set"},
	}
	for _, tt := range tests {
		t.Run(tt.backend, func(t *testing.T) {
			r := runPlugin(t, "", tt.env, saRequestJSON(t, tt.image, tok, nil), append(tt.args, "--no-cache", "-v=1")...)
			decodeResponse(t, r)
			if lines := stderrLines(r.stderr); len(lines) != 1 || !strings.Contains(lines[0], `nodeIdentity="`+tt.want) {
				t.Errorf("want one line with nodeIdentity=%q, got:\n%s", tt.want, r.stderr)
			}
			tokFile := writeFile(t, t.TempDir(), "token", tok)
			g := runPlugin(t, "", tt.env, "", append(tt.args, "--no-cache", "get", tt.image, "--sa-token-file", tokFile)...)
			note := "note:           " + tt.backend + "  the node's identity answers this service-account request: "
			if g.code != 0 || !strings.Contains(g.stdout, note) || !strings.Contains(g.stdout, "identity:       "+tt.backend+"  ") {
				t.Errorf("get: exit %d, stdout:\n%s\nstderr: %s", g.code, g.stdout, g.stderr)
			}
			if strings.Contains(g.stdout+g.stderr+r.stderr, tok) {
				t.Error("the service account token was printed")
			}
		})
	}
}
