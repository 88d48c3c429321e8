package backends

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/hoststest"
)

func TestEnabled(t *testing.T) {
	tests := []struct {
		backends []string
		want     []string
		wantErr  string
	}{
		{nil, []string{"static", "ecr", "gcr", "acr"}, ""},
		{[]string{"gcr", "static"}, []string{"gcr", "static"}, ""},
		{[]string{"static", "quay"}, nil, `unknown backend "quay": want some of static,ecr,gcr,acr`},
		{[]string{"ecr", "ecr"}, nil, `backend "ecr" listed twice`},
	}
	for _, tt := range tests {
		got, err := Enabled(&config.Config{Backends: tt.backends})
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Enabled(%q) error = %v, want %q", tt.backends, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Enabled(%q) = %q, %v; want %q", tt.backends, got, err, tt.want)
		}
	}
}

// A node's paths are read under its root, relative ones from its working directory,
// files about to be installed from where they are staged; on Windows with the node's
// drive letters, and rooted paths without one on the working directory's drive.
func TestNodePath(t *testing.T) {
	type row struct{ in, want string }
	var n Node
	var rows []row
	var zero row // the zero Node leaves an absolute path as it is
	if runtime.GOOS == "windows" {
		n = Node{Root: `D:\host`, Cwd: `C:\var\lib\kubelet`, Files: map[string]string{`C:\etc\new.json`: `D:\staged\new.json`}}
		rows = []row{
			{`C:\etc\docker.json`, `D:\host\etc\docker.json`},
			{`\etc\docker.json`, `D:\host\etc\docker.json`},
			{`/etc/docker.json`, `D:\host\etc\docker.json`},
			{`E:\etc\docker.json`, `D:\host\etc\docker.json`},
			{`config.json`, `D:\host\var\lib\kubelet\config.json`},
			{`C:\etc\new.json`, `D:\staged\new.json`},
			{`\etc\new.json`, `D:\staged\new.json`},
			{``, ``},
			{`C:\etc\..\etc\x.json`, `D:\host\etc\x.json`},
			{`..\root\.docker\cfg`, `D:\host\var\lib\root\.docker\cfg`},
		}
		zero = row{`C:\etc\x`, `C:\etc\x`}
	} else {
		n = Node{Root: "/host", Cwd: "/var/lib/kubelet", Files: map[string]string{"/etc/new.json": "/staged/new.json"}}
		rows = []row{
			{"/etc/docker.json", "/host/etc/docker.json"},
			{"config.json", "/host/var/lib/kubelet/config.json"},
			{"/etc/new.json", "/staged/new.json"},
			{"", ""},
			{"/etc/../etc/x.json", "/host/etc/x.json"},
			{"../root/.docker/cfg", "/host/var/lib/root/.docker/cfg"},
		}
		zero = row{"/etc/x", "/etc/x"}
	}
	for _, r := range rows {
		if got := n.Path(r.in); got != r.want {
			t.Errorf("Path(%q) = %q, want %q", r.in, got, r.want)
		}
	}
	if got := (Node{}).Path(zero.in); got != zero.want {
		t.Errorf("the zero Node moves %s to %q", zero.in, got)
	}
}

func TestRooted(t *testing.T) {
	tests := []struct{ root, path, want string }{
		{"", "/etc/x", "/etc/x"},
		{"/host", "/etc/x", "/host/etc/x"},
		{"/host/", "/etc/../x", "/host/x"},
	}
	if runtime.GOOS == "windows" {
		tests = []struct{ root, path, want string }{
			{``, `C:\etc\x`, `C:\etc\x`},
			{`D:\host`, `C:\etc\x`, `D:\host\etc\x`},
			{`D:\host\`, `C:\etc\..\x`, `D:\host\x`},
			{`\\server\share\host`, `C:\ProgramData\x`, `\\server\share\host\ProgramData\x`},
		}
	}
	for _, tt := range tests {
		if got := Rooted(tt.root, tt.path); got != tt.want {
			t.Errorf("Rooted(%q, %q) = %q, want %q", tt.root, tt.path, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The patterns are every enabled backend's MatchImages, in backend order, each once;
// the static backend's come from the docker config files read on the node (under its
// root, or from a file about to be installed).
func TestMatchImages(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/docker.json"), `{"auths":{"my-registry.example":{"auth":"dTpw"},"gcr.io":{"auth":"dTpw"}}}`)
	staged := filepath.Join(t.TempDir(), "new.json")
	writeFile(t, staged, `{"auths":{"staged.example:5000":{"auth":"dTpw"}}}`)
	home := t.TempDir()
	t.Setenv("HOME", home)

	tests := []struct {
		name     string
		cfg      config.Config
		node     Node
		want     []string // in order, at the start
		contains []string
		absent   []string
		anyHost  []string
	}{
		{
			name:     "static under the root, then Google; gcr.io once, under static",
			cfg:      config.Config{Backends: []string{"static", "gcr"}, Static: dockercfg.Config{Files: []string{"/etc/docker.json"}}},
			node:     Node{Root: root},
			want:     []string{"gcr.io", "my-registry.example", "*.gcr.io"},
			contains: []string{"*.pkg.dev", "docker.*.rep.pkg.dev", "gcr.io:443"},
			absent:   []string{"*.dkr.ecr.*.amazonaws.com", "*.azurecr.io"},
		},
		{
			name:   "the same file without the root is not there: no static pattern",
			cfg:    config.Config{Backends: []string{"static"}, Static: dockercfg.Config{Files: []string{filepath.Join(t.TempDir(), "missing.json")}}},
			node:   Node{Cwd: "/"},
			absent: []string{"my-registry.example"},
			// a file that cannot be read may hold credentials for any host
			contains: dockercfg.EveryHost(),
		},
		{
			name:     "a file about to be installed is read from where it is staged",
			cfg:      config.Config{Backends: []string{"static"}, Static: dockercfg.Config{Files: []string{"/etc/new.json"}}},
			node:     Node{Root: root, Files: map[string]string{"/etc/new.json": staged}},
			want:     []string{"staged.example:5000"},
			absent:   []string{"my-registry.example"},
			contains: nil,
		},
		{
			name:     "the kubelet's own search under the root",
			cfg:      config.Config{Backends: []string{"static"}, Static: dockercfg.Config{KubeletRootDir: "/etc"}},
			node:     Node{Root: root, Home: "/nonexistent", Cwd: "/nonexistent"},
			contains: nil,
			absent:   []string{"my-registry.example"}, // /etc/config.json is what is searched, not docker.json
		},
		{
			name:     "every backend",
			cfg:      config.Config{},
			node:     Node{Root: root, Home: "/nonexistent", Cwd: "/nonexistent"},
			contains: append(ecrhost.MatchImages(), "*.azurecr.io", "*.*.geo.azurecr.io", "gcr.io"),
		},
		{
			name:     "a Google backend that serves every host",
			cfg:      config.Config{Backends: []string{"gcr"}, GCR: gcr.Config{Sources: []string{gcr.SourceDockerCfg}, DockerConfigAnyHost: true}},
			contains: []string{"gcr.io"},
			anyHost:  []string{"gcr"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := MatchImages(&tt.cfg, tt.node)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.All) < len(tt.want) || !slices.Equal(p.All[:len(tt.want)], tt.want) {
				t.Errorf("patterns %q, want them to start with %q", p.All, tt.want)
			}
			for _, c := range tt.contains {
				if !slices.Contains(p.All, c) {
					t.Errorf("patterns %q lack %q", p.All, c)
				}
			}
			for _, a := range tt.absent {
				if slices.Contains(p.All, a) {
					t.Errorf("patterns %q hold %q", p.All, a)
				}
			}
			seen := map[string]bool{}
			for _, m := range p.All {
				if seen[m] {
					t.Errorf("%q listed twice", m)
				}
				seen[m] = true
			}
			if !slices.Equal(p.AnyHost, tt.anyHost) {
				t.Errorf("AnyHost = %q, want %q", p.AnyHost, tt.anyHost)
			}
			// Every backend's hosts are reached by the union.
			for name, h := range p.Hosts {
				for _, m := range p.Of[name] {
					if !slices.Contains(p.All, m) {
						t.Errorf("%s pattern %q missing from the union", name, m)
					}
				}
				if len(p.Of[name]) > 0 {
					hoststest.CheckPatterns(t, h)
				}
			}
		})
	}
}

// The ACR backend reads azure.json and the environment file on the node: a file that
// exists only under the root is found through it, and AZURE_ENVIRONMENT_FILEPATH is a
// path on the node too.
func TestACRReadsTheNode(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/kubernetes/azure.json"), `{"cloud":"AzureStackCloud"}`)
	writeFile(t, filepath.Join(root, "etc/kubernetes/stack.json"), `{"name":"AzureStackCloud","resourceManagerEndpoint":"https://management.local.azurestack.external/","activeDirectoryEndpoint":"https://login.local.azurestack.external/","containerRegistryDNSSuffix":"azurecr.local.azurestack.external"}`)
	cfg := &config.Config{Backends: []string{"acr"}, ACR: acr.Config{AzureConfig: "/etc/kubernetes/azure.json"}}
	env := map[string]string{"AZURE_ENVIRONMENT_FILEPATH": "/etc/kubernetes/stack.json"}
	node := Node{Root: root, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	p, err := MatchImages(cfg, node)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.All, "*.azurecr.local.azurestack.external") {
		t.Errorf("patterns %q lack the Azure Stack registry suffix", p.All)
	}
	if _, err := MatchImages(cfg, Node{LookupEnv: node.LookupEnv}); err == nil || !strings.HasPrefix(err.Error(), "acr: azure config:") {
		t.Errorf("without the root: error %v, want the azure config not found", err)
	}
}

func TestServiceAccountAnnotations(t *testing.T) {
	got := ServiceAccountAnnotations([]string{"static", "acr", "ecr"})
	want := []string{acr.ClientIDAnnotation, acr.TenantIDAnnotation, "eks.amazonaws.com/ecr-role-arn"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Every pattern of every backend has an example host that the backend serves.
func TestExampleHost(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/docker.json"), `{"auths":{"registry.example":{"auth":"dTpw"},"*.wild.example":{"auth":"dTpw"},"localhost:5000/team":{"auth":"dTpw"}}}`)
	cfg := &config.Config{Static: dockercfg.Config{Files: []string{"/etc/docker.json"}}}
	p, err := MatchImages(cfg, Node{Root: root, Home: "/x", Cwd: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Backends {
		for _, pat := range p.Of[b] {
			h := ExampleHost(pat, p.Hosts[b])
			if h == "" || !hoststest.Reaches([]string{pat}, h) {
				t.Errorf("%s %q: example %q", b, pat, h)
			}
		}
	}
	if got := ExampleHost("*.dkr.ecr-fips.*.amazonaws.com", p.Hosts["ecr"]); got != "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com" {
		t.Errorf("ECR FIPS example %q", got)
	}
	if got := ExampleHost("a*.example", p.Hosts["static"]); got != "" {
		t.Errorf("a partial glob: %q", got)
	}
}
