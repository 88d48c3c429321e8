package dockercfg

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/providers"
)

// Docker config files saved on Windows (CRLF line ends, a UTF-8 byte order mark) give
// the same credentials, configured or found by the kubelet's search, config.json and
// the legacy .dockercfg alike.
func TestWindowsFileEncodings(t *testing.T) {
	const user = `{"username":"win-user","password":"win-pass"}`
	files := map[string]string{
		"config.json": "{\n  \"auths\": {\n    \"reg.example\": " + user + "\n  }\n}\n",
		".dockercfg":  "{\n  \"reg.example\": " + user + "\n}\n",
	}
	encodings := []struct {
		name   string
		encode func(string) string
	}{
		{"CRLF", func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }},
		{"BOM", func(s string) string { return "\xef\xbb\xbf" + s }},
		{"BOM and CRLF", func(s string) string { return "\xef\xbb\xbf" + strings.ReplaceAll(s, "\n", "\r\n") }},
	}
	for _, enc := range encodings {
		for name, content := range files {
			t.Run(enc.name+" "+name, func(t *testing.T) {
				path := writeFile(t, filepath.Join(t.TempDir(), name), enc.encode(content))
				for _, p := range []*Provider{
					newProvider(t, Config{Files: []string{path}}),
					newProvider(t, Config{}, WithSearchPaths(path)),
				} {
					res, err := p.Credentials(context.Background(), providers.Request{Image: image("reg.example/app")})
					if err != nil {
						t.Fatal(err)
					}
					if a := res.Auth["reg.example"]; a.Username != "win-user" || a.Password != "win-pass" || len(res.Problems) != 0 {
						t.Fatalf("answer %+v, want win-user's credentials and no problem", res)
					}
				}
			})
		}
	}
}
