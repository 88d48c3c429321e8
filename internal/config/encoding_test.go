package config

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A config file saved on Windows (CRLF line ends, a UTF-8 byte order mark, Windows
// paths) reads as it does anywhere else, in YAML and in JSON.
func TestLoadWindowsFileEncodings(t *testing.T) {
	const yamlFile = "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [static, gcr]\ncache:\n  dir: C:\\ProgramData\\icp\nstatic:\n  files: [C:\\k\\config.json]\n  kubeletRootDir: 'C:\\var\\lib\\kubelet'\n"
	const jsonFile = "{\n  \"apiVersion\": \"imagecred.dev/v1alpha1\",\n  \"kind\": \"ImageCredentialProviderConfig\",\n  \"backends\": [\"static\", \"gcr\"],\n  \"cache\": {\"dir\": \"C:\\\\ProgramData\\\\icp\"},\n  \"static\": {\"files\": [\"C:\\\\k\\\\config.json\"], \"kubeletRootDir\": \"C:\\\\var\\\\lib\\\\kubelet\"}\n}\n"
	encodings := []struct {
		name   string
		encode func(string) string
	}{
		{"LF", func(s string) string { return s }},
		{"CRLF", func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }},
		{"BOM", func(s string) string { return "\xef\xbb\xbf" + s }},
		{"BOM and CRLF", func(s string) string { return "\xef\xbb\xbf" + strings.ReplaceAll(s, "\n", "\r\n") }},
	}
	for _, enc := range encodings {
		for format, content := range map[string]string{"yaml": yamlFile, "json": jsonFile} {
			t.Run(enc.name+" "+format, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "config."+format)
				if err := os.WriteFile(p, []byte(enc.encode(content)), 0o600); err != nil {
					t.Fatal(err)
				}
				c, err := Load(p)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(c.Backends, ",") != "static,gcr" || c.Cache.Dir != `C:\ProgramData\icp` ||
					strings.Join(c.Static.Files, ",") != `C:\k\config.json` || c.Static.KubeletRootDir != `C:\var\lib\kubelet` {
					t.Fatalf("read %+v", c)
				}
			})
		}
	}
}

// --cache-dir's help names where the cache goes on the platform it runs on.
func TestCacheDirHelp(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	(&Config{}).AddFlags(fs)
	usage := fs.Lookup("cache-dir").Usage
	want := map[string][]string{
		"windows": {`%ProgramData%\image-credential-provider\cache`, `%LOCALAPPDATA%\image-credential-provider`},
		"linux":   {"/var/lib/image-credential-provider/cache", "~/.cache/image-credential-provider"},
	}[runtime.GOOS]
	if want == nil {
		t.Skipf("no expectation for %s", runtime.GOOS)
	}
	for _, w := range append(want, "$XDG_CACHE_HOME/image-credential-provider") {
		if !strings.Contains(usage, w) {
			t.Errorf("--cache-dir help %q does not mention %s", usage, w)
		}
	}
}
