package gcr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The key file and, for workload identity federation, the subject token file it names
// are the backend's input files, whatever the key file's line ends and byte order mark.
func TestInputFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token := filepath.Join(dir, "oidc-token")
	federation := "{\n  \"type\": \"external_account\",\n  \"credential_source\": {\"file\": " + strings.ReplaceAll(`"`+token+`"`, `\`, `\\`) + "}\n}\n"
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tests := []struct {
		name string
		cfg  Config
		env  map[string]string
		want []string
	}{
		{"no key file", Config{}, nil, nil},
		{"key file not a source", Config{Sources: []string{SourceMetadata}, KeyFile: write("a.json", "{}")}, nil, nil},
		{"service account key", Config{KeyFile: write("sa.json", `{"type":"service_account"}`)}, nil, []string{filepath.Join(dir, "sa.json")}},
		{"from the environment", Config{}, map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": filepath.Join(dir, "env.json")}, []string{filepath.Join(dir, "env.json")}},
		{"federation", Config{KeyFile: write("f.json", federation)}, nil, []string{filepath.Join(dir, "f.json"), token}},
		{"federation, CRLF", Config{KeyFile: write("f-crlf.json", crlf(federation))}, nil, []string{filepath.Join(dir, "f-crlf.json"), token}},
		{"federation, BOM and CRLF", Config{KeyFile: write("f-bom.json", "\xef\xbb\xbf"+crlf(federation))}, nil, []string{filepath.Join(dir, "f-bom.json"), token}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.InputFiles(func(k string) string { return tt.env[k] })
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("InputFiles = %q, want %q", got, tt.want)
			}
		})
	}
}
