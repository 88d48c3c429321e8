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

func TestMetadataTokenForEachGoogleHost(t *testing.T) {
	f := startFake(t)
	p := newProvider(t, gcr.Config{})
	for _, host := range []string{"gcr.io", "us.gcr.io", "container.cloud.google.com", "us-docker.pkg.dev", "europe-west1-docker.pkg.dev", "docker.us-central1.rep.pkg.dev", "gcr.io:443"} {
		t.Run(host, func(t *testing.T) {
			before := time.Now()
			res, err := fetch(t, p, request(host))
			if err != nil {
				t.Fatalf("Credentials: %v", err)
			}
			tok := tokenOf(t, res, host)
			issued, ok := f.Lookup(tok)
			if !ok || !f.Valid(tok) {
				t.Fatalf("password is not a live token of the fake")
			}
			if issued.Source != gcpfake.MetadataToken || issued.Identity != gcpfake.DefaultEmail {
				t.Errorf("token from %s for %s, want the metadata server's default account", issued.Source, issued.Identity)
			}
			if d := res.Expiry.Sub(before.Add(time.Hour)); d < -time.Second || d > 5*time.Second {
				t.Errorf("expiry %v is not an hour from now", res.Expiry)
			}
		})
	}
}

func TestNonGoogleHostsNeverGetAToken(t *testing.T) {
	f := startFake(t)
	p := newProvider(t, gcr.Config{})
	for _, host := range []string{"docker.io", "registry.k8s.io", "gcr.io:5000", "gcr.io.example.com", "quay.io", "localhost:5000"} {
		t.Run(host, func(t *testing.T) {
			if p.Serves(providers.Image{Host: host, Path: "x"}) {
				t.Errorf("Serves(%q) = true", host)
			}
			res, err := fetch(t, p, request(host))
			if res != nil {
				t.Fatalf("got a result %v", keys(res.Auth))
			}
			checkOneLine(t, err, host, "not a Google registry")
		})
	}
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("the fake saw %d calls for non-Google hosts, want 0", n)
	}
}

func TestMetadataExpiry(t *testing.T) {
	tests := []struct {
		name       string
		lifetimes  []time.Duration
		wantExpiry time.Duration // from now; 0 with wantErr
		wantCalls  int
		wantErr    string
	}{
		{"expires_in honoured", []time.Duration{17 * time.Minute}, 17 * time.Minute, 1, ""},
		{"near expiry is fetched again", []time.Duration{30 * time.Second, 40 * time.Minute}, 40 * time.Minute, 2, ""},
		{"still near expiry is refused", []time.Duration{30 * time.Second}, 0, 2, "safety margin"},
		{"already expired is refused", []time.Duration{0}, 0, 1, "invalid expires_in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			f.SetTokenLifetimes(tt.lifetimes...)
			p := newProvider(t, gcr.Config{})
			before := time.Now()
			res, err := fetch(t, p, request("gcr.io"))
			if got := f.Calls(gcpfake.MetadataToken); got != tt.wantCalls {
				t.Errorf("%d token calls, want %d", got, tt.wantCalls)
			}
			if tt.wantErr != "" {
				if res != nil {
					t.Fatalf("got a result for a stale token")
				}
				checkOneLine(t, err, "gcr.io", "metadata server", tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := res.Expiry.Sub(before.Add(tt.wantExpiry)); d < -time.Second || d > 5*time.Second {
				t.Errorf("expiry in %v, want %v", time.Until(res.Expiry).Round(time.Second), tt.wantExpiry)
			}
			if !f.Valid(tokenOf(t, res, "gcr.io")) {
				t.Error("token not live at the fake")
			}
		})
	}
}

func TestMetadataScopes(t *testing.T) {
	tests := []struct {
		scopes  []string
		wantErr bool
	}{
		{[]string{gcpfake.ScopeCloudPlatform}, false},
		{[]string{gcpfake.ScopeLogging, gcpfake.ScopeStorageReadOnly}, false},
		{[]string{"https://www.googleapis.com/auth/devstorage.full_control"}, false},
		{[]string{"https://www.googleapis.com/auth/cloud-platform.read-only"}, false},
		{[]string{gcpfake.ScopeLogging}, true},
		{[]string{"https://www.googleapis.com/auth/compute"}, true},
		{nil, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.scopes, ","), func(t *testing.T) {
			f := startFake(t)
			f.SetScopes("default", tt.scopes...)
			res, err := fetch(t, newProvider(t, gcr.Config{}), request("us-docker.pkg.dev"))
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				tokenOf(t, res, "us-docker.pkg.dev")
				return
			}
			if res != nil {
				t.Fatal("got credentials without a registry scope")
			}
			checkOneLine(t, err, "us-docker.pkg.dev", "scope", "cloud-platform", "devstorage")
		})
	}
}

func TestMetadataNamedServiceAccount(t *testing.T) {
	f := startFake(t)
	const email = "puller@fake-project.iam.gserviceaccount.com"
	f.AddServiceAccount(email, gcpfake.ScopeCloudPlatform)
	res, err := fetch(t, newProvider(t, gcr.Config{ServiceAccount: email}), request("gcr.io"))
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := f.Lookup(tokenOf(t, res, "gcr.io")); it.Identity != email {
		t.Errorf("token for %q, want %q", it.Identity, email)
	}

	_, err = fetch(t, newProvider(t, gcr.Config{ServiceAccount: "missing@fake-project.iam.gserviceaccount.com"}), request("gcr.io"))
	checkOneLine(t, err, "gcr.io", "no service account", "missing@")

	f.RemoveDefaultServiceAccount()
	_, err = fetch(t, newProvider(t, gcr.Config{}), request("gcr.io"))
	checkOneLine(t, err, "gcr.io", `no service account "default"`)
}

func TestMetadataFailuresAreErrorsWithinTheBound(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*gcpfake.Server)
		timeout time.Duration
		want    string
	}{
		// The library retries 5xx with backoff (about 3 s at most), then gives up.
		{"server errors", func(f *gcpfake.Server) { f.FailNext(gcpfake.MetadataToken, 100, 503) }, 6 * time.Second, "503"},
		{"forbidden", func(f *gcpfake.Server) { f.FailNext(gcpfake.MetadataToken, 100, 403) }, time.Second, "403"},
		{"slow", func(f *gcpfake.Server) { f.SetDelay(gcpfake.MetadataToken, 10*time.Second) }, time.Second, "timed out (the bound is 1s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			tt.setup(f)
			p := newProvider(t, gcr.Config{Timeout: duration.Of(tt.timeout)})
			start := time.Now()
			res, err := fetch(t, p, request("gcr.io"))
			if el := time.Since(start); el > tt.timeout+time.Second {
				t.Errorf("took %v, want within the %v bound", el, tt.timeout)
			}
			if res != nil {
				t.Fatal("got credentials from a failing metadata server")
			}
			checkOneLine(t, err, "gcr.io", "metadata server", tt.want)
		})
	}
}

func TestNotOnGCEFailsFastWithoutNetwork(t *testing.T) {
	f := startFake(t)
	t.Setenv("GCE_METADATA_HOST", "")
	p := newProvider(t, gcr.Config{}, notGCE(t))
	start := time.Now()
	res, err := fetch(t, p, request("gcr.io"))
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("took %v to find nothing configured, want fast", el)
	}
	if res != nil {
		t.Fatal("got credentials with no source")
	}
	checkOneLine(t, err, "gcr.io", "no Google credentials", "GOOGLE_APPLICATION_CREDENTIALS", "not on GCE")
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("%d calls reached the fake", n)
	}
}

func TestGCEDetectionFromProductName(t *testing.T) {
	f := startFake(t)
	// The DMI name says GCE; without GCE_METADATA_HOST the library would go to
	// 169.254.169.254, so only check the decision itself.
	t.Setenv("GCE_METADATA_HOST", "")
	for _, tt := range []struct {
		content string
		want    bool
	}{{"Google Compute Engine\n", true}, {"Google", true}, {"Standard PC", false}, {"", false}} {
		p := newProvider(t, gcr.Config{}, WithProductNameFile(writeFile(t, "product_name", tt.content)))
		if got := p.onGCE(t.Context()); got != tt.want {
			t.Errorf("product name %q: onGCE = %v, want %v", tt.content, got, tt.want)
		}
	}
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("%d calls reached the fake", n)
	}
}

func TestSourcesOrder(t *testing.T) {
	const keyEmail = "keyfile-sa@fake-project.iam.gserviceaccount.com"
	tests := []struct {
		name       string
		sources    []string
		keyFile    bool
		wantSource gcpfake.Endpoint
	}{
		{"default: key file first when named", nil, true, gcpfake.OAuth2},
		{"default: metadata without a key file", nil, false, gcpfake.MetadataToken},
		{"metadata first", []string{gcr.SourceMetadata, gcr.SourceKeyFile}, true, gcpfake.MetadataToken},
		{"key file only", []string{gcr.SourceKeyFile}, true, gcpfake.OAuth2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			if tt.keyFile {
				t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeJSON(t, serviceAccountKey(t, f, keyEmail)))
			}
			res, err := fetch(t, newProvider(t, gcr.Config{Sources: tt.sources}), request("gcr.io"))
			if err != nil {
				t.Fatal(err)
			}
			it, _ := f.Lookup(tokenOf(t, res, "gcr.io"))
			if it.Source != tt.wantSource {
				t.Errorf("token from %s, want %s", it.Source, tt.wantSource)
			}
		})
	}
}

func TestKeyFileOnlyWithoutKey(t *testing.T) {
	f := startFake(t)
	_, err := fetch(t, newProvider(t, gcr.Config{Sources: []string{gcr.SourceKeyFile}}), request("gcr.io"))
	checkOneLine(t, err, "gcr.io", "no Google credentials", "GOOGLE_APPLICATION_CREDENTIALS is not set")
	if n := f.TotalCalls(); n != 0 {
		t.Errorf("%d calls reached the fake", n)
	}
}

func TestCredentialsRespectTheCallersContext(t *testing.T) {
	f := startFake(t)
	f.SetDelay(gcpfake.MetadataToken, 5*time.Second)
	p := newProvider(t, gcr.Config{})
	ctx, cancel := contextWithTimeout(t, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Credentials(ctx, request("gcr.io"))
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v past the caller's 300ms deadline", el)
	}
	checkOneLine(t, err, "gcr.io", "timed out")
}
