package install

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
)

var update = flag.Bool("update", false, "rewrite examples/kubelet from what install writes")

// exampleFiles are the example files and where the README's install puts them on a
// node: every path an example names is one of these.
var exampleFiles = map[string]string{
	DefaultConfigDest:                    "image-credential-provider.yaml",
	"/etc/kubernetes/docker-config.json": "dockercfg/config.json",
}

// The kubelet configs in examples/kubelet are what install writes from the examples
// (go test ./internal/install -run TestExamples -update rewrites them), and every file
// they name, and the plugin config names, ships in examples/.
func TestExamples(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the examples are a Linux node's files, with its paths; what install writes on Windows, with Windows paths, is checked by TestFreshRoot and TestInstallCommand")
	}
	examples := filepath.Join("..", "..", "examples")
	for _, tt := range []struct {
		file string
		sa   *ServiceAccount
	}{
		{"credential-provider-config.yaml", nil},
		{"credential-provider-config-sa.yaml", &ServiceAccount{Audience: "sts.amazonaws.com"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			e := newEnv(t)
			src := filepath.Join(examples, exampleFiles[DefaultConfigDest])
			plugin, err := config.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Root: e.root, SourceDir: e.src, Proc: e.proc, Plugin: plugin, ConfigSource: src, ServiceAccount: tt.sa,
				Files: []Copy{{Source: filepath.Join(examples, exampleFiles["/etc/kubernetes/docker-config.json"]), Dest: "/etc/kubernetes/docker-config.json"}}}
			e.run(o)
			got, err := os.ReadFile(e.node(DefaultKubeletConfig))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(examples, "kubelet", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is not what install writes (go test ./internal/install -run TestExamples -update):\n%s", path, got)
			}
			c, err := kubeletconfig.Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.Providers {
				for _, a := range p.Args {
					if v, ok := strings.CutPrefix(a, "--config="); ok {
						checkShipped(t, examples, v)
					}
				}
			}
		})
	}
	plugin, err := config.Load(filepath.Join(examples, exampleFiles[DefaultConfigDest]))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range plugin.Static.Files {
		checkShipped(t, examples, f)
	}
}

func checkShipped(t *testing.T, examples, nodePath string) {
	t.Helper()
	name, ok := exampleFiles[nodePath]
	if !ok {
		t.Errorf("an example names %s, which no example file is installed as", nodePath)
		return
	}
	if _, err := os.Stat(filepath.Join(examples, name)); err != nil {
		t.Errorf("an example names %s, installed from examples/%s: %v", nodePath, name, err)
	}
}
