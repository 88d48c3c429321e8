package gcr

import (
	"errors"
	"flag"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/internal/cliargs"
	"github.com/imagecred/image-credential-provider/internal/duration"
)

func TestDropInConfig(t *testing.T) {
	const idp = "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c"
	tests := []struct {
		name    string
		args    []string
		want    Config
		wantErr string
	}{
		{"default flow", []string{"get-credentials"}, Config{}, ""},
		{"gcr flow", []string{"get-credentials", "--authFlow=gcr"}, Config{}, ""},
		{"gcr flow, separate value", []string{"get-credentials", "--authFlow", "gcr", "--v=3"}, Config{Verbosity: 3}, ""},
		{"shorthand", []string{"get-credentials", "-a", "dockercfg"}, Config{Sources: []string{SourceDockerCfg}, DockerConfigAnyHost: true}, ""},
		{"dockercfg-url", []string{"get-credentials", "--authFlow=dockercfg-url"}, Config{Sources: []string{SourceDockerCfgURL}, DockerConfigAnyHost: true}, ""},
		{"klog flags around the command", []string{"--v=2", "--logtostderr", "get-credentials", "--authFlow=gcr", "--alsologtostderr=false", "--stderrthreshold=INFO", "-v", "4"}, Config{Verbosity: 4}, ""},
		{"workload identity", []string{"get-credentials", "--authFlow=gcr", "--identity-provider", idp, "--project-id=p"},
			Config{WorkloadIdentity: WorkloadIdentity{ProjectID: "p", IdentityProvider: idp, RequireOptIn: true}}, ""},
		{"identity provider ignored with dockercfg", []string{"get-credentials", "--authFlow=dockercfg", "--identity-provider", idp, "--project-id=p"},
			Config{Sources: []string{SourceDockerCfg}, DockerConfigAnyHost: true}, ""},
		{"identity provider without project", []string{"get-credentials", "--identity-provider", idp}, Config{}, "--project-id is required"},
		{"bad flow", []string{"get-credentials", "--authFlow=token"}, Config{}, `invalid value "token" for --authFlow`},
		{"no command", []string{"--authFlow=gcr"}, Config{}, "flag provided but not defined"},
		{"no arguments", nil, Config{}, "missing the get-credentials command"},
		{"unknown command", []string{"version"}, Config{}, `unknown command "version"`},
		{"unknown flag", []string{"get-credentials", "--bogus"}, Config{}, "flag provided but not defined: -bogus"},
		{"extra argument", []string{"get-credentials", "gcr.io/x"}, Config{}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DropInConfig(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				// One line, without a prefix: the caller puts the program's name in front.
				if strings.HasPrefix(err.Error(), "auth-provider-gcp") || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q is not one line without a prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if _, err := NewHosts(got); err != nil {
				t.Errorf("NewHosts rejects the drop-in config: %v", err)
			}
		})
	}
}

func TestDropInHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"get-credentials", "--help"}, {"--v=2", "get-credentials", "-h"}} {
		if _, err := DropInConfig(args); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: %v, want flag.ErrHelp", args, err)
		}
	}
	for _, args := range [][]string{{"--version"}, {"get-credentials", "--version"}} {
		if _, err := DropInConfig(args); !errors.Is(err, cliargs.ErrVersion) {
			t.Errorf("%q: %v, want cliargs.ErrVersion", args, err)
		}
	}
	if u := DropInUsage("auth-provider-gcp"); !strings.Contains(u, "auth-provider-gcp get-credentials [flags]") || !strings.Contains(u, "--authFlow") {
		t.Errorf("usage:\n%s", u)
	}
}

func FuzzDropInConfig(f *testing.F) {
	f.Add("get-credentials --authFlow=gcr --identity-provider x --project-id p")
	f.Add("--v=2 get-credentials -a dockercfg-url")
	f.Fuzz(func(t *testing.T, line string) {
		cfg, err := DropInConfig(strings.Fields(line))
		if err != nil {
			return
		}
		if _, err := NewHosts(cfg); err != nil && cfg.WorkloadIdentity.IdentityProvider == "" {
			t.Fatalf("drop-in config %+v rejected by NewHosts: %v", cfg, err)
		}
	})
}

func TestConfigFromYAML(t *testing.T) {
	in := `
sources: [metadata, keyfile]
keyFile: /etc/google/key.json
serviceAccount: puller@p.iam.gserviceaccount.com
scopes: [https://www.googleapis.com/auth/devstorage.read_only]
timeout: 5s
detectTimeout: 500ms
workloadIdentity:
  audience: //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q
  serviceAccount: target@p.iam.gserviceaccount.com
  requireOptIn: true
  tokenURL: http://127.0.0.1:1/v1/token
`
	var c Config
	if err := yaml.UnmarshalStrict([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Sources:        []string{SourceMetadata, SourceKeyFile},
		KeyFile:        "/etc/google/key.json",
		ServiceAccount: "puller@p.iam.gserviceaccount.com",
		Scopes:         []string{"https://www.googleapis.com/auth/devstorage.read_only"},
		Timeout:        duration.Of(5 * time.Second),
		DetectTimeout:  duration.Of(500 * time.Millisecond),
		WorkloadIdentity: WorkloadIdentity{
			Audience:       "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q",
			ServiceAccount: "target@p.iam.gserviceaccount.com",
			RequireOptIn:   true,
			TokenURL:       "http://127.0.0.1:1/v1/token",
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if err := yaml.UnmarshalStrict([]byte("bogus: 1"), &c); err == nil {
		t.Error("unknown field accepted")
	}
	if err := yaml.UnmarshalStrict([]byte("timeout: 5"), &c); err == nil {
		t.Error("numeric timeout accepted")
	}
	out, err := yaml.Marshal(Config{Timeout: duration.Of(time.Second)})
	if err != nil || !strings.Contains(string(out), "timeout: 1s") || strings.Contains(string(out), "workloadIdentity") {
		t.Errorf("marshal: %q, %v", out, err)
	}
}

func TestNewHostsValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown source", Config{Sources: []string{"imds"}}, `unknown credential source "imds"`},
		{"duplicate source", Config{Sources: []string{SourceMetadata, SourceMetadata}}, "listed twice"},
		{"bad service account", Config{ServiceAccount: "../token"}, "neither"},
		{"bad scope", Config{Scopes: []string{"a b"}}, "invalid scope"},
		{"negative timeout", Config{Timeout: duration.Of(-time.Second)}, "positive"},
		{"audience and provider", Config{WorkloadIdentity: WorkloadIdentity{Audience: "a", IdentityProvider: "b", ProjectID: "p"}}, "not both"},
		{"provider without project", Config{WorkloadIdentity: WorkloadIdentity{IdentityProvider: "b"}}, "projectID is required"},
		{"project without provider", Config{WorkloadIdentity: WorkloadIdentity{ProjectID: "p"}}, "identityProvider is required"},
		{"bad target", Config{WorkloadIdentity: WorkloadIdentity{Audience: "a", ServiceAccount: "x/y"}}, "not a service account email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHosts(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "gcr: ") {
				t.Errorf("err = %v, want gcr: …%q", err, tt.want)
			}
		})
	}
}

func TestAddFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.AddFlags(fs)
	err := fs.Parse([]string{
		"--gcr-sources=metadata, dockercfg", "--gcr-key-file=/k.json", "--gcr-service-account=a@p.iam.gserviceaccount.com",
		"--gcr-scopes=s1,s2", "--gcr-dockercfg-any-host", "--gcr-timeout=3s", "--gcr-detect-timeout=100ms",
		"--gcr-wi-audience=aud", "--gcr-wi-service-account=t@p.iam.gserviceaccount.com", "--gcr-wi-require-opt-in",
		"--gcr-wi-token-url=http://127.0.0.1:1/v1/token", "--gcr-wi-iam-credentials-url=http://127.0.0.1:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Sources: []string{SourceMetadata, SourceDockerCfg}, KeyFile: "/k.json", ServiceAccount: "a@p.iam.gserviceaccount.com",
		Scopes: []string{"s1", "s2"}, DockerConfigAnyHost: true, Timeout: duration.Of(3 * time.Second), DetectTimeout: duration.Of(100 * time.Millisecond),
		WorkloadIdentity: WorkloadIdentity{Audience: "aud", ServiceAccount: "t@p.iam.gserviceaccount.com", RequireOptIn: true,
			TokenURL: "http://127.0.0.1:1/v1/token", IAMCredentialsURL: "http://127.0.0.1:1"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	var g Config
	fs = flag.NewFlagSet("y", flag.ContinueOnError)
	g.AddFlags(fs)
	if err := fs.Parse([]string{"--gcr-wi-project-id=p", "--gcr-wi-identity-provider=i"}); err != nil {
		t.Fatal(err)
	}
	if g.WorkloadIdentity.STSAudience() != "identitynamespace:p.svc.id.goog:i" {
		t.Errorf("audience %q", g.WorkloadIdentity.STSAudience())
	}
}

// emailRE is the pattern IsServiceAccountEmail implements.
var emailRE = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

func TestIsServiceAccountEmail(t *testing.T) {
	for _, s := range []string{"a@b.c", "puller@p.iam.gserviceaccount.com", "x.y_z%+-1@a-b.c-d.e", "node-sa@fake-project.iam.gserviceaccount.com"} {
		if !IsServiceAccountEmail(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "default", "a@b", "@b.c", "a@.c", "a@b.", "a@b..c", "a b@c.d", "a@b@c.d", "a@b_c.d", "../token", "a@b.c/d", "a@b.c" + strings.Repeat("x", 250)} {
		if IsServiceAccountEmail(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzIsServiceAccountEmail(f *testing.F) {
	f.Add("puller@p.iam.gserviceaccount.com")
	f.Add("a@b..c")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsServiceAccountEmail(s), len(s) <= 254 && emailRE.MatchString(s); got != want {
			t.Fatalf("IsServiceAccountEmail(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
