package gcrtoken

import (
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

const podToken1 = "fake-pod-sa-token-1"

func wiConfig(f *gcpfake.Server, w gcr.WorkloadIdentity) gcr.Config {
	w.TokenURL, w.IAMCredentialsURL = f.STSURL, f.IAMCredentialsURL
	return gcr.Config{WorkloadIdentity: w}
}

func TestServiceAccountTokenExchange(t *testing.T) {
	const gkeProvider = "https://container.googleapis.com/v1/projects/fake-project/locations/us-central1/clusters/c1"
	tests := []struct {
		name         string
		wi           gcr.WorkloadIdentity
		annotations  map[string]string
		wantAudience string
		wantSource   gcpfake.Endpoint
		wantIdentity string
	}{
		{
			name:         "pool provider, federated token",
			wi:           gcr.WorkloadIdentity{Audience: poolAud},
			wantAudience: poolAud,
			wantSource:   gcpfake.STS,
			wantIdentity: "federated:" + poolAud,
		},
		{
			name:         "GKE form from project and identity provider",
			wi:           gcr.WorkloadIdentity{ProjectID: "fake-project", IdentityProvider: gkeProvider},
			wantAudience: "identitynamespace:fake-project.svc.id.goog:" + gkeProvider,
			wantSource:   gcpfake.STS,
			wantIdentity: "federated:identitynamespace:fake-project.svc.id.goog:" + gkeProvider,
		},
		{
			name:         "impersonation from the annotation",
			wi:           gcr.WorkloadIdentity{Audience: poolAud},
			annotations:  map[string]string{gcr.AnnotationServiceAccount: targetEmail},
			wantAudience: poolAud,
			wantSource:   gcpfake.IAMCredentials,
			wantIdentity: targetEmail,
		},
		{
			name:         "impersonation from the configuration",
			wi:           gcr.WorkloadIdentity{Audience: poolAud, ServiceAccount: "configured@fake-project.iam.gserviceaccount.com"},
			wantAudience: poolAud,
			wantSource:   gcpfake.IAMCredentials,
			wantIdentity: "configured@fake-project.iam.gserviceaccount.com",
		},
		{
			name:         "annotation wins over configuration",
			wi:           gcr.WorkloadIdentity{Audience: poolAud, ServiceAccount: "configured@fake-project.iam.gserviceaccount.com"},
			annotations:  map[string]string{gcr.AnnotationServiceAccount: targetEmail},
			wantAudience: poolAud,
			wantSource:   gcpfake.IAMCredentials,
			wantIdentity: targetEmail,
		},
		{
			name:         "opted in when required",
			wi:           gcr.WorkloadIdentity{ProjectID: "fake-project", IdentityProvider: gkeProvider, RequireOptIn: true},
			annotations:  map[string]string{gcr.AnnotationEnableImagePull: "true", gcr.AnnotationServiceAccount: targetEmail},
			wantAudience: "identitynamespace:fake-project.svc.id.goog:" + gkeProvider,
			wantSource:   gcpfake.IAMCredentials,
			wantIdentity: targetEmail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			f.AcceptSubjectTokens(podToken1)
			p := newProvider(t, wiConfig(f, tt.wi))
			host := "docker.us-central1.rep.pkg.dev"
			res, err := fetch(t, p, saRequest(host, podToken1, tt.annotations))
			if err != nil {
				t.Fatal(err)
			}
			tok := tokenOf(t, res, host)
			it, ok := f.Lookup(tok)
			if !ok || !f.Valid(tok) {
				t.Fatal("password is not a live token of the fake")
			}
			if it.Source != tt.wantSource || it.Identity != tt.wantIdentity {
				t.Errorf("token from %s for %s, want %s for %s", it.Source, it.Identity, tt.wantSource, tt.wantIdentity)
			}
			sts := f.LastSTSRequest()
			if sts.Audience != tt.wantAudience || sts.SubjectToken != podToken1 ||
				sts.SubjectTokenType != "urn:ietf:params:oauth:token-type:jwt" ||
				sts.GrantType != "urn:ietf:params:oauth:grant-type:token-exchange" {
				t.Errorf("STS request %+v", sts)
			}
			if tt.wantSource == gcpfake.IAMCredentials {
				imp := f.LastImpersonation()
				if !strings.HasPrefix(imp.Caller, "federated:") || strings.Join(imp.Scope, " ") != gcr.DefaultScopes[0] {
					t.Errorf("impersonation %+v, want a federated caller asking cloud-platform", imp)
				}
			}
			if d := time.Until(res.Expiry); d < 59*time.Minute || d > 61*time.Minute {
				t.Errorf("expiry in %v, want an hour", d)
			}
			if f.Calls(gcpfake.MetadataToken) != 0 {
				t.Error("the node's metadata token was fetched in service-account-token mode")
			}
		})
	}
}

func TestServiceAccountTokenFallsBackToNodeCredentials(t *testing.T) {
	tests := []struct {
		name string
		wi   gcr.WorkloadIdentity
		req  providers.Request
	}{
		{"workload identity not configured", gcr.WorkloadIdentity{}, saRequest("gcr.io", podToken1, nil)},
		{"not opted in", gcr.WorkloadIdentity{Audience: poolAud, RequireOptIn: true}, saRequest("gcr.io", podToken1, map[string]string{gcr.AnnotationServiceAccount: targetEmail})},
		{"opt-in not true", gcr.WorkloadIdentity{Audience: poolAud, RequireOptIn: true}, saRequest("gcr.io", podToken1, map[string]string{gcr.AnnotationEnableImagePull: "false"})},
		{"no service account in the request", gcr.WorkloadIdentity{Audience: poolAud}, request("gcr.io")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			res, err := fetch(t, newProvider(t, wiConfig(f, tt.wi)), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if it, _ := f.Lookup(tokenOf(t, res, "gcr.io")); it.Source != gcpfake.MetadataToken {
				t.Errorf("token from %s, want the node's metadata token", it.Source)
			}
			if f.Calls(gcpfake.STS) != 0 {
				t.Error("STS was called")
			}
		})
	}
}

func TestServiceAccountTokenFailures(t *testing.T) {
	tests := []struct {
		name  string
		wi    gcr.WorkloadIdentity
		setup func(*gcpfake.Server)
		req   providers.Request
		want  []string
	}{
		{
			name:  "STS refuses the token",
			wi:    gcr.WorkloadIdentity{Audience: poolAud},
			setup: func(f *gcpfake.Server) { f.AcceptSubjectTokens("another-token") },
			req:   saRequest("gcr.io", podToken1, nil),
			want:  []string{"workload identity (audience " + poolAud + ")", "invalid_grant"},
		},
		{
			name:  "impersonation fails",
			wi:    gcr.WorkloadIdentity{Audience: poolAud},
			setup: func(f *gcpfake.Server) { f.FailNext(gcpfake.IAMCredentials, 10, 403) },
			req:   saRequest("gcr.io", podToken1, map[string]string{gcr.AnnotationServiceAccount: targetEmail}),
			want:  []string{"workload identity as " + targetEmail, "403"},
		},
		{
			name: "STS slow",
			wi:   gcr.WorkloadIdentity{Audience: poolAud},
			setup: func(f *gcpfake.Server) {
				f.SetDelay(gcpfake.STS, 10*time.Second)
			},
			req:  saRequest("gcr.io", podToken1, nil),
			want: []string{"timed out"},
		},
		{
			name:  "short-lived federated token",
			wi:    gcr.WorkloadIdentity{Audience: poolAud},
			setup: func(f *gcpfake.Server) { f.SetSTSLifetime(30 * time.Second) },
			req:   saRequest("gcr.io", podToken1, nil),
			want:  []string{"safety margin"},
		},
		{
			name: "annotation is not an email",
			wi:   gcr.WorkloadIdentity{Audience: poolAud},
			req:  saRequest("gcr.io", podToken1, map[string]string{gcr.AnnotationServiceAccount: "x/../../evil"}),
			want: []string{gcr.AnnotationServiceAccount, "not a service account email"},
		},
		{
			name: "opted in without a token",
			wi:   gcr.WorkloadIdentity{Audience: poolAud, RequireOptIn: true},
			req:  saRequest("gcr.io", "", map[string]string{gcr.AnnotationEnableImagePull: "true"}),
			want: []string{"no service account token"},
		},
		{
			name: "workload identity token for a non-Google host",
			wi:   gcr.WorkloadIdentity{Audience: poolAud},
			req: func() providers.Request {
				r := saRequest("registry.example.com", podToken1, nil)
				return r
			}(),
			want: []string{"not a Google registry"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			cfg := wiConfig(f, tt.wi)
			cfg.Timeout = duration.Of(time.Second)
			res, err := fetch(t, newProvider(t, cfg), tt.req)
			if res != nil {
				t.Fatal("got credentials")
			}
			checkOneLine(t, err, tt.req.Image.Host, tt.want...)
			if strings.Contains(err.Error(), podToken1) {
				t.Errorf("error leaks the pod token: %v", err)
			}
			if f.Calls(gcpfake.MetadataToken) != 0 {
				t.Error("fell back to the node's metadata token after a workload identity failure")
			}
		})
	}
}

func TestErrorsRedactThePodToken(t *testing.T) {
	// A server that echoes what it was sent must not get the token into our error.
	err := registryError("gcr.io", describe(errString("status 400: bad subject_token "+podToken1+"\nmore"), time.Second, podToken1))
	if strings.Contains(err.Error(), podToken1) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q", err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestCacheIdentity(t *testing.T) {
	f := startFake(t)
	wi := wiConfig(f, gcr.WorkloadIdentity{Audience: poolAud, ServiceAccount: "configured@fake-project.iam.gserviceaccount.com"})
	p := newProvider(t, wi)
	node := newProvider(t, gcr.Config{})
	id := func(p *Provider, r providers.Request) string {
		s, scope := p.CacheIdentity(r)
		if scope != providers.RegistryPluginCacheKeyType {
			t.Errorf("scope %q, want Registry", scope)
		}
		if strings.Contains(s, podToken1) || strings.Contains(s, "token-2") {
			t.Errorf("identity %q carries the pod token", s)
		}
		return s
	}
	annotated := map[string]string{gcr.AnnotationServiceAccount: targetEmail}
	same := [][2]string{
		{id(p, saRequest("gcr.io", podToken1, nil)), id(p, saRequest("gcr.io", "token-2", nil))},
		{id(p, saRequest("gcr.io", podToken1, annotated)), id(p, saRequest("us.gcr.io", "token-2", annotated))},
		{id(node, request("gcr.io")), id(node, saRequest("gcr.io", podToken1, nil))},
	}
	for _, s := range same {
		if s[0] != s[1] {
			t.Errorf("identities differ: %q vs %q", s[0], s[1])
		}
	}
	distinct := []string{
		id(p, saRequest("gcr.io", podToken1, nil)),
		id(p, saRequest("gcr.io", podToken1, annotated)),
		id(p, request("gcr.io")),
		id(newProvider(t, wiConfig(f, gcr.WorkloadIdentity{Audience: poolAud + "2"})), saRequest("gcr.io", podToken1, nil)),
		id(newProvider(t, gcr.Config{ServiceAccount: targetEmail}), request("gcr.io")),
		id(newProvider(t, gcr.Config{KeyFile: "/etc/a.json"}), request("gcr.io")),
		id(newProvider(t, gcr.Config{KeyFile: "/etc/b.json"}), request("gcr.io")),
	}
	seen := map[string]int{}
	for i, s := range distinct {
		if j, ok := seen[s]; ok {
			t.Errorf("identity %d equals identity %d: %q", i, j, s)
		}
		seen[s] = i
		if !strings.Contains(distinct[1], targetEmail) {
			t.Errorf("identity %q does not name the impersonated account", distinct[1])
		}
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "/etc/env.json")
	if a, b := id(node, request("gcr.io")), distinct[2]; a == b {
		t.Errorf("GOOGLE_APPLICATION_CREDENTIALS does not change the identity: %q", a)
	}
	if f.TotalCalls() != 0 {
		t.Error("CacheIdentity touched the network")
	}
}
