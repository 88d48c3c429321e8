package check

import (
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/protocol"
)

func TestDecodeResponse(t *testing.T) {
	const v1 = "credentialprovider.kubelet.k8s.io/v1"
	tests := []struct {
		in      string
		wantErr string
	}{
		{`{"kind":"CredentialProviderResponse","apiVersion":"` + v1 + `","cacheKeyType":"Registry","cacheDuration":"1m","auth":{"r":{"username":"u","password":"p"}}}`, ""},
		{`{"kind":"CredentialProviderResponse","apiVersion":"` + v1 + `","cacheKeyType":"Image"}` + "\n", ""},
		{`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","cacheKeyType":"Image"}`, `apiVersion "credentialprovider.kubelet.k8s.io/v1beta1", but the provider is configured with ` + v1},
		{`{"kind":"CredentialProviderResponse","apiVersion":"` + v1 + `","cacheKeyType":"image"}`, `cacheKeyType "image", want Image, Registry or Global`},
		{`{"kind":"CredentialProviderResponse","apiVersion":"` + v1 + `","cacheKeyType":"Image","CacheDuration":"1m"}`, `not decoded strictly: unknown field "CacheDuration"`},
		{`{"kind":"CredentialProviderResponse","apiVersion":"` + v1 + `","cacheKeyType":"Image","auth":{"r":{"auth":"eA=="}}}`, `not decoded strictly: unknown field "auth.r.auth"`},
		{`{"kind":"CredentialProviderResponse","apiVersion":"` + v1 + `","cacheKeyType":"Image","cacheDuration":60}`, "field cacheDuration holds a JSON number, which the kubelet does not decode there"},
		{`log line` + "\n" + `{}`, "not one JSON CredentialProviderResponse: invalid character 'l' looking for beginning of value"},
		{`{"kind":"CredentialProviderRequest","apiVersion":"` + v1 + `","cacheKeyType":"Image"}`, `kind "CredentialProviderRequest", want CredentialProviderResponse`},
	}
	for _, tt := range tests {
		_, err := decodeResponse([]byte(tt.in), v1)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.wantErr {
			t.Errorf("decodeResponse(%s) = %q, want %q", tt.in, got, tt.wantErr)
		}
	}
}

// FuzzDecodeResponse: whatever the plugin writes, decoding does not panic, and every
// response the plugin can write is accepted with its values.
func FuzzDecodeResponse(f *testing.F) {
	f.Add("Registry", int64(time.Minute), "reg.example", "user", "pass")
	f.Add("Global", int64(0), "*.example/team", "", "")
	f.Fuzz(func(t *testing.T, keyType string, d int64, key, user, pass string) {
		decodeResponse([]byte(key+user+pass), protocol.V1)
		out, err := protocol.EncodeResponse(protocol.V1, &protocol.Response{CacheKeyType: keyType, CacheDuration: time.Duration(d),
			Auth: map[string]protocol.AuthConfig{key: {Username: user, Password: pass}}})
		if err != nil {
			return
		}
		a, err := decodeResponse(out, protocol.V1)
		if err != nil {
			t.Fatalf("the plugin's response %s refused: %v", out, err)
		}
		if a.CacheKeyType != keyType || len(a.Auth) != 1 {
			t.Fatalf("read back %+v from %s", a, out)
		}
	})
}
