package gcrtoken

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imagecred/image-credential-provider/gcr"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

// A credentials file saved on Windows (CRLF line ends, a UTF-8 byte order mark) mints
// the same token.
func TestKeyFileWindowsEncodings(t *testing.T) {
	encodings := []struct {
		name   string
		encode func(string) string
	}{
		{"CRLF", func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }},
		{"BOM", func(s string) string { return "\xef\xbb\xbf" + s }},
		{"BOM and CRLF", func(s string) string { return "\xef\xbb\xbf" + strings.ReplaceAll(s, "\n", "\r\n") }},
	}
	f := startFake(t)
	key, err := json.MarshalIndent(serviceAccountKey(t, f, keyEmail), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) {
			cfg := gcr.Config{Sources: []string{gcr.SourceKeyFile}, KeyFile: writeFile(t, "creds.json", enc.encode(string(key)+"\n"))}
			res, err := fetch(t, newProvider(t, cfg), request("gcr.io"))
			if err != nil {
				t.Fatal(err)
			}
			if it, ok := f.Lookup(tokenOf(t, res, "gcr.io")); !ok || it.Source != gcpfake.OAuth2 || it.Identity != keyEmail {
				t.Fatalf("token %+v, want one from the key of %s", it, keyEmail)
			}
		})
	}
}
