package frontend

import (
	"testing"

	"sigs.k8s.io/yaml"
)

func TestConfigCache(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		dir          string
		disabled, ok bool
	}{
		{"empty", "", "", false, true},
		{"documented form", "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [static, ecr]     # in order\ntimeout: 30s\ncache:\n  dir: /var/lib/icp/cache\n  disabled: false\nstatic:\n  files: [/etc/kubernetes/registry-config.json]\n", "/var/lib/icp/cache", false, true},
		{"windows paths", "backends: [static]\r\ncache:\r\n  dir: C:\\ProgramData\\icp\r\nstatic:\r\n  files: [C:\\k\\config.json, D:\\other.json]\r\n  kubeletRootDir: C:\\var\\lib\\kubelet\r\n", `C:\ProgramData\icp`, false, true},
		{"colon ending a flow list item", "static:\n  files: [a:, b]\ncache:\n  dir: /x\n", "", false, false},
		{"mapping in a flow list", "static:\n  files: [a: b]\ncache:\n  dir: /x\n", "", false, false},
		{"flow list with quotes", "backends: [\"gcr\"]\ncache:\n  dir: /x\n", "", false, false},
		{"block lists elsewhere", "backends:\n  - static\n  - ecr\ncache:\n  dir: /var/lib/icp/cache # kept here\n", "/var/lib/icp/cache", false, true},
		{"list of mappings elsewhere", "acr:\n  mirrors:\n    - source: mirror.example:5000\n      target: myacr.azurecr.io\ncache:\n    dir: '/c'\n", "/c", false, true},
		{"disabled", "---\ncache:\n  disabled: true\n", "", true, true},
		{"double quoted", "cache:\n  dir: \"/tmp/a b\"\n", "/tmp/a b", false, true},
		{"comment after key", "cache: # the token cache\n  dir: /x\n", "/x", false, true},
		{"crlf", "cache:\r\n  dir: /x\r\n", "/x", false, true},
		{"byte order mark", "\xef\xbb\xbfcache:\r\n  dir: /x\r\n", "/x", false, true},
		{"json with a byte order mark", "\xef\xbb\xbf{\"cache\":{\"dir\":\"/j\"}}\r\n", "/j", false, true},
		{"no cache section", "backends:\n  - gcr\n", "", false, true},
		{"json", `{"cache":{"dir":"/j","disabled":true}}`, "/j", true, true},
		{"json without cache", `{"backends":["gcr"]}`, "", false, true},
		{"flow mapping", "cache: {dir: /x}\n", "", false, false},
		{"anchor", "cache: &c\n  dir: /x\n", "", false, false},
		{"alias value", "base: &d /x\ncache:\n  dir: *d\n", "", false, false},
		{"tag", "cache:\n  dir: !!str /x\n", "", false, false},
		{"block scalar", "cache:\n  dir: |\n    /x\n", "", false, false},
		{"escape", "cache:\n  dir: \"/x\\ty\"\n", "", false, false},
		{"tab", "cache:\n\tdir: /x\n", "", false, false},
		{"second document", "cache:\n  dir: /x\n---\ncache:\n  dir: /y\n", "", false, false},
		{"repeated key", "cache:\n  dir: /x\ncache:\n  dir: /y\n", "", false, false},
		{"repeated child", "cache:\n  dir: /x\n  dir: /y\n", "", false, false},
		{"nested under cache", "cache:\n  dir:\n    deeper: /x\n", "", false, false},
		{"yes is not read", "cache:\n  disabled: yes\n", "", false, false},
		{"null dir", "cache:\n  dir: ~\n", "", false, false},
		{"multi-line plain", "cache:\n  dir: /x\n    /y\n", "", false, false},
		{"unterminated quote", "cache:\n  dir: \"/x\n", "", false, false},
		{"top-level list", "- cache\n", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, disabled, ok := configCache([]byte(tc.config))
			if ok != tc.ok || (ok && (dir != tc.dir || disabled != tc.disabled)) {
				t.Fatalf("configCache = %q, %v, %v; want %q, %v, %v", dir, disabled, ok, tc.dir, tc.disabled, tc.ok)
			}
			if ok {
				checkAgainstYAML(t, []byte(tc.config), dir, disabled)
			}
		})
	}
}

// checkAgainstYAML: when configCache answers and a YAML decoder reads the file, they
// agree. (A file the decoder refuses is refused by the plugin too, so it records no
// answer that a wrong reading could find.)
func checkAgainstYAML(t *testing.T, data []byte, dir string, disabled bool) {
	t.Helper()
	var file struct {
		Cache struct {
			Dir      string `json:"dir"`
			Disabled bool   `json:"disabled"`
		} `json:"cache"`
	}
	if yaml.Unmarshal(data, &file) != nil {
		return
	}
	if file.Cache.Dir != dir || file.Cache.Disabled != disabled {
		t.Fatalf("configCache read %q, %v; YAML reads %q, %v in:\n%s", dir, disabled, file.Cache.Dir, file.Cache.Disabled, data)
	}
}

func FuzzConfigCache(f *testing.F) {
	for _, s := range []string{
		"cache:\n  dir: /x\n  disabled: true\n",
		"backends:\n  - static\ncache:\n  dir: '/c' # c\n",
		"acr:\n  mirrors:\n    - source: m:5000\n      target: t.azurecr.io\ncache:\n  dir: \"/d\"\n",
		`{"cache":{"dir":"/j"}}`,
		"---\ncache:\n  disabled: false\n",
		"a: b\ncache:\n  dir: x\nc: 'd'\n",
		"static:\r\n  files: [C:\\k\\a.json, b:c]\r\ncache:\r\n  dir: C:\\c\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if dir, disabled, ok := configCache(data); ok {
			checkAgainstYAML(t, data, dir, disabled)
		}
	})
}
