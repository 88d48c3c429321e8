// Package kubeletconfigdiff checks that our reading of the kubelet's
// CredentialProviderConfig (internal/kubeletconfig: Read, then Validate) accepts and
// refuses exactly what the kubelet does, and that what install writes is loaded and
// routed by the kubelet's own code.
//
// The reference is the real kubelet code (k8s.io/kubernetes v1.37.1):
// plugin.RegisterCredentialProviderPlugins, which reads the file or directory, decodes
// it strictly, validates it, and looks up each provider's binary (every name that can
// be a file gets an executable in the bin dir, so only the configuration decides).
// Registration is global and refuses a name twice, so each configuration is
// registered in a process of its own: this test binary, started again.
//
// The configurations are hand-written (each rule of decoding and validation, in YAML
// and JSON, every apiVersion, directories) and generated (random edits of valid ones:
// lines removed or repeated, values replaced, keys misspelled or recased).
package kubeletconfigdiff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
	"sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
)

const (
	envConfig = "KUBELETCONFIGDIFF_CONFIG"
	envBinDir = "KUBELETCONFIGDIFF_BIN_DIR"
)

func TestMain(m *testing.M) {
	klog.SetLogger(logr.Discard())
	if cfg := os.Getenv(envConfig); cfg != "" {
		// One registration, as the kubelet makes it at start.
		if err := plugin.RegisterCredentialProviderPlugins(cfg, os.Getenv(envBinDir), nil, nil); err != nil {
			fmt.Print(err)
			os.Exit(3)
		}
		// Then, if asked, the lookups the kubelet makes for images.
		if list := os.Getenv(envImages); list != "" {
			data, err := os.ReadFile(list)
			if err != nil {
				fmt.Print(err)
				os.Exit(2)
			}
			for _, img := range strings.Fields(string(data)) {
				plugin.NewExternalCredentialProviderDockerKeyring("ns", "pod", "pod-uid", "sa").Lookup(img)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// kubelet registers the configuration at path in a new process: nil when the kubelet
// accepts it.
func kubelet(t *testing.T, path, binDir string) error {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envConfig+"="+path, envBinDir+"="+binDir)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		return fmt.Errorf("%s", out)
	}
	if err != nil {
		t.Fatalf("registering %s: %v\n%s", path, err, out)
	}
	return nil
}

// ours reads and validates the configuration at path as install and check do.
func ours(path string) error {
	s, err := kubeletconfig.Read(path)
	if err != nil {
		return err
	}
	if errs := kubeletconfig.Validate(s, kubeletconfig.Options{}); len(errs) > 0 {
		return errs
	}
	return nil
}

// binDirFor makes a bin dir with an executable for every provider name in the files
// that can name a file.
func binDirFor(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, content := range files {
		var doc struct {
			Providers []struct {
				Name any `json:"name"`
			} `json:"providers"`
		}
		if yaml.Unmarshal([]byte(content), &doc) != nil {
			continue
		}
		for _, p := range doc.Providers {
			name, ok := p.Name.(string)
			if !ok || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
				continue
			}
			os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\nexit 1\n"), 0o755)
		}
	}
	return dir
}

// tcase is one configuration: a single file, or the files of a directory.
type tcase struct {
	name  string
	file  string            // content of a single file, or
	dir   map[string]string // files of a directory
	ext   string            // the single file's extension (default .yaml)
	force *bool             // the expected outcome, when the test asserts it too
}

var (
	yes, no = true, false
)

const head = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\n"

func prov(name, extra string) string {
	return "- name: " + name + "\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  matchImages: [\"*.example.com\", gcr.io]\n  defaultCacheDuration: 5m\n" + extra
}

const saGood = "  tokenAttributes:\n    serviceAccountTokenAudience: aud\n    requireServiceAccount: true\n    cacheType: ServiceAccount\n    optionalServiceAccountAnnotationKeys: [example.com/role]\n"

var handWritten = []tcase{
	{name: "good v1", file: head + "providers:\n" + prov("a", "  args: [--x]\n  env: [{name: A, value: b}]\n") + prov("b", saGood), force: &yes},
	{name: "good v1beta1", file: strings.Replace(head, "/v1\n", "/v1beta1\n", 1) + "providers:\n" + prov("a", ""), force: &yes},
	{name: "good v1alpha1", file: strings.Replace(head, "/v1\n", "/v1alpha1\n", 1) + "providers:\n" + prov("a", ""), force: &yes},
	{name: "good JSON", ext: ".json", file: `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"a","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","matchImages":["x.io"],"defaultCacheDuration":"0s"}]}`, force: &yes},
	{name: "JSON in a .yaml file", file: `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"a","apiVersion":"credentialprovider.kubelet.k8s.io/v1","matchImages":["x.io"],"defaultCacheDuration":"1h"}]}`},
	{name: "tokenAttributes in v1beta1", file: strings.Replace(head, "/v1\n", "/v1beta1\n", 1) + "providers:\n" + prov("a", saGood), force: &no},
	{name: "tokenAttributes with request v1beta1", file: head + "providers:\n" + strings.Replace(prov("a", saGood), "credentialprovider.kubelet.k8s.io/v1\n", "credentialprovider.kubelet.k8s.io/v1beta1\n", 1), force: &no},
	{name: "unknown field", file: head + "providers:\n" + prov("a", "  matchImage: [x]\n"), force: &no},
	{name: "field in the wrong case", file: head + "providers:\n" + prov("a", "  Args: [x]\n"), force: &no},
	{name: "top-level field in the wrong case", file: strings.Replace(head, "kind:", "Kind:", 1) + "providers:\n" + prov("a", "")},
	{name: "YAML key twice", file: head + "providers:\n" + prov("a", "  defaultCacheDuration: 1m\n"), force: &no},
	{name: "JSON key twice", ext: ".json", file: `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","kind":"CredentialProviderConfig","providers":[]}`, force: &no},
	{name: "wrong kind", file: strings.Replace(head, "CredentialProviderConfig", "KubeletConfiguration", 1) + "providers:\n" + prov("a", ""), force: &no},
	{name: "no kind", file: "apiVersion: kubelet.config.k8s.io/v1\nproviders:\n" + prov("a", ""), force: &no},
	{name: "no apiVersion", file: "kind: CredentialProviderConfig\nproviders:\n" + prov("a", ""), force: &no},
	{name: "another group", file: strings.Replace(head, "kubelet.config.k8s.io", "other.k8s.io", 1) + "providers:\n" + prov("a", ""), force: &no},
	{name: "unknown version", file: strings.Replace(head, "/v1\n", "/v2\n", 1) + "providers:\n" + prov("a", ""), force: &no},
	{name: "the internal version", file: strings.Replace(head, "/v1\n", "/__internal\n", 1) + "providers:\n" + prov("a", "")},
	{name: "no providers", file: head, force: &no},
	{name: "empty providers", file: head + "providers: []\n", force: &no},
	{name: "name with a slash", file: head + "providers:\n" + prov("a/b", ""), force: &no},
	{name: "name with a space", file: head + "providers:\n" + prov("\"a b\"", ""), force: &no},
	{name: "name .", file: head + "providers:\n" + prov("\".\"", ""), force: &no},
	{name: "name ..", file: head + "providers:\n" + prov("\"..\"", ""), force: &no},
	{name: "empty name", file: head + "providers:\n" + prov("\"\"", ""), force: &no},
	{name: "name twice", file: head + "providers:\n" + prov("a", "") + prov("a", ""), force: &no},
	{name: "name is a number", file: head + "providers:\n" + prov("12", ""), force: &no},
	{name: "no request apiVersion", file: head + "providers:\n- name: a\n  matchImages: [x]\n  defaultCacheDuration: 1m\n", force: &no},
	{name: "unknown request apiVersion", file: head + "providers:\n" + strings.Replace(prov("a", ""), "credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v2", 1), force: &no},
	{name: "no matchImages", file: head + "providers:\n- name: a\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  defaultCacheDuration: 1m\n", force: &no},
	{name: "matchImages a string", file: head + "providers:\n" + strings.Replace(prov("a", ""), `["*.example.com", gcr.io]`, "gcr.io", 1), force: &no},
	{name: "a bad port", file: head + "providers:\n" + strings.Replace(prov("a", ""), "gcr.io", "\"gcr.io:port\"", 1), force: &no},
	{name: "a wildcard port", file: head + "providers:\n" + strings.Replace(prov("a", ""), "gcr.io", "\"gcr.io:*\"", 1), force: &no},
	{name: "a class in a host", file: head + "providers:\n" + strings.Replace(prov("a", ""), "gcr.io", "\"[a-z].io\"", 1), force: &no},
	{name: "a percent escape", file: head + "providers:\n" + strings.Replace(prov("a", ""), "gcr.io", "\"%zz.io\"", 1), force: &no},
	{name: "an empty pattern", file: head + "providers:\n" + strings.Replace(prov("a", ""), "gcr.io", "\"\"", 1), force: &yes},
	{name: "a pattern with a path and a scheme", file: head + "providers:\n" + strings.Replace(prov("a", ""), "gcr.io", "\"https://gcr.io/team\"", 1)},
	{name: "no defaultCacheDuration", file: head + "providers:\n- name: a\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  matchImages: [x]\n", force: &no},
	{name: "null defaultCacheDuration", file: head + "providers:\n" + strings.Replace(prov("a", ""), "5m", "null", 1), force: &no},
	{name: "negative defaultCacheDuration", file: head + "providers:\n" + strings.Replace(prov("a", ""), "5m", "-1s", 1), force: &no},
	{name: "zero defaultCacheDuration", file: head + "providers:\n" + strings.Replace(prov("a", ""), "5m", "\"0\"", 1), force: &yes},
	{name: "numeric defaultCacheDuration", file: head + "providers:\n" + strings.Replace(prov("a", ""), "5m", "300", 1), force: &no},
	{name: "bad defaultCacheDuration", file: head + "providers:\n" + strings.Replace(prov("a", ""), "5m", "5 minutes", 1), force: &no},
	{name: "env value a number", file: head + "providers:\n" + prov("a", "  env: [{name: A, value: 1}]\n"), force: &no},
	{name: "env without a value", file: head + "providers:\n" + prov("a", "  env: [{name: A}]\n"), force: &yes},
	{name: "args null", file: head + "providers:\n" + prov("a", "  args: null\n"), force: &yes},
	{name: "args a string", file: head + "providers:\n" + prov("a", "  args: --x\n"), force: &no},
	{name: "no audience", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "    serviceAccountTokenAudience: aud\n", "", 1)), force: &no},
	{name: "no requireServiceAccount", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "    requireServiceAccount: true\n", "", 1)), force: &no},
	{name: "no cacheType", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "    cacheType: ServiceAccount\n", "", 1)), force: &no},
	{name: "bad cacheType", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "cacheType: ServiceAccount", "cacheType: serviceaccount", 1)), force: &no},
	{name: "cacheType Token", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "cacheType: ServiceAccount", "cacheType: Token", 1)), force: &yes},
	{name: "required keys without a service account", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "requireServiceAccount: true", "requireServiceAccount: false\n    requiredServiceAccountAnnotationKeys: [a.io/b]", 1)), force: &no},
	{name: "a key both required and optional", file: head + "providers:\n" + prov("a", saGood+"    requiredServiceAccountAnnotationKeys: [example.com/role]\n"), force: &no},
	{name: "an annotation key twice", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "[example.com/role]", "[example.com/role, example.com/role]", 1)), force: &no},
	{name: "annotation keys in capitals", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "[example.com/role]", "[Example.COM/Role_1]", 1)), force: &yes},
	{name: "an annotation key with two slashes", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "[example.com/role]", "[a/b/c]", 1)), force: &no},
	{name: "an annotation key ending in a dash", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "[example.com/role]", "[example.com/role-]", 1)), force: &no},
	{name: "an annotation key with a long name", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "[example.com/role]", "[example.com/"+strings.Repeat("r", 64)+"]", 1)), force: &no},
	{name: "an annotation key with an empty prefix", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "[example.com/role]", "[/role]", 1)), force: &no},
	{name: "requireServiceAccount a string", file: head + "providers:\n" + prov("a", strings.Replace(saGood, "requireServiceAccount: true", "requireServiceAccount: \"true\"", 1)), force: &no},
	{name: "not YAML", file: "apiVersion: [\n", force: &no},
	{name: "not JSON", ext: ".json", file: `{"apiVersion":`, force: &no},
	{name: "empty file", file: "", force: &no},
	{name: "a list", file: "- a\n", force: &no},
	{name: "two YAML documents", file: head + "providers:\n" + prov("a", "") + "---\n" + head + "providers:\n" + prov("b", "")},
	{name: "a directory", dir: map[string]string{"10-a.yaml": head + "providers:\n" + prov("a", ""), "20-b.json": `{"apiVersion":"kubelet.config.k8s.io/v1beta1","kind":"CredentialProviderConfig","providers":[{"name":"b","apiVersion":"credentialprovider.kubelet.k8s.io/v1","matchImages":["x.io"],"defaultCacheDuration":"1m"}]}`, "README.md": "not read", "30-c.yml~": "not read"}, force: &yes},
	{name: "a name in two files", dir: map[string]string{"10-a.yaml": head + "providers:\n" + prov("a", ""), "20-a.yml": head + "providers:\n" + prov("a", "")}, force: &no},
	{name: "a directory without configuration files", dir: map[string]string{"README": "x"}, force: &no},
	{name: "a bad file in a directory", dir: map[string]string{"10-a.yaml": head + "providers:\n" + prov("a", ""), "20-b.yaml": "kind: x\n"}, force: &no},
	{name: "an empty file in a directory", dir: map[string]string{"10-a.yaml": head + "providers:\n" + prov("a", ""), "20-b.yaml": head}},
}

// mutants are random edits of valid configurations.
func mutants(n int) []tcase {
	bases := []string{
		head + "providers:\n" + prov("a", "  args: [--x]\n  env:\n  - name: A\n    value: b\n") + prov("b", saGood),
		strings.Replace(head, "/v1\n", "/v1beta1\n", 1) + "providers:\n" + prov("a", "  args: [--x]\n"),
	}
	values := []string{`""`, "1", "-1s", "null", "[]", "{}", "true", `"a b"`, "x/y", `".."`, `"reg:port"`, "5m", "0s",
		"credentialprovider.kubelet.k8s.io/v1beta1", "kubelet.config.k8s.io/v1alpha1", "ServiceAccount", "Token", "Example.COM/x", "a/b/c", "[x, 2]", `["*"]`}
	r := rand.New(rand.NewPCG(11, 12))
	var out []tcase
	for i := 0; i < n; i++ {
		lines := strings.Split(strings.TrimSuffix(bases[r.IntN(len(bases))], "\n"), "\n")
		for edits := 1 + r.IntN(2); edits > 0; edits-- {
			j := r.IntN(len(lines))
			l := lines[j]
			switch r.IntN(5) {
			case 0: // remove a line
				lines = append(lines[:j], lines[j+1:]...)
			case 1: // repeat a line
				lines = append(lines[:j+1], lines[j:]...)
			case 2: // replace a value
				if k := strings.Index(l, ": "); k >= 0 {
					lines[j] = l[:k+2] + values[r.IntN(len(values))]
				}
			case 3: // recase a key
				t := strings.TrimLeft(l, " -")
				if t != "" {
					k := len(l) - len(t)
					lines[j] = l[:k] + strings.ToUpper(t[:1]) + t[1:]
				}
			case 4: // an unknown key beside it
				ind := l[:len(l)-len(strings.TrimLeft(l, " "))]
				lines = append(lines[:j+1], append([]string{ind + "extra: 1"}, lines[j+1:]...)...)
			}
			if len(lines) == 0 {
				lines = []string{""}
			}
		}
		out = append(out, tcase{name: fmt.Sprintf("mutant %d", i), file: strings.Join(lines, "\n") + "\n"})
	}
	return out
}

// TestAgreesWithTheKubelet: every configuration is accepted by both or refused by both.
func TestAgreesWithTheKubelet(t *testing.T) {
	cases := append(append([]tcase{}, handWritten...), mutants(120)...)
	cases = append(cases, installed(t)...)
	var disagree, accepted int
	for _, c := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "config"+c.ext)
		files := c.dir
		if files == nil {
			if c.ext == "" {
				path += ".yaml"
			}
			files = map[string]string{filepath.Base(path): c.file}
		} else {
			path = filepath.Join(dir, "config.d")
			os.Mkdir(path, 0o755)
		}
		base := filepath.Dir(path)
		if c.dir != nil {
			base = path
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(base, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		bin := binDirFor(t, files)
		kerr, oerr := kubelet(t, path, bin), ours(path)
		if kerr == nil {
			accepted++
		}
		if (kerr == nil) != (oerr == nil) {
			disagree++
			t.Errorf("%s: the kubelet says %v, we say %v\n%s", c.name, orOK(kerr), orOK(oerr), show(files))
			continue
		}
		if c.force != nil && *c.force != (kerr == nil) {
			t.Errorf("%s: both say %v, the test expects accepted=%v", c.name, orOK(kerr), *c.force)
		}
	}
	fmt.Printf("kubeletconfigdiff: %d configurations (%d accepted by the kubelet), %d disagreements\n", len(cases), accepted, disagree)
}

func orOK(err error) string {
	if err == nil {
		return "ok"
	}
	return strings.TrimSpace(err.Error())
}

func show(files map[string]string) string {
	var b bytes.Buffer
	for name, content := range files {
		fmt.Fprintf(&b, "--- %s\n%s\n", name, content)
	}
	return b.String()
}
