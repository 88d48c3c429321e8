// Package protocol reads the kubelet's CredentialProviderRequest and writes the
// CredentialProviderResponse, in any of the API versions the kubelet speaks, using the
// kubelet's own API types.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	"k8s.io/kubelet/pkg/apis/credentialprovider/v1alpha1"
	"k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"
)

// Group is the API group of requests and responses.
const Group = "credentialprovider.kubelet.k8s.io"

// The API versions the kubelet can be configured to speak.
const (
	V1       = Group + "/v1"
	V1beta1  = Group + "/v1beta1"
	V1alpha1 = Group + "/v1alpha1"
)

// MaxRequestBytes bounds what is read from stdin. A real request is a few hundred bytes
// (a few KiB with a service account token).
const MaxRequestBytes = 1 << 20

// Request is a decoded CredentialProviderRequest, whatever its API version.
type Request struct {
	APIVersion string
	// Image as the kubelet sent it (normally the repository without tag or digest).
	Image string
	// ServiceAccountToken is set only in service-account-token mode (v1). Secret.
	ServiceAccountToken string
	// ServiceAccountAnnotations are the annotations the kubelet chose to pass on.
	ServiceAccountAnnotations map[string]string
}

// AuthConfig is one username/password pair.
type AuthConfig struct {
	Username string
	Password string
}

// Response is what the plugin answers, before it is encoded in the request's version.
type Response struct {
	CacheKeyType  string
	CacheDuration time.Duration
	Auth          map[string]AuthConfig
}

// ReadRequest reads all of r (at most MaxRequestBytes) and decodes it.
func ReadRequest(r io.Reader) (*Request, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading request from stdin: %w", err)
	}
	if len(data) > MaxRequestBytes {
		return nil, fmt.Errorf("request on stdin is larger than %d bytes", MaxRequestBytes)
	}
	return DecodeRequest(data)
}

// DecodeRequest decodes one CredentialProviderRequest. Unknown fields are tolerated (a
// newer kubelet may add some); the kind, apiVersion and image are checked.
func DecodeRequest(data []byte) (*Request, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty request on stdin: expected a CredentialProviderRequest in JSON")
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("malformed CredentialProviderRequest: %s", jsonError(err))
	}
	if tm.Kind != "CredentialProviderRequest" {
		if tm.Kind == "" {
			return nil, errors.New(`request has no kind: expected "CredentialProviderRequest"`)
		}
		return nil, fmt.Errorf("request kind is %q: expected \"CredentialProviderRequest\"", tm.Kind)
	}
	req := &Request{APIVersion: tm.APIVersion}
	var err error
	switch tm.APIVersion {
	case V1:
		var r v1.CredentialProviderRequest
		err = json.Unmarshal(data, &r)
		req.Image, req.ServiceAccountToken, req.ServiceAccountAnnotations = r.Image, r.ServiceAccountToken, r.ServiceAccountAnnotations
	case V1beta1:
		var r v1beta1.CredentialProviderRequest
		err = json.Unmarshal(data, &r)
		req.Image = r.Image
	case V1alpha1:
		var r v1alpha1.CredentialProviderRequest
		err = json.Unmarshal(data, &r)
		req.Image = r.Image
	case "":
		return nil, fmt.Errorf("request has no apiVersion: expected one of %s", strings.Join(Versions(), ", "))
	default:
		return nil, fmt.Errorf("request apiVersion %q is not supported: expected one of %s", tm.APIVersion, strings.Join(Versions(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("malformed CredentialProviderRequest: %s", jsonError(err))
	}
	req.Image = strings.TrimSpace(req.Image)
	if req.Image == "" {
		return nil, errors.New("request has an empty image")
	}
	return req, nil
}

// jsonError describes a decoding error without quoting the input (which may hold a
// service account token).
func jsonError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be a JSON %s, not %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("expected a JSON object, not %s", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		return "invalid JSON"
	}
}

// Versions lists the supported API versions, newest first.
func Versions() []string { return []string{V1, V1beta1, V1alpha1} }

// EncodeResponse encodes resp as a CredentialProviderResponse of apiVersion, in the form
// the kubelet's strict decoder accepts, followed by a newline.
func EncodeResponse(apiVersion string, resp *Response) ([]byte, error) {
	tm := metav1.TypeMeta{Kind: "CredentialProviderResponse", APIVersion: apiVersion}
	dur := &metav1.Duration{Duration: resp.CacheDuration}
	if resp.CacheDuration < 0 {
		dur.Duration = 0
	}
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
		return nil, fmt.Errorf("cannot answer in apiVersion %q", apiVersion)
	}
	switch resp.CacheKeyType {
	case "Image", "Registry", "Global":
	default:
		return nil, fmt.Errorf("invalid cacheKeyType %q", resp.CacheKeyType)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
