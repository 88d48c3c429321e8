package protocol

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/kubelet/pkg/apis/credentialprovider"
	"k8s.io/kubelet/pkg/apis/credentialprovider/install"
	v1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	"k8s.io/kubelet/pkg/apis/credentialprovider/v1alpha1"
	"k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Request
		wantErr string
	}{
		{name: "v1 as the kubelet sends it", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"registry.example.com/team/app"}` + "\n",
			want: Request{APIVersion: V1, Image: "registry.example.com/team/app"}},
		{name: "v1beta1, no trailing newline", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"gcr.io/p/a"}`,
			want: Request{APIVersion: V1beta1, Image: "gcr.io/p/a"}},
		{name: "v1alpha1", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","image":"a/b"}`,
			want: Request{APIVersion: V1alpha1, Image: "a/b"}},
		{name: "v1 service account mode", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","serviceAccountToken":"tok","serviceAccountAnnotations":{"k":"v","k2":""}}`,
			want: Request{APIVersion: V1, Image: "h/a", ServiceAccountToken: "tok", ServiceAccountAnnotations: map[string]string{"k": "v", "k2": ""}}},
		{name: "v1beta1 has no token field: a token there is an unknown field", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"h/a","serviceAccountToken":"tok","serviceAccountAnnotations":{"k":"v"}}`,
			want: Request{APIVersion: V1beta1, Image: "h/a"}},
		{name: "v1alpha1 ignores a token even of the wrong type", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","image":"h/a","serviceAccountToken":7}`,
			want: Request{APIVersion: V1alpha1, Image: "h/a"}},
		{name: "unknown fields tolerated", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","future":{"x":[1,2]}}`,
			want: Request{APIVersion: V1, Image: "h/a"}},
		{name: "white space around the image is dropped", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":" h/a\n"}`,
			want: Request{APIVersion: V1, Image: "h/a"}},
		{name: "the last of duplicate keys wins, as in encoding/json", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","image":"h/b"}`,
			want: Request{APIVersion: V1, Image: "h/b"}},
		{name: "empty input", in: "  \n", wantErr: "empty request"},
		{name: "malformed JSON", in: `{"kind":`, wantErr: "malformed CredentialProviderRequest: invalid JSON at byte 8"},
		{name: "trailing data", in: `{"kind":"CredentialProviderRequest"} {}`, wantErr: "malformed CredentialProviderRequest: invalid JSON at byte 38"},
		{name: "not an object", in: `[1]`, wantErr: "malformed CredentialProviderRequest: expected a JSON object, not array"},
		{name: "null", in: `null`, wantErr: "no kind"},
		{name: "missing kind", in: `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a"}`, wantErr: "no kind"},
		{name: "wrong kind", in: `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a"}`, wantErr: `kind is "CredentialProviderResponse"`},
		{name: "kind of wrong type", in: `{"kind":1}`, wantErr: `field "kind" must be a JSON string, not number`},
		{name: "wrong kind is quoted escaped and capped", in: `{"kind":"` + strings.Repeat("K", 300) + `\u001b"}`, wantErr: `kind is "` + strings.Repeat("K", 256) + `"…(301 bytes)`},
		{name: "missing apiVersion", in: `{"kind":"CredentialProviderRequest","image":"h/a"}`, wantErr: "no apiVersion"},
		{name: "wrong apiVersion", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v2","image":"h/a"}`, wantErr: `apiVersion "credentialprovider.kubelet.k8s.io/v2" is not supported`},
		{name: "empty image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":""}`, wantErr: "empty image"},
		{name: "blank image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":" \t"}`, wantErr: "empty image"},
		{name: "no image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}`, wantErr: "empty image"},
		{name: "image of wrong type", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":5}`, wantErr: `field "image" must be a JSON string, not number`},
		{name: "annotations of wrong type", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","serviceAccountAnnotations":{"k":1}}`, wantErr: `field "serviceAccountAnnotations" must be a JSON string, not number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.APIVersion != tt.want.APIVersion || got.Image != tt.want.Image || got.ServiceAccountToken != tt.want.ServiceAccountToken ||
				!maps.Equal(got.ServiceAccountAnnotations, tt.want.ServiceAccountAnnotations) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeErrorsNeverQuoteTheToken(t *testing.T) {
	const secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln"
	for _, in := range []string{
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"","serviceAccountToken":"` + secret + `"}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","serviceAccountToken":"` + secret + `",`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","serviceAccountToken":["` + secret + `"]}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","serviceAccountToken":"` + secret + `"` + "\x00}",
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":5,"serviceAccountToken":"` + secret + `"}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","serviceAccountAnnotations":{"` + secret + `":1}}`,
	} {
		_, err := DecodeRequest([]byte(in))
		if err == nil {
			t.Fatalf("no error for %s", in)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Fatalf("error quotes the token: %v", err)
		}
	}
}

func TestReadRequestSizeLimit(t *testing.T) {
	head := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","x":"`
	tail := `"}`
	fits := head + strings.Repeat("a", MaxRequestBytes-len(head)-len(tail)) + tail
	if req, err := ReadRequest(strings.NewReader(fits)); err != nil || req.Image != "h/a" {
		t.Fatalf("a request of exactly %d bytes: %+v, %v", MaxRequestBytes, req, err)
	}
	big := head + strings.Repeat("a", MaxRequestBytes) + tail
	if _, err := ReadRequest(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

// kubeletCodecs decode the way the kubelet decodes its plugins' responses: the
// credentialprovider scheme, strict (pkg/credentialprovider/plugin/plugin.go).
func kubeletCodecs() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict)
}

// kubeletDecodeResponse does what the kubelet does with a plugin's stdout: it reads the
// apiVersion and insists it is the configured one, then decodes strictly into the
// internal type and insists on the kind and group.
func kubeletDecodeResponse(t *testing.T, codecs serializer.CodecFactory, apiVersion string, data []byte) *credentialprovider.CredentialProviderResponse {
	t.Helper()
	gvk, err := kjson.DefaultMetaFactory.Interpret(data)
	if err != nil {
		t.Fatalf("kubelet cannot read the apiVersion of %q: %v", data, err)
	}
	if gvk.GroupVersion().String() != apiVersion {
		t.Fatalf("answered %s to a %s request", gvk.GroupVersion(), apiVersion)
	}
	obj, gvk, err := codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("kubelet's strict decoder rejects %q: %v", data, err)
	}
	if gvk.Kind != "CredentialProviderResponse" || gvk.Group != credentialprovider.GroupName {
		t.Fatalf("decoded as %v", gvk)
	}
	resp, ok := obj.(*credentialprovider.CredentialProviderResponse)
	if !ok {
		t.Fatalf("decoded into %T", obj)
	}
	return resp
}

// asJSONString is s as a JSON decoder reads it back after encoding/json wrote it: each
// byte that is not part of valid UTF-8 becomes U+FFFD.
func asJSONString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for a bad byte, with n == 1
		i += n
	}
	return b.String()
}

// checkEncodeResponse encodes resp in apiVersion and checks that the kubelet reads back
// the same values, and that the bytes are those the kubelet's own types produce.
func checkEncodeResponse(t *testing.T, codecs serializer.CodecFactory, apiVersion string, resp *Response) {
	t.Helper()
	out, err := EncodeResponse(apiVersion, resp)
	if err != nil {
		t.Fatalf("EncodeResponse(%s, %+v): %v", apiVersion, resp, err)
	}
	if !bytes.HasSuffix(out, []byte("}\n")) || bytes.Count(out, []byte("\n")) != 1 {
		t.Fatalf("not exactly one JSON object and a newline: %q", out)
	}
	if want := encodeWithKubeletTypes(t, apiVersion, resp); !bytes.Equal(out, want) {
		t.Fatalf("EncodeResponse wrote\n%s\nthe kubelet's types write\n%s", out, want)
	}
	got := kubeletDecodeResponse(t, codecs, apiVersion, out)
	if string(got.CacheKeyType) != resp.CacheKeyType {
		t.Errorf("cacheKeyType %q, want %q", got.CacheKeyType, resp.CacheKeyType)
	}
	if got.CacheDuration == nil || got.CacheDuration.Duration != max(resp.CacheDuration, 0) {
		t.Errorf("cacheDuration %v, want %v", got.CacheDuration, max(resp.CacheDuration, 0))
	}
	want := make(map[string]credentialprovider.AuthConfig, len(resp.Auth))
	for k, a := range resp.Auth {
		want[k] = credentialprovider.AuthConfig{Username: asJSONString(a.Username), Password: asJSONString(a.Password)}
	}
	if len(got.Auth) != 0 || len(want) != 0 {
		if !maps.Equal(got.Auth, want) {
			t.Errorf("auth %q, want %q", got.Auth, want)
		}
	}
}

// encodeWithKubeletTypes writes resp through the kubelet's versioned types with
// encoding/json, which is what this package did before it stopped linking them.
func encodeWithKubeletTypes(t *testing.T, apiVersion string, resp *Response) []byte {
	t.Helper()
	tm := metav1.TypeMeta{Kind: "CredentialProviderResponse", APIVersion: apiVersion}
	dur := &metav1.Duration{Duration: max(resp.CacheDuration, 0)}
	var out any
	switch apiVersion {
	case V1:
		auth := make(map[string]v1.AuthConfig, len(resp.Auth))
		for k, a := range resp.Auth {
			auth[k] = v1.AuthConfig{Username: a.Username, Password: a.Password}
		}
		out = &v1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: v1.PluginCacheKeyType(resp.CacheKeyType), CacheDuration: dur, Auth: auth}
	case V1beta1:
		auth := make(map[string]v1beta1.AuthConfig, len(resp.Auth))
		for k, a := range resp.Auth {
			auth[k] = v1beta1.AuthConfig{Username: a.Username, Password: a.Password}
		}
		out = &v1beta1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: v1beta1.PluginCacheKeyType(resp.CacheKeyType), CacheDuration: dur, Auth: auth}
	case V1alpha1:
		auth := make(map[string]v1alpha1.AuthConfig, len(resp.Auth))
		for k, a := range resp.Auth {
			auth[k] = v1alpha1.AuthConfig{Username: a.Username, Password: a.Password}
		}
		out = &v1alpha1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: v1alpha1.PluginCacheKeyType(resp.CacheKeyType), CacheDuration: dur, Auth: auth}
	default:
		t.Fatalf("no kubelet type for %q", apiVersion)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestEncodeResponseAcceptedByKubeletStrictDecoder(t *testing.T) {
	codecs := kubeletCodecs()
	resps := []*Response{
		{CacheKeyType: "Registry", CacheDuration: 10 * time.Minute, Auth: map[string]AuthConfig{"*.example.com/team": {Username: "u", Password: "p:w"}}},
		{CacheKeyType: "Image", CacheDuration: 0, Auth: nil},
		{CacheKeyType: "Image", CacheDuration: time.Hour, Auth: map[string]AuthConfig{}},
		{CacheKeyType: "Global", CacheDuration: 90*time.Second + 5*time.Millisecond, Auth: map[string]AuthConfig{"a": {}, "b:5000": {Username: "x"}, "": {Password: "y"}}},
		{CacheKeyType: "Registry", CacheDuration: -time.Second, Auth: map[string]AuthConfig{"h": {Username: "<&>\u2028\"\\", Password: "\xff\xfeé\x00"}}},
	}
	for _, v := range Versions() {
		for _, r := range resps {
			checkEncodeResponse(t, codecs, v, r)
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name       string
		apiVersion string
		resp       Response
		want       string
		wantErr    string
	}{
		{name: "every field, in the kubelet's order", apiVersion: V1,
			resp: Response{CacheKeyType: "Registry", CacheDuration: 11*time.Hour + 59*time.Minute, Auth: map[string]AuthConfig{"b.example": {Username: "AWS", Password: "p"}, "a.example": {Username: "u", Password: ""}}},
			want: `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","cacheDuration":"11h59m0s","auth":{"a.example":{"username":"u","password":""},"b.example":{"username":"AWS","password":"p"}}}` + "\n"},
		{name: "no credentials: auth left out, 0s never cached", apiVersion: V1alpha1, resp: Response{CacheKeyType: "Image"},
			want: `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","cacheKeyType":"Image","cacheDuration":"0s"}` + "\n"},
		{name: "negative duration is 0s", apiVersion: V1beta1, resp: Response{CacheKeyType: "Global", CacheDuration: -time.Minute},
			want: `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","cacheKeyType":"Global","cacheDuration":"0s"}` + "\n"},
		{name: "unknown apiVersion", apiVersion: Group + "/v9", resp: Response{CacheKeyType: "Image"}, wantErr: `cannot answer in apiVersion "credentialprovider.kubelet.k8s.io/v9"`},
		{name: "no apiVersion", apiVersion: "", resp: Response{CacheKeyType: "Image"}, wantErr: `cannot answer in apiVersion ""`},
		{name: "wrong-case cacheKeyType", apiVersion: V1, resp: Response{CacheKeyType: "image"}, wantErr: `invalid cacheKeyType "image"`},
		{name: "no cacheKeyType", apiVersion: V1, resp: Response{}, wantErr: `invalid cacheKeyType ""`},
		{name: "match pattern not valid UTF-8", apiVersion: V1, resp: Response{CacheKeyType: "Image", Auth: map[string]AuthConfig{"h\xff": {}}}, wantErr: `credentials for "h\xff": the match pattern is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := EncodeResponse(tt.apiVersion, &tt.resp)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Fatalf("got  %s\nwant %s", out, tt.want)
			}
		})
	}
}

// FuzzEncodeResponse: whatever EncodeResponse writes, the kubelet's strict decoder reads
// back to the same values, and the bytes are those the kubelet's own types produce.
func FuzzEncodeResponse(f *testing.F) {
	f.Add(uint8(0), "Registry", int64(time.Hour), "*.example.com", "u", "p", "", "", "")
	f.Add(uint8(1), "Image", int64(-1), "a", "", "", "b:5000/x", "AWS", "tok\xff")
	f.Add(uint8(2), "Global", int64(0), "", "", "", "", "", "")
	f.Add(uint8(3), "image", int64(1), "k", "u", "p", "k", "v", "w")
	codecs := kubeletCodecs()
	f.Fuzz(func(t *testing.T, which uint8, keyType string, dur int64, k1, u1, p1, k2, u2, p2 string) {
		// Mostly valid cache key types, so that the encoding is exercised.
		switch which % 8 {
		case 0:
			keyType = "Image"
		case 1:
			keyType = "Registry"
		case 2:
			keyType = "Global"
		}
		resp := &Response{CacheKeyType: keyType, CacheDuration: time.Duration(dur), Auth: map[string]AuthConfig{k1: {u1, p1}, k2: {u2, p2}}}
		if which&8 != 0 {
			resp.Auth = nil
		}
		versions := Versions()
		v := versions[int(which>>4)%len(versions)]
		_, err := EncodeResponse(v, resp)
		switch valid := keyType == "Image" || keyType == "Registry" || keyType == "Global"; {
		case !valid && err == nil:
			t.Fatalf("cacheKeyType %q accepted", keyType)
		case !valid:
			return
		}
		if resp.Auth != nil && (!utf8.ValidString(k1) || !utf8.ValidString(k2)) {
			if err == nil {
				t.Fatalf("match pattern %q or %q is not valid UTF-8, and accepted", k1, k2)
			}
			return
		}
		checkEncodeResponse(t, codecs, v, resp)
	})
}

// decodeAsKubeletTypes decodes a request with encoding/json into the kubelet's type of
// its apiVersion (what this package did before it stopped linking those types).
func decodeAsKubeletTypes(data []byte) (*Request, bool) {
	var tm metav1.TypeMeta
	if json.Unmarshal(data, &tm) != nil || tm.Kind != "CredentialProviderRequest" {
		return nil, false
	}
	req := &Request{APIVersion: tm.APIVersion}
	switch tm.APIVersion {
	case V1:
		var r v1.CredentialProviderRequest
		if json.Unmarshal(data, &r) != nil {
			return nil, false
		}
		req.Image, req.ServiceAccountToken, req.ServiceAccountAnnotations = r.Image, r.ServiceAccountToken, r.ServiceAccountAnnotations
	case V1beta1:
		var r v1beta1.CredentialProviderRequest
		if json.Unmarshal(data, &r) != nil {
			return nil, false
		}
		req.Image = r.Image
	case V1alpha1:
		var r v1alpha1.CredentialProviderRequest
		if json.Unmarshal(data, &r) != nil {
			return nil, false
		}
		req.Image = r.Image
	default:
		return nil, false
	}
	return req, true
}

// decodeWithKubeletCodec decodes a request with the API machinery, into the kubelet's
// internal type, as a kubelet-side reader of requests would (not strict: a plugin must
// tolerate fields a newer kubelet adds).
func decodeWithKubeletCodec(codecs serializer.CodecFactory, data []byte) (*Request, bool) {
	obj, gvk, err := codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, false
	}
	r, ok := obj.(*credentialprovider.CredentialProviderRequest)
	if !ok {
		return nil, false
	}
	return &Request{APIVersion: gvk.GroupVersion().String(), Image: r.Image, ServiceAccountToken: r.ServiceAccountToken, ServiceAccountAnnotations: r.ServiceAccountAnnotations}, true
}

// keysDifferOnlyInCase reports whether the top-level object of data has a key that
// matches one of the request's field names only when case is ignored (encoding/json
// reads it as that field, the API machinery ignores it).
func keysDifferOnlyInCase(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	for k := range top {
		for _, f := range []string{"kind", "apiVersion", "image", "serviceAccountToken", "serviceAccountAnnotations"} {
			if k != f && strings.EqualFold(k, f) {
				return true
			}
		}
	}
	return false
}

// sameRequest compares what DecodeRequest read with what a reference decoder read, our
// extra checks applied to the latter: the image without surrounding white space, and
// not empty.
func sameRequest(got *Request, gotErr error, ref *Request, refOK bool) (string, bool) {
	if refOK {
		ref.Image = strings.TrimSpace(ref.Image)
		refOK = ref.Image != ""
	}
	switch {
	case gotErr != nil && refOK:
		return "rejected (" + gotErr.Error() + ") what the reference accepts", false
	case gotErr == nil && !refOK:
		return "accepted what the reference rejects", false
	case gotErr != nil:
		return "", true
	}
	if got.APIVersion != ref.APIVersion || got.Image != ref.Image || got.ServiceAccountToken != ref.ServiceAccountToken ||
		len(got.ServiceAccountAnnotations) != len(ref.ServiceAccountAnnotations) || !maps.Equal(got.ServiceAccountAnnotations, ref.ServiceAccountAnnotations) {
		return "read differently", false
	}
	return "", true
}

// FuzzDecodeRequest: DecodeRequest accepts what decoding into the kubelet's own request
// types accepts, and reads the same apiVersion, image, token and annotations, with two
// extra checks of ours (the image is trimmed of white space and must not be empty). Two
// references: encoding/json into the versioned types (exactly), and the API machinery
// into the internal type, which differs only in what no kubelet sends: it also reads
// YAML and CBOR, and it matches field names with their case (encoding/json does not).
// Errors never contain a token the input holds.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a"}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":" h/a ","serviceAccountToken":"secret-token","serviceAccountAnnotations":{"a":"b"}}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"x","serviceAccountToken":5}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","IMAGE":"x","image":"y"}`))
	f.Add([]byte(`{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Image"}`))
	f.Add([]byte("kind: CredentialProviderRequest\napiVersion: credentialprovider.kubelet.k8s.io/v1\nimage: x\n"))
	f.Add([]byte(`{}`))
	codecs := serializer.NewCodecFactory(func() *runtime.Scheme { s := runtime.NewScheme(); install.Install(s); return s }())
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeRequest(data)
		if err == nil && got.APIVersion != V1 && (got.ServiceAccountToken != "" || got.ServiceAccountAnnotations != nil) {
			t.Fatalf("service account fields outside v1: %+v", got)
		}
		if err != nil {
			// Only the kind and the apiVersion are ever quoted.
			var fields struct {
				Kind       string `json:"kind"`
				APIVersion string `json:"apiVersion"`
				Token      string `json:"serviceAccountToken"`
			}
			if json.Unmarshal(data, &fields) == nil && len(fields.Token) >= 8 && strings.Contains(err.Error(), fields.Token) &&
				!strings.Contains(fields.Kind, fields.Token) && !strings.Contains(fields.APIVersion, fields.Token) {
				t.Fatalf("error quotes the token: %v", err)
			}
		}
		ref, ok := decodeAsKubeletTypes(data)
		if why, same := sameRequest(got, err, ref, ok); !same {
			t.Fatalf("%s: %q\nDecodeRequest: %+v\nkubelet types: %+v", why, data, got, ref)
		}
		if !json.Valid(data) || keysDifferOnlyInCase(data) {
			return
		}
		ref, ok = decodeWithKubeletCodec(codecs, data)
		if why, same := sameRequest(got, err, ref, ok); !same {
			t.Fatalf("%s: %q\nDecodeRequest: %+v\nAPI machinery: %+v", why, data, got, ref)
		}
	})
}

// TestReferenceDecoders pins what the two references of FuzzDecodeRequest read where
// they differ from each other or from DecodeRequest, so that the fuzz target's
// exclusions stay as narrow as stated.
func TestReferenceDecoders(t *testing.T) {
	codecs := serializer.NewCodecFactory(func() *runtime.Scheme { s := runtime.NewScheme(); install.Install(s); return s }())
	tests := []struct {
		name               string
		in                 string
		types, codec, ours string // image read by each, "-" for a rejection
	}{
		{name: "as the kubelet sends it", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a"}`,
			types: "h/a", codec: "h/a", ours: "h/a"},
		{name: "YAML", in: "kind: CredentialProviderRequest\napiVersion: credentialprovider.kubelet.k8s.io/v1\nimage: h/a\n",
			types: "-", codec: "h/a", ours: "-"},
		{name: "field name in another case", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","Image":"h/a"}`,
			types: "h/a", codec: "", ours: "h/a"},
		{name: "empty image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":""}`,
			types: "", codec: "", ours: "-"},
	}
	read := func(r *Request, ok bool) string {
		if !ok {
			return "-"
		}
		return r.Image
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.in))
			if g := read(got, err == nil); g != tt.ours {
				t.Errorf("DecodeRequest read %q, want %q", g, tt.ours)
			}
			if g := read(decodeAsKubeletTypes([]byte(tt.in))); g != tt.types {
				t.Errorf("kubelet types read %q, want %q", g, tt.types)
			}
			if g := read(decodeWithKubeletCodec(codecs, []byte(tt.in))); g != tt.codec {
				t.Errorf("API machinery read %q, want %q", g, tt.codec)
			}
		})
	}
}
