package main

// Binary-level tests of the Google backend: the built plugin, the kubelet's protocol on
// stdin/stdout, and the loopback Google fake reached through GCE_METADATA_HOST and the
// STS / IAM credentials / OAuth2 endpoint settings. Every run names the fake's metadata
// host (or a key file as the only source), so nothing probes a real metadata server.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

const (
	gcrV1      = "credentialprovider.kubelet.k8s.io/v1"
	gcrPoolAud = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/providers/prov"
	gcrTarget  = "puller@fake-project.iam.gserviceaccount.com"
)

func startGoogleFake(t *testing.T) (*gcpfake.Server, []string) {
	t.Helper()
	f := gcpfake.New()
	t.Cleanup(f.Close)
	return f, []string{"GCE_METADATA_HOST=" + f.MetadataHost}
}

// googleToken checks the response carries one Google token keyed to host and returns it.
func googleToken(t *testing.T, f *gcpfake.Server, r result, host string) (string, gcpfake.Issued, time.Duration) {
	t.Helper()
	resp := decodeResponse(t, r)
	if len(resp.Auth) != 1 {
		t.Fatalf("auth keys %v, want only %q", resp.Auth, host)
	}
	a, ok := resp.Auth[host]
	if !ok {
		t.Fatalf("auth %v has no key %q", resp.Auth, host)
	}
	if a.Username != "oauth2accesstoken" {
		t.Errorf("username %q", a.Username)
	}
	if resp.CacheKeyType != "Registry" {
		t.Errorf("cacheKeyType %q, want Registry", resp.CacheKeyType)
	}
	it, ok := f.Lookup(a.Password)
	if !ok || !f.Valid(a.Password) {
		t.Fatalf("password is not a live token of the fake")
	}
	d, err := time.ParseDuration(resp.CacheDuration)
	if err != nil {
		t.Fatalf("cacheDuration %q: %v", resp.CacheDuration, err)
	}
	return a.Password, it, d
}

// failsOneLine checks the run failed with one stderr line about host mentioning want,
// and printed nothing on stdout.
func failsOneLine(t *testing.T, r result, host string, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("exit 0, want a failure; stdout %s", r.stdout)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q on failure", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "gcr: registry "+host+": ") {
		t.Errorf("stderr %q does not name the backend and registry", last)
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("stderr %q does not mention %q", last, w)
		}
	}
	if strings.Contains(r.stderr, "ya29.") {
		t.Errorf("stderr carries an access token: %q", r.stderr)
	}
}

func TestGCRMetadataTokenForGoogleHosts(t *testing.T) {
	f, env := startGoogleFake(t)
	for _, image := range []string{"gcr.io/fake-project/app", "us-docker.pkg.dev/fake-project/repo/app", "docker.us-central1.rep.pkg.dev/fake-project/repo/app"} {
		t.Run(image, func(t *testing.T) {
			host, _, _ := strings.Cut(image, "/")
			r := runPlugin(t, "", env, request(gcrV1, image), "--no-cache", "--backends=gcr")
			_, it, d := googleToken(t, f, r, host)
			if it.Source != gcpfake.MetadataToken || it.Identity != gcpfake.DefaultEmail {
				t.Errorf("token from %s for %s", it.Source, it.Identity)
			}
			// A one-hour token is fresh for 54 minutes (10% safety margin).
			if d < 53*time.Minute || d > 54*time.Minute {
				t.Errorf("cacheDuration %v, want about 54m", d)
			}
		})
	}
}

func TestGCRNonGoogleHostGetsNoToken(t *testing.T) {
	f, env := startGoogleFake(t)
	for _, image := range []string{"docker.io/library/nginx", "registry.k8s.io/pause", "gcr.io:5000/x/y"} {
		r := runPlugin(t, "", env, request(gcrV1, image), "--no-cache", "--backends=gcr")
		if resp := decodeResponse(t, r); len(resp.Auth) != 0 {
			t.Errorf("%s: auth %v, want none", image, resp.Auth)
		}
	}
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("%d calls reached the fake for non-Google hosts", n)
	}
}

func TestGCRTokenExpiry(t *testing.T) {
	tests := []struct {
		name      string
		lifetimes []time.Duration
		maxCache  time.Duration // 0: the run must fail
	}{
		{"expires_in honoured", []time.Duration{10 * time.Minute}, 9 * time.Minute},
		{"near expiry refreshed", []time.Duration{20 * time.Second, time.Hour}, 54 * time.Minute},
		{"near expiry refused", []time.Duration{20 * time.Second}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, env := startGoogleFake(t)
			f.SetTokenLifetimes(tt.lifetimes...)
			r := runPlugin(t, "", env, request(gcrV1, "gcr.io/p/app"), "--no-cache", "--backends=gcr")
			if tt.maxCache == 0 {
				failsOneLine(t, r, "gcr.io", "safety margin")
				return
			}
			_, _, d := googleToken(t, f, r, "gcr.io")
			if d > tt.maxCache || d < tt.maxCache-time.Minute {
				t.Errorf("cacheDuration %v, want just under %v", d, tt.maxCache)
			}
		})
	}
}

func TestGCRMissingScope(t *testing.T) {
	f, env := startGoogleFake(t)
	f.SetScopes("default", gcpfake.ScopeLogging)
	r := runPlugin(t, "", env, request(gcrV1, "us-docker.pkg.dev/p/r/app"), "--no-cache", "--backends=gcr")
	failsOneLine(t, r, "us-docker.pkg.dev", "scope", "cloud-platform")
}

func TestGCRKeyFile(t *testing.T) {
	f, _ := startGoogleFake(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	const email = "key-sa@fake-project.iam.gserviceaccount.com"
	f.AddKey(email, &key.PublicKey)
	creds, _ := json.Marshal(map[string]string{
		"type": "service_account", "client_email": email, "private_key_id": "fake-id",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"token_uri":   f.OAuth2TokenURL,
	})
	path := writeFile(t, t.TempDir(), "key.json", string(creds))
	// The key file is the only source: no metadata server is named or probed.
	env := []string{"GOOGLE_APPLICATION_CREDENTIALS=" + path}
	r := runPlugin(t, "", env, request(gcrV1, "europe-west1-docker.pkg.dev/p/r/app"), "--no-cache", "--backends=gcr", "--gcr-sources=keyfile")
	if _, it, _ := googleToken(t, f, r, "europe-west1-docker.pkg.dev"); it.Source != gcpfake.OAuth2 || it.Identity != email {
		t.Errorf("token from %s for %s, want the key file's account", it.Source, it.Identity)
	}
	if strings.Contains(r.stderr, "PRIVATE KEY") {
		t.Error("stderr carries the private key")
	}

	r = runPlugin(t, "", nil, request(gcrV1, "gcr.io/p/app"), "--no-cache", "--backends=gcr", "--gcr-sources=keyfile")
	failsOneLine(t, r, "gcr.io", "no Google credentials", "GOOGLE_APPLICATION_CREDENTIALS")
}

// podToken is a fake projected service account token: a JWT whose claims name the pod's
// service account (the plugin reads them for cache keys; the fake STS accepts it).
func podToken(t *testing.T) string {
	claims, _ := json.Marshal(map[string]any{
		"sub": "system:serviceaccount:ns1:puller",
		"kubernetes.io": map[string]any{
			"namespace":      "ns1",
			"serviceaccount": map[string]string{"name": "puller", "uid": "0f7a7c2e-fake-uid"},
		},
	})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + ".fake-signature"
}

func saRequestJSON(t *testing.T, image, token string, annotations map[string]string) string {
	b, err := json.Marshal(map[string]any{
		"kind": "CredentialProviderRequest", "apiVersion": gcrV1, "image": image,
		"serviceAccountToken": token, "serviceAccountAnnotations": annotations,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGCRServiceAccountToken(t *testing.T) {
	tests := []struct {
		name         string
		annotations  map[string]string
		wantSource   gcpfake.Endpoint
		wantIdentity string
	}{
		{"federated token", nil, gcpfake.STS, "federated:" + gcrPoolAud},
		{"impersonation", map[string]string{"iam.gke.io/gcp-service-account": gcrTarget}, gcpfake.IAMCredentials, gcrTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, env := startGoogleFake(t)
			tok := podToken(t)
			f.AcceptSubjectTokens(tok)
			r := runPlugin(t, "", env, saRequestJSON(t, "us-docker.pkg.dev/p/r/app", tok, tt.annotations),
				"--no-cache", "--backends=gcr", "--gcr-wi-audience="+gcrPoolAud,
				"--gcr-wi-token-url="+f.STSURL, "--gcr-wi-iam-credentials-url="+f.IAMCredentialsURL)
			_, it, _ := googleToken(t, f, r, "us-docker.pkg.dev")
			if it.Source != tt.wantSource || it.Identity != tt.wantIdentity {
				t.Errorf("token from %s for %s, want %s for %s", it.Source, it.Identity, tt.wantSource, tt.wantIdentity)
			}
			if got := f.LastSTSRequest(); got.Audience != gcrPoolAud || got.SubjectToken != tok {
				t.Errorf("STS got audience %q", got.Audience)
			}
			if f.Calls(gcpfake.MetadataToken) != 0 {
				t.Error("the node's token was fetched in service-account-token mode")
			}
			if strings.Contains(r.stderr, tok) {
				t.Error("stderr carries the pod token")
			}
		})
	}

	t.Run("refused token", func(t *testing.T) {
		f, env := startGoogleFake(t)
		tok := podToken(t)
		f.AcceptSubjectTokens("another")
		r := runPlugin(t, "", env, saRequestJSON(t, "gcr.io/p/app", tok, nil),
			"--no-cache", "--backends=gcr", "--gcr-wi-audience="+gcrPoolAud, "--gcr-wi-token-url="+f.STSURL)
		failsOneLine(t, r, "gcr.io", "workload identity", "invalid_grant")
		if strings.Contains(r.stderr, tok) {
			t.Error("stderr carries the pod token")
		}
	})
}

func TestGCRDropIn(t *testing.T) {
	const idp = "https://container.googleapis.com/v1/projects/fake-project/locations/us-central1/clusters/c1"
	cfg := `{"auths":{"registry.example.com":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("cfguser:fake-cfg-password")) + `"}}}`
	tests := []struct {
		name  string
		setup func(f *gcpfake.Server)
		args  []string
		stdin func(t *testing.T) string
		check func(t *testing.T, f *gcpfake.Server, r result)
	}{
		{
			name:  "gcr flow, v1beta1 request",
			args:  []string{"get-credentials", "--authFlow=gcr", "--v=2"},
			stdin: func(*testing.T) string { return request("credentialprovider.kubelet.k8s.io/v1beta1", "gcr.io/p/app") },
			check: func(t *testing.T, f *gcpfake.Server, r result) {
				if resp := decodeResponse(t, r); resp.APIVersion != "credentialprovider.kubelet.k8s.io/v1beta1" {
					t.Errorf("answered in %q", resp.APIVersion)
				}
				googleToken(t, f, r, "gcr.io")
			},
		},
		{
			name:  "gcr flow, workload identity not opted in uses the node",
			args:  []string{"get-credentials", "--authFlow=gcr", "--identity-provider", idp, "--project-id", "fake-project"},
			stdin: func(t *testing.T) string { return saRequestJSON(t, "gcr.io/p/app", podToken(t), nil) },
			check: func(t *testing.T, f *gcpfake.Server, r result) {
				if _, it, _ := googleToken(t, f, r, "gcr.io"); it.Source != gcpfake.MetadataToken {
					t.Errorf("token from %s, want the node's", it.Source)
				}
			},
		},
		{
			name:  "dockercfg flow",
			setup: func(f *gcpfake.Server) { f.SetAttribute("google-dockercfg", cfg) },
			args:  []string{"get-credentials", "--authFlow=dockercfg"},
			stdin: func(*testing.T) string { return request(gcrV1, "registry.example.com/team/app") },
			check: func(t *testing.T, f *gcpfake.Server, r result) {
				resp := decodeResponse(t, r)
				if a := resp.Auth["registry.example.com"]; a.Username != "cfguser" || a.Password != "fake-cfg-password" || len(resp.Auth) != 1 {
					t.Errorf("auth %v", resp.Auth)
				}
			},
		},
		{
			name: "dockercfg-url flow via the metadata server",
			setup: func(f *gcpfake.Server) {
				f.SetAttribute("stored-cfg", cfg)
				f.SetAttribute("google-dockercfg-url", "http://"+f.MetadataHost+"/computeMetadata/v1/instance/attributes/stored-cfg")
			},
			args:  []string{"get-credentials", "--authFlow=dockercfg-url"},
			stdin: func(*testing.T) string { return request(gcrV1, "registry.example.com/team/app") },
			check: func(t *testing.T, f *gcpfake.Server, r result) {
				if a := decodeResponse(t, r).Auth["registry.example.com"]; a.Password != "fake-cfg-password" {
					t.Errorf("auth %v", a)
				}
			},
		},
		{
			name:  "dockercfg flow without the attribute fails",
			args:  []string{"get-credentials", "--authFlow=dockercfg"},
			stdin: func(*testing.T) string { return request(gcrV1, "registry.example.com/team/app") },
			check: func(t *testing.T, f *gcpfake.Server, r result) {
				failsOneLine(t, r, "registry.example.com", "google-dockercfg is not set")
			},
		},
		{
			name:  "bad flow",
			args:  []string{"get-credentials", "--authFlow=bogus"},
			stdin: func(*testing.T) string { return request(gcrV1, "gcr.io/p/app") },
			check: func(t *testing.T, f *gcpfake.Server, r result) {
				if r.code == 0 || !strings.Contains(r.stderr, `invalid value "bogus" for --authFlow`) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
					t.Errorf("exit %d, stderr %q", r.code, r.stderr)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, env := startGoogleFake(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			r := runPlugin(t, "auth-provider-gcp", env, tt.stdin(t), tt.args...)
			tt.check(t, f, r)
		})
	}
}
