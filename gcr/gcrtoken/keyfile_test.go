package gcrtoken

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

const (
	keyEmail    = "key-sa@fake-project.iam.gserviceaccount.com"
	targetEmail = "puller@fake-project.iam.gserviceaccount.com"
	poolAud     = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/pool/providers/prov"
)

func TestKeyFileCredentials(t *testing.T) {
	tests := []struct {
		name         string
		creds        func(t *testing.T, f *gcpfake.Server) map[string]any
		wantSource   gcpfake.Endpoint
		wantIdentity string
	}{
		{
			name:         "service_account key",
			creds:        func(t *testing.T, f *gcpfake.Server) map[string]any { return serviceAccountKey(t, f, keyEmail) },
			wantSource:   gcpfake.OAuth2,
			wantIdentity: keyEmail,
		},
		{
			name: "impersonated_service_account",
			creds: func(t *testing.T, f *gcpfake.Server) map[string]any {
				return map[string]any{
					"type":                              "impersonated_service_account",
					"service_account_impersonation_url": f.ImpersonationURL(targetEmail),
					"source_credentials":                serviceAccountKey(t, f, keyEmail),
				}
			},
			wantSource:   gcpfake.IAMCredentials,
			wantIdentity: targetEmail,
		},
		{
			name: "external_account (workload identity federation, file subject token)",
			creds: func(t *testing.T, f *gcpfake.Server) map[string]any {
				return map[string]any{
					"type":               "external_account",
					"audience":           poolAud,
					"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
					"token_url":          f.STSURL,
					"credential_source":  map[string]any{"file": writeFile(t, "oidc-token", "fake-oidc-subject-token")},
				}
			},
			wantSource:   gcpfake.STS,
			wantIdentity: "federated:" + poolAud,
		},
		{
			name: "external_account with impersonation",
			creds: func(t *testing.T, f *gcpfake.Server) map[string]any {
				return map[string]any{
					"type":                              "external_account",
					"audience":                          poolAud,
					"subject_token_type":                "urn:ietf:params:oauth:token-type:jwt",
					"token_url":                         f.STSURL,
					"service_account_impersonation_url": f.ImpersonationURL(targetEmail),
					"credential_source":                 map[string]any{"file": writeFile(t, "oidc-token", "fake-oidc-subject-token")},
				}
			},
			wantSource:   gcpfake.IAMCredentials,
			wantIdentity: targetEmail,
		},
	}
	for _, tt := range tests {
		for _, via := range []string{"env", "config"} {
			t.Run(tt.name+" via "+via, func(t *testing.T) {
				f := startFake(t)
				path := writeJSON(t, tt.creds(t, f))
				cfg := gcr.Config{Sources: []string{gcr.SourceKeyFile}}
				if via == "env" {
					t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
				} else {
					cfg.KeyFile = path
				}
				before := time.Now()
				res, err := fetch(t, newProvider(t, cfg), request("europe-west1-docker.pkg.dev"))
				if err != nil {
					t.Fatal(err)
				}
				tok := tokenOf(t, res, "europe-west1-docker.pkg.dev")
				it, ok := f.Lookup(tok)
				if !ok || !f.Valid(tok) {
					t.Fatal("password is not a live token of the fake")
				}
				if it.Source != tt.wantSource || it.Identity != tt.wantIdentity {
					t.Errorf("token from %s for %s, want %s for %s", it.Source, it.Identity, tt.wantSource, tt.wantIdentity)
				}
				if d := res.Expiry.Sub(before.Add(time.Hour)); d < -5*time.Second || d > 5*time.Second {
					t.Errorf("expiry in %v, want about an hour", time.Until(res.Expiry))
				}
				if f.Calls(gcpfake.MetadataToken) != 0 {
					t.Error("the metadata server was asked although a key file is named")
				}
			})
		}
	}
}

func TestKeyFileScopes(t *testing.T) {
	f := startFake(t)
	imp := map[string]any{
		"type":                              "impersonated_service_account",
		"service_account_impersonation_url": f.ImpersonationURL(targetEmail),
		"source_credentials":                serviceAccountKey(t, f, keyEmail),
	}
	cfg := gcr.Config{KeyFile: writeJSON(t, imp), Scopes: []string{gcpfake.ScopeStorageReadOnly}}
	if _, err := fetch(t, newProvider(t, cfg), request("gcr.io")); err != nil {
		t.Fatal(err)
	}
	got := f.LastImpersonation()
	if strings.Join(got.Scope, " ") != gcpfake.ScopeStorageReadOnly || got.Caller != keyEmail {
		t.Errorf("impersonation asked scopes %v as %s, want [%s] as %s", got.Scope, got.Caller, gcpfake.ScopeStorageReadOnly, keyEmail)
	}
}

// osNotExist is what the operating system says of the missing file at path: "no such
// file or directory" on Linux, "The system cannot find the path specified." on Windows.
func osNotExist(t *testing.T, path string) string {
	t.Helper()
	_, err := os.Open(path)
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("opening %s: %v, want a missing file", path, err)
	}
	return pe.Err.Error()
}

func TestKeyFileFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *gcpfake.Server) string // returns the key file path
		want  []string
	}{
		{"missing file", func(t *testing.T, f *gcpfake.Server) string { return "/nonexistent/creds.json" }, []string{"key file /nonexistent/creds.json", osNotExist(t, "/nonexistent/creds.json")}},
		{"not JSON", func(t *testing.T, f *gcpfake.Server) string { return writeFile(t, "c.json", "not json") }, []string{"not a JSON credentials file"}},
		{"unsupported type", func(t *testing.T, f *gcpfake.Server) string {
			return writeJSON(t, map[string]any{"type": "gdch_service_account"})
		}, []string{`"gdch_service_account" is not supported`}},
		{"no type", func(t *testing.T, f *gcpfake.Server) string { return writeJSON(t, map[string]any{}) }, []string{`no "type"`}},
		{"key unknown to the token endpoint", func(t *testing.T, f *gcpfake.Server) string {
			k := serviceAccountKey(t, f, keyEmail)
			k["client_email"] = "other@fake-project.iam.gserviceaccount.com"
			return writeJSON(t, k)
		}, []string{"key file", "invalid_grant"}},
		{"token endpoint down", func(t *testing.T, f *gcpfake.Server) string {
			f.FailNext(gcpfake.OAuth2, 100, 500)
			return writeJSON(t, serviceAccountKey(t, f, keyEmail))
		}, []string{"key file", "500"}},
		{"short-lived token", func(t *testing.T, f *gcpfake.Server) string {
			f.SetOAuth2Lifetime(20 * time.Second)
			return writeJSON(t, serviceAccountKey(t, f, keyEmail))
		}, []string{"safety margin"}},
		{"STS refuses the subject token", func(t *testing.T, f *gcpfake.Server) string {
			f.AcceptSubjectTokens("some-other-token")
			return writeJSON(t, map[string]any{
				"type": "external_account", "audience": poolAud, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
				"token_url": f.STSURL, "credential_source": map[string]any{"file": writeFile(t, "oidc", "fake-oidc-subject-token")},
			})
		}, []string{"invalid_grant"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			cfg := gcr.Config{KeyFile: tt.setup(t, f), Timeout: duration.Of(5 * time.Second)}
			res, err := fetch(t, newProvider(t, cfg), request("gcr.io"))
			if res != nil {
				t.Fatal("got credentials")
			}
			checkOneLine(t, err, "gcr.io", tt.want...)
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "fake-oidc-subject-token") {
				t.Errorf("error leaks a secret: %v", err)
			}
			if f.Calls(gcpfake.MetadataToken) != 0 {
				t.Error("fell through to the metadata server after a key file failure")
			}
		})
	}
}

func FuzzKeyFileType(f *testing.F) {
	f.Add([]byte(`{"type":"service_account"}`))
	f.Add([]byte(`{"type":"gdch_service_account"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, err := keyFileType(data)
		if err != nil {
			if strings.Contains(err.Error(), "private_key") {
				t.Fatalf("error quotes the file: %v", err)
			}
			return
		}
		found := false
		for _, k := range keyFileTypes {
			found = found || typ == k
		}
		if !found {
			t.Fatalf("accepted type %q", typ)
		}
	})
}
