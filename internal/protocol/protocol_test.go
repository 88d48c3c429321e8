package protocol

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/kubelet/pkg/apis/credentialprovider/install"
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
		{name: "v1 service account mode", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","serviceAccountToken":"tok","serviceAccountAnnotations":{"k":"v"}}`,
			want: Request{APIVersion: V1, Image: "h/a", ServiceAccountToken: "tok", ServiceAccountAnnotations: map[string]string{"k": "v"}}},
		{name: "unknown fields tolerated", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","future":1}`,
			want: Request{APIVersion: V1, Image: "h/a"}},
		{name: "empty input", in: "  \n", wantErr: "empty request"},
		{name: "malformed JSON", in: `{"kind":`, wantErr: "malformed CredentialProviderRequest"},
		{name: "not an object", in: `[1]`, wantErr: "malformed CredentialProviderRequest"},
		{name: "missing kind", in: `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a"}`, wantErr: "no kind"},
		{name: "wrong kind", in: `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a"}`, wantErr: `kind is "CredentialProviderResponse"`},
		{name: "missing apiVersion", in: `{"kind":"CredentialProviderRequest","image":"h/a"}`, wantErr: "no apiVersion"},
		{name: "wrong apiVersion", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v2","image":"h/a"}`, wantErr: `apiVersion "credentialprovider.kubelet.k8s.io/v2" is not supported`},
		{name: "empty image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":""}`, wantErr: "empty image"},
		{name: "image of wrong type", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":5}`, wantErr: `field "image" must be a JSON string`},
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
			if got.APIVersion != tt.want.APIVersion || got.Image != tt.want.Image || got.ServiceAccountToken != tt.want.ServiceAccountToken || len(got.ServiceAccountAnnotations) != len(tt.want.ServiceAccountAnnotations) {
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
	big := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a","x":"` + strings.Repeat("a", MaxRequestBytes) + `"}`
	if _, err := ReadRequest(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

// kubeletDecoder decodes responses the way the kubelet does: its scheme, strict.
func kubeletDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDecoder(
		schema.GroupVersion{Group: Group, Version: "v1"},
		schema.GroupVersion{Group: Group, Version: "v1beta1"},
		schema.GroupVersion{Group: Group, Version: "v1alpha1"},
	)
}

func TestEncodeResponseAcceptedByKubeletStrictDecoder(t *testing.T) {
	dec := kubeletDecoder(t)
	resps := []*Response{
		{CacheKeyType: "Registry", CacheDuration: 10 * time.Minute, Auth: map[string]AuthConfig{"*.example.com/team": {Username: "u", Password: "p:w"}}},
		{CacheKeyType: "Image", CacheDuration: 0, Auth: nil},
		{CacheKeyType: "Global", CacheDuration: 90 * time.Second, Auth: map[string]AuthConfig{"a": {}, "b:5000": {Username: "x"}}},
	}
	for _, v := range Versions() {
		for _, r := range resps {
			out, err := EncodeResponse(v, r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(out, []byte("}\n")) || bytes.Count(out, []byte("\n")) != 1 {
				t.Fatalf("not exactly one JSON object and a newline: %q", out)
			}
			obj, gvk, err := dec.Decode(out, nil, nil)
			if err != nil {
				t.Fatalf("%s: kubelet decoder rejects %s: %v", v, out, err)
			}
			if gvk.GroupVersion().String() != v || gvk.Kind != "CredentialProviderResponse" {
				t.Fatalf("decoded as %v, want %s CredentialProviderResponse", gvk, v)
			}
			if obj == nil {
				t.Fatal("nil object")
			}
			if !bytes.Contains(out, []byte(`"cacheKeyType":"`+r.CacheKeyType+`"`)) || !bytes.Contains(out, []byte(`"cacheDuration":"`+r.CacheDuration.String()+`"`)) {
				t.Fatalf("cacheKeyType/cacheDuration not as given: %s", out)
			}
		}
	}
}

func TestEncodeResponseRejectsInvalid(t *testing.T) {
	if _, err := EncodeResponse("credentialprovider.kubelet.k8s.io/v9", &Response{CacheKeyType: "Image"}); err == nil {
		t.Error("unknown apiVersion accepted")
	}
	if _, err := EncodeResponse(V1, &Response{CacheKeyType: "image"}); err == nil {
		t.Error("wrong-case cacheKeyType accepted")
	}
	out, err := EncodeResponse(V1, &Response{CacheKeyType: "Image", CacheDuration: -time.Second})
	if err != nil || !bytes.Contains(out, []byte(`"cacheDuration":"0s"`)) {
		t.Errorf("negative duration: %s, %v", out, err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"h/a"}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","image":"x","serviceAccountToken":"t"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			return
		}
		if req.Image == "" {
			t.Fatal("accepted an empty image")
		}
		if req.APIVersion != V1 && req.ServiceAccountToken != "" {
			t.Fatal("service account token outside v1")
		}
		// Whatever we accept, we can answer in the same version.
		if _, err := EncodeResponse(req.APIVersion, &Response{CacheKeyType: "Registry"}); err != nil {
			t.Fatal(err)
		}
	})
}
