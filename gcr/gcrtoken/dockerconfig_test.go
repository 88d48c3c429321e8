package gcrtoken

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/providers"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

func dockerConfigJSON(entries map[string][2]string) string {
	var parts []string
	for k, up := range entries {
		parts = append(parts, `"`+k+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte(up[0]+":"+up[1]))+`"}`)
	}
	return `{"auths":{` + strings.Join(parts, ",") + `}}`
}

func TestDockerCfgAttribute(t *testing.T) {
	cfg := dockerConfigJSON(map[string][2]string{
		"https://registry.example.com/v1/": {"ruser", "fake-registry-password"},
		"gcr.io":                           {"guser", "fake-gcr-password"},
		"*.corp.example":                   {"cuser", "fake-corp-password"},
		"paths.example.com/teamA":          {"auser", "fake-a-password"},
		"paths.example.com/teamB":          {"buser", "fake-b-password"},
		"https://index.docker.io/v1/":      {"huser", "fake-hub-password"},
	})
	tests := []struct {
		name     string
		host     string
		wantKeys map[string]providers.AuthConfig
		wantErr  string
	}{
		{"a listed registry", "registry.example.com", map[string]providers.AuthConfig{"registry.example.com": {Username: "ruser", Password: "fake-registry-password"}}, ""},
		{"a Google registry", "gcr.io", map[string]providers.AuthConfig{"gcr.io": {Username: "guser", Password: "fake-gcr-password"}}, ""},
		{"a glob entry", "reg.corp.example", map[string]providers.AuthConfig{"*.corp.example": {Username: "cuser", Password: "fake-corp-password"}}, ""},
		// A Registry-keyed answer must hold for every repository on the host: every
		// entry of the host is returned and the kubelet matches the path.
		{"entries with paths", "paths.example.com", map[string]providers.AuthConfig{
			"paths.example.com/teamA": {Username: "auser", Password: "fake-a-password"},
			"paths.example.com/teamB": {Username: "buser", Password: "fake-b-password"}}, ""},
		{"Docker Hub", "docker.io", map[string]providers.AuthConfig{"index.docker.io": {Username: "huser", Password: "fake-hub-password"}}, ""},
		{"an unlisted registry", "quay.io", nil, "no entry for this registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			f.SetAttribute(AttributeDockerCfg, cfg)
			p := newProvider(t, gcr.Config{Sources: []string{gcr.SourceDockerCfg}, DockerConfigAnyHost: true})
			if !p.Serves(providers.Image{Host: tt.host}) {
				t.Fatalf("Serves(%q) = false with DockerConfigAnyHost", tt.host)
			}
			res, err := fetch(t, p, request(tt.host))
			if tt.wantErr != "" {
				checkOneLine(t, err, tt.host, AttributeDockerCfg, tt.wantErr)
				if strings.Contains(err.Error(), "fake-") {
					t.Errorf("error leaks a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Auth) != len(tt.wantKeys) {
				t.Fatalf("auth %v, want %v", res.Auth, tt.wantKeys)
			}
			for k, v := range tt.wantKeys {
				if res.Auth[k] != v {
					t.Errorf("auth[%q] = %v, want %v", k, res.Auth[k], v)
				}
			}
			if res.CacheKeyType != providers.RegistryPluginCacheKeyType || res.CacheDuration != dockerConfigCacheDuration || !res.Expiry.IsZero() {
				t.Errorf("cacheKeyType %q duration %v expiry %v", res.CacheKeyType, res.CacheDuration, res.Expiry)
			}
		})
	}
}

func TestDockerCfgNeverRunsCredentialHelpers(t *testing.T) {
	f := startFake(t)
	marker := writeFile(t, "ran", "")
	helper := writeFile(t, "docker-credential-evil", "#!/bin/sh\necho ran > "+marker+"\n")
	if err := os.Chmod(helper, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Dir(helper)+string(os.PathListSeparator)+os.Getenv("PATH"))
	f.SetAttribute(AttributeDockerCfg, `{"auths":{},"credHelpers":{"registry.example.com":"evil"},"credsStore":"evil"}`)
	_, err := fetch(t, newProvider(t, gcr.Config{Sources: []string{gcr.SourceDockerCfg}, DockerConfigAnyHost: true}), request("registry.example.com"))
	checkOneLine(t, err, "registry.example.com", "no entry for this registry")
	if b, _ := os.ReadFile(marker); len(b) != 0 {
		t.Error("a credential helper named by the metadata attribute was run")
	}
}

func TestDockerCfgOnlyGoogleHostsWithoutAnyHost(t *testing.T) {
	startFake(t)
	p := newProvider(t, gcr.Config{Sources: []string{gcr.SourceDockerCfg}})
	if p.Serves(providers.Image{Host: "registry.example.com"}) || !p.Serves(providers.Image{Host: "gcr.io"}) {
		t.Error("without DockerConfigAnyHost the backend must serve Google hosts only")
	}
}

func TestDockerCfgAttributeMissingOrBad(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		value *string
		want  []string
	}{
		{"google-dockercfg not set", gcr.SourceDockerCfg, nil, []string{"no Google credentials", "instance attribute google-dockercfg is not set"}},
		{"google-dockercfg-url not set", gcr.SourceDockerCfgURL, nil, []string{"no Google credentials", "instance attribute google-dockercfg-url is not set"}},
		{"not JSON", gcr.SourceDockerCfg, ptr("{nope"), []string{"docker config: malformed JSON"}},
		{"too large", gcr.SourceDockerCfg, ptr(`{"auths":{}, "x":"` + strings.Repeat("a", maxDockerConfigBytes) + `"}`), []string{"larger than"}},
		{"plain http elsewhere", gcr.SourceDockerCfgURL, ptr("http://127.0.0.1:1/cfg?sig=fake-signature"), []string{"plain http is only allowed to the metadata server"}},
		{"file scheme", gcr.SourceDockerCfgURL, ptr("file:///etc/shadow"), []string{`URL scheme "file" is not supported`}},
		{"relative", gcr.SourceDockerCfgURL, ptr("cfg.json"), []string{"not an absolute URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			if tt.value != nil {
				f.SetAttribute(attributeFor(tt.src), *tt.value)
			}
			res, err := fetch(t, newProvider(t, gcr.Config{Sources: []string{tt.src}, DockerConfigAnyHost: true}), request("registry.example.com"))
			if res != nil {
				t.Fatal("got credentials")
			}
			checkOneLine(t, err, "registry.example.com", tt.want...)
			if strings.Contains(err.Error(), "fake-signature") {
				t.Errorf("error leaks the URL's query: %v", err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestDockerCfgURL(t *testing.T) {
	body := dockerConfigJSON(map[string][2]string{"registry.example.com": {"uuser", "fake-url-password"}})
	var tlsHits atomic.Int32
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tlsHits.Add(1)
		switch r.URL.Path {
		case "/cfg":
			_, _ = w.Write([]byte(body))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat(" ", maxDockerConfigBytes+1)))
		case "/to-http":
			http.Redirect(w, r, "http://127.0.0.1:1/cfg", http.StatusFound)
		case "/to-https":
			http.Redirect(w, r, "/cfg", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer tlsSrv.Close()

	tests := []struct {
		name    string
		url     func(f *gcpfake.Server) string
		wantErr []string
	}{
		{"https", func(*gcpfake.Server) string { return tlsSrv.URL + "/cfg?sig=fake-signature" }, nil},
		{"https redirect to https", func(*gcpfake.Server) string { return tlsSrv.URL + "/to-https" }, nil},
		{"metadata server", func(f *gcpfake.Server) string {
			f.SetAttribute("my-cfg", body)
			return "http://" + f.MetadataHost + "/computeMetadata/v1/instance/attributes/my-cfg"
		}, nil},
		{"https redirect to http", func(*gcpfake.Server) string { return tlsSrv.URL + "/to-http" }, []string{"redirect to a non-https URL refused"}},
		{"https too large", func(*gcpfake.Server) string { return tlsSrv.URL + "/big" }, []string{"larger than"}},
		{"https 404", func(*gcpfake.Server) string { return tlsSrv.URL + "/missing?sig=fake-signature" }, []string{"/missing: HTTP status 404"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			f.SetAttribute(AttributeDockerCfgURL, tt.url(f)+"\n")
			p := newProvider(t, gcr.Config{Sources: []string{gcr.SourceDockerCfgURL}, DockerConfigAnyHost: true}, WithHTTPTransport(tlsSrv.Client().Transport))
			res, err := fetch(t, p, request("registry.example.com"))
			if tt.wantErr != nil {
				if res != nil {
					t.Fatal("got credentials")
				}
				checkOneLine(t, err, "registry.example.com", append([]string{AttributeDockerCfgURL}, tt.wantErr...)...)
				if strings.Contains(err.Error(), "fake-signature") {
					t.Errorf("error leaks the URL's query: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Auth["registry.example.com"]; got.Username != "uuser" || got.Password != "fake-url-password" {
				t.Errorf("auth %v", res.Auth)
			}
		})
	}
}

func TestDockerCfgURLPlainHTTPNeverContacted(t *testing.T) {
	var hits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer plain.Close()
	f := startFake(t)
	f.SetAttribute(AttributeDockerCfgURL, plain.URL+"/cfg")
	_, err := fetch(t, newProvider(t, gcr.Config{Sources: []string{gcr.SourceDockerCfgURL}, DockerConfigAnyHost: true, Timeout: duration.Of(2 * time.Second)}), request("registry.example.com"))
	checkOneLine(t, err, "registry.example.com", "plain http")
	if hits.Load() != 0 {
		t.Errorf("the plain http URL was fetched %d times", hits.Load())
	}
}

func TestCheckDockerConfigURL(t *testing.T) {
	tests := []struct {
		raw, env string
		ok, mds  bool
	}{
		{"https://storage.example.com/cfg.json", "", true, false},
		{"http://metadata.google.internal/computeMetadata/v1/instance/attributes/x", "", true, true},
		{"http://metadata.google.internal./computeMetadata/v1/x", "", true, true},
		{"http://169.254.169.254/computeMetadata/v1/x", "", true, true},
		{"http://169.254.169.254:80/computeMetadata/v1/x", "", true, true},
		{"http://127.0.0.1:8080/x", "127.0.0.1:8080", true, true},
		{"http://127.0.0.1:8081/x", "127.0.0.1:8080", false, false},
		{"http://metadata.google.internal.evil.example/x", "", false, false},
		{"http://169.254.169.254:8080/x", "", false, false},
		{"http://user:pw@metadata.google.internal/x", "", false, false},
		{"ftp://example.com/x", "", false, false},
		{"https:///nohost", "", false, false},
		{"mailto:x@example.com", "", false, false},
	}
	for _, tt := range tests {
		_, mds, err := checkDockerConfigURL(tt.raw, tt.env)
		if (err == nil) != tt.ok || mds != tt.mds {
			t.Errorf("checkDockerConfigURL(%q, %q) = mds %v, err %v; want ok %v mds %v", tt.raw, tt.env, mds, err, tt.ok, tt.mds)
		}
	}
}

func FuzzCheckDockerConfigURL(f *testing.F) {
	f.Add("https://example.com/x?sig=y", "")
	f.Add("http://metadata.google.internal/x", "")
	f.Add("http://127.0.0.1:1/x", "127.0.0.1:1")
	f.Fuzz(func(t *testing.T, raw, env string) {
		u, mds, err := checkDockerConfigURL(raw, env)
		if err != nil {
			return
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && mds) {
			t.Fatalf("%q accepted with scheme %q (metadata %v)", raw, u.Scheme, mds)
		}
		if mds && u.User != nil {
			t.Fatalf("%q: metadata URL with user info accepted", raw)
		}
		if r := redactURL(u); strings.Contains(r, "?") && u.RawQuery != "" && strings.Contains(r, u.RawQuery) {
			t.Fatalf("redacted %q keeps the query", r)
		}
	})
}
