package kubeletconfigdiff

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/internal/backends"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/install"
)

const envImages = "KUBELETCONFIGDIFF_IMAGES"

// pluginConfig enables every backend, with a docker config (hosts, a wildcard, a port,
// Docker Hub), a custom ECR host and an ACR mirror, so that every kind of pattern is
// generated.
func pluginConfig(t *testing.T, root string) *config.Config {
	t.Helper()
	docker := filepath.Join(root, "etc/kubernetes/docker-config.json")
	os.MkdirAll(filepath.Dir(docker), 0o755)
	os.WriteFile(docker, []byte(`{"auths":{"registry.example":{"auth":"dTpw"},"*.wild.example/team":{"auth":"dTpw"},"localhost:5000":{"auth":"dTpw"},"https://index.docker.io/v1/":{"auth":"dTpw"}}}`), 0o600)
	return &config.Config{
		Static: dockercfg.Config{Files: []string{"/etc/kubernetes/docker-config.json"}},
		ECR:    ecr.Config{Registries: []ecr.Registry{{Host: "ecr-proxy.internal:5000", Account: "123456789012", Region: "eu-west-1"}}},
		ACR:    acr.Config{Mirrors: []acr.Mirror{{Source: "mirror.example", Target: "myacr.azurecr.io"}}},
	}
}

// installTo runs install into root and returns the kubelet config path there.
func installTo(t *testing.T, root string, o install.Options) string {
	t.Helper()
	src := t.TempDir()
	for _, n := range binaries.Installed() {
		os.WriteFile(filepath.Join(src, n), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	}
	o.Root, o.SourceDir, o.Proc = root, src, t.TempDir()
	if o.Plugin == nil {
		o.Plugin = pluginConfig(t, root)
	}
	var out bytes.Buffer
	if err := install.Run(o, &out); err != nil {
		t.Fatalf("install: %v\n%s", err, out.String())
	}
	kc := o.KubeletConfig
	if kc == "" {
		kc = install.DefaultKubeletConfig
	}
	return filepath.Join(root, kc)
}

// handEdited is a hand-written file install edits in place: comments, durations and
// lists as written, a YAML alias between two other providers, ours in the middle.
const handEdited = `# Hand-written.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: CredentialProviderConfig
providers:
  # the cloud's own plugin
  - name: ecr-credential-provider
    matchImages: &ecr ["*.dkr.ecr.*.amazonaws.com"]   # private ECR
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
  - name: image-credential-provider
    matchImages: [old.example]
    defaultCacheDuration: 1m
    apiVersion: credentialprovider.kubelet.k8s.io/v1
  - name: other
    matchImages: *ecr
    defaultCacheDuration: 0s
    apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1
`

// installed are configurations install writes: each must be accepted.
func installed(t *testing.T) []tcase {
	var out []tcase
	add := func(name, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		if fi.IsDir() {
			ents, _ := os.ReadDir(path)
			for _, e := range ents {
				data, _ := os.ReadFile(filepath.Join(path, e.Name()))
				files[e.Name()] = string(data)
			}
			out = append(out, tcase{name: name, dir: files, force: &yes})
			return
		}
		data, _ := os.ReadFile(path)
		out = append(out, tcase{name: name, file: string(data), ext: filepath.Ext(path), force: &yes})
	}
	add("install: every backend", installTo(t, t.TempDir(), install.Options{}))
	add("install: service account tokens", installTo(t, t.TempDir(), install.Options{ServiceAccount: &install.ServiceAccount{Audience: "sts.amazonaws.com", Require: true}}))
	add("install: apiVersion v1alpha1, extra patterns", installTo(t, t.TempDir(), install.Options{APIVersion: "credentialprovider.kubelet.k8s.io/v1alpha1", MatchImages: []string{"*.extra.example:8443/team"}}))

	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/kubernetes"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/kubernetes/cp.json"), []byte(`{"apiVersion":"kubelet.config.k8s.io/v1beta1","kind":"CredentialProviderConfig","providers":[{"name":"other","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","matchImages":["*.dkr.ecr.*.amazonaws.com"],"defaultCacheDuration":"12h","env":[{"name":"A","value":"b"}]}]}`), 0o644)
	add("install: merged into a JSON file with another provider", installTo(t, root, install.Options{KubeletConfig: "/etc/kubernetes/cp.json"}))

	for _, tt := range []struct {
		name string
		o    install.Options
	}{
		{"install: edited into a hand-written YAML file in v1beta1", install.Options{}},
		{"install: edited into a hand-written YAML file in v1beta1, with service account tokens (the file becomes v1)", install.Options{ServiceAccount: &install.ServiceAccount{Audience: "sts.amazonaws.com"}}},
	} {
		root = t.TempDir()
		os.MkdirAll(filepath.Join(root, "etc/kubernetes"), 0o755)
		os.WriteFile(filepath.Join(root, "etc/kubernetes/cp.yaml"), []byte(handEdited), 0o644)
		tt.o.KubeletConfig = "/etc/kubernetes/cp.yaml"
		path := installTo(t, root, tt.o)
		if data, _ := os.ReadFile(path); !bytes.Contains(data, []byte("# private ECR\n")) {
			t.Fatalf("%s: the file was not edited in place:\n%s", tt.name, data)
		}
		add(tt.name, path)
	}

	root = t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/kubernetes/cp.d"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/kubernetes/cp.d/10-other.yaml"), []byte(head+"providers:\n"+prov("other", "")), 0o644)
	add("install: into a directory", installTo(t, root, install.Options{KubeletConfig: "/etc/kubernetes/cp.d"}))
	return out
}

// What install writes is loaded by the kubelet's own code, and for every pattern of
// every backend a host that backend serves is sent to the plugin by the kubelet's own
// matching; images nobody serves are not.
func TestInstalledConfigRoutesEveryFamily(t *testing.T) {
	root := t.TempDir()
	kc := installTo(t, root, install.Options{})
	cfg := pluginConfig(t, root)
	pats, err := backends.MatchImages(cfg, backends.Node{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, b := range pats.Backends {
		for _, p := range pats.Of[b] {
			h := backends.ExampleHost(p, pats.Hosts[b])
			if h == "" {
				t.Errorf("%s pattern %q: no host of it is served", b, p)
				continue
			}
			images = append(images, h+"/team/app")
		}
	}
	// Hosts from the backends' tables, by family.
	images = append(images,
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app", "123456789012.dkr-ecr.eu-west-1.on.aws/app",
		"123456789012.dkr-ecr-fips.us-east-1.on.aws/app", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app",
		"public.ecr.aws/team/app", "ecr-public.aws.com/team/app",
		"gcr.io/p/app", "eu.gcr.io/p/app", "europe-west1-docker.pkg.dev/p/r/app", "docker.europe-west1.rep.pkg.dev/p/r/app",
		"myacr.azurecr.io/app", "myacr.westeurope.geo.azurecr.io/app", "myacr.azurecr.cn/app", "myacr.azurecr.io:443/app",
		"registry.example/app", "sub.wild.example/team/app", "localhost:5000/app", "docker.io/library/nginx", "mirror.example/app",
		"ecr-proxy.internal:5000/app")
	unserved := []string{"quay.io/org/app", "ghcr.io/org/app", "registry.example:5000/app", "a.b.wild.example/team/app", "myacr.azurecr.io.example/app"}

	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "requests")
	script := "#!/bin/sh\ncat >> " + log + "\necho '{\"kind\":\"CredentialProviderResponse\",\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"cacheKeyType\":\"Image\",\"cacheDuration\":\"0s\"}'\n"
	os.WriteFile(filepath.Join(bin, binaries.FrontEnd), []byte(script), 0o755)
	list := filepath.Join(t.TempDir(), "images")
	os.WriteFile(list, []byte(strings.Join(append(images, unserved...), "\n")), 0o644)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envConfig+"="+kc, envBinDir+"="+bin, envImages+"="+list)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the kubelet: %v\n%s", err, out)
	}
	asked := map[string]bool{}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var req struct{ Image string }
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatalf("request %q: %v", sc.Text(), err)
		}
		asked[req.Image] = true
	}
	missed := 0
	for _, img := range images {
		if !asked[normalize(img)] {
			missed++
			t.Errorf("the kubelet does not run the plugin for %s", img)
		}
	}
	for _, img := range unserved {
		if asked[normalize(img)] {
			t.Errorf("the kubelet runs the plugin for %s, which no backend serves", img)
		}
	}
	fmt.Printf("kubeletconfigdiff: the installed config sends %d of %d served images to the plugin (%d patterns), and none of %d others\n",
		len(images)-missed, len(images), len(pats.All), len(unserved))
}

// normalize is the repository the kubelet asks for: Docker Hub names in full.
func normalize(img string) string {
	if strings.HasPrefix(img, "docker.io/") && strings.Count(img, "/") == 1 {
		return "docker.io/library/" + strings.TrimPrefix(img, "docker.io/")
	}
	return img
}
