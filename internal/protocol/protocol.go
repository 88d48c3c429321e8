// Package protocol reads the kubelet's CredentialProviderRequest and writes the
// CredentialProviderResponse, in any of the API versions the kubelet speaks.
//
// Guarantees, checked in its tests against the k8s.io/kubelet API types: a request is
// read as decoding it into the kubelet's type of its apiVersion would read it, and every
// response it writes is accepted by the kubelet's strict decoder with the same values.
// It links nothing but the standard library (encoding/json on local types) and
// internal/quote, so that every binary the kubelet runs can afford it: no API machinery
// is initialized at start-up.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/imagecred/image-credential-provider/internal/quote"
)

// Group is the API group of requests and responses.
const Group = "credentialprovider.kubelet.k8s.io"

// The API versions the kubelet can be configured to speak.
const (
	V1       = Group + "/v1"
	V1beta1  = Group + "/v1beta1"
	V1alpha1 = Group + "/v1alpha1"
)

// The kinds of the two objects.
const (
	requestKind  = "CredentialProviderRequest"
	responseKind = "CredentialProviderResponse"
)

// MaxRequestBytes bounds what is read from stdin. A real request is a few hundred bytes
// (a few KiB with a service account token).
const MaxRequestBytes = 1 << 20

// Request is a decoded CredentialProviderRequest, whatever its API version.
type Request struct {
	APIVersion string
	// Image as the kubelet sent it (normally the repository without tag or digest),
	// without surrounding white space.
	Image string
	// ServiceAccountToken is set only in service-account-token mode (v1). Secret.
	ServiceAccountToken string
	// ServiceAccountAnnotations are the annotations the kubelet chose to pass on (v1).
	ServiceAccountAnnotations map[string]string
}

// AuthConfig is one username/password pair.
type AuthConfig struct {
	Username string
	Password string
}

// Response is what the plugin answers, before it is encoded in the request's version.
type Response struct {
	// CacheKeyType is "Image", "Registry" or "Global".
	CacheKeyType string
	// CacheDuration is how long the kubelet may keep the answer; zero (or negative)
	// tells it not to keep it.
	CacheDuration time.Duration
	// Auth maps the kubelet's match patterns to credentials.
	Auth map[string]AuthConfig
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

// typeMeta is the kind and apiVersion every object carries.
type typeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// requestV1 has the fields of a v1 CredentialProviderRequest.
type requestV1 struct {
	Image                     string            `json:"image"`
	ServiceAccountToken       string            `json:"serviceAccountToken,omitempty"`
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
}

// requestV1beta1 has the fields of a v1beta1 or v1alpha1 CredentialProviderRequest:
// the image only (anything else, a token included, is an unknown field there).
type requestV1beta1 struct {
	Image string `json:"image"`
}

// DecodeRequest decodes one CredentialProviderRequest. Unknown fields are tolerated (a
// newer kubelet may add some); the kind, apiVersion and image are checked: the kind must
// be CredentialProviderRequest, the apiVersion one of Versions, and the image must not be
// empty once surrounding white space is removed. The fields of the request are read as
// decoding it with encoding/json into the kubelet's own type of that apiVersion reads
// them. Errors never quote the request (it may hold a service account token) beyond its
// kind and apiVersion.
func DecodeRequest(data []byte) (*Request, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty request on stdin: expected a CredentialProviderRequest in JSON")
	}
	var tm typeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("malformed CredentialProviderRequest: %s", jsonError(err))
	}
	if tm.Kind != requestKind {
		if tm.Kind == "" {
			return nil, errors.New(`request has no kind: expected "CredentialProviderRequest"`)
		}
		return nil, fmt.Errorf(`request kind is %s: expected "CredentialProviderRequest"`, quote.String(tm.Kind))
	}
	req := &Request{APIVersion: tm.APIVersion}
	var err error
	switch tm.APIVersion {
	case V1:
		var r requestV1
		err = json.Unmarshal(data, &r)
		req.Image, req.ServiceAccountToken, req.ServiceAccountAnnotations = r.Image, r.ServiceAccountToken, r.ServiceAccountAnnotations
	case V1beta1, V1alpha1:
		var r requestV1beta1
		err = json.Unmarshal(data, &r)
		req.Image = r.Image
	case "":
		return nil, fmt.Errorf("request has no apiVersion: expected one of %s", strings.Join(Versions(), ", "))
	default:
		return nil, fmt.Errorf("request apiVersion %s is not supported: expected one of %s", quote.String(tm.APIVersion), strings.Join(Versions(), ", "))
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
// service account token): a position, a field name of ours, a JSON type.
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
	default:
		return "invalid JSON"
	}
}

// Versions lists the supported API versions, newest first.
func Versions() []string { return []string{V1, V1beta1, V1alpha1} }

// response is a CredentialProviderResponse with the kubelet's field names, in the
// kubelet's order, and nothing else: its decoder is strict.
type response struct {
	typeMeta
	CacheKeyType  string                `json:"cacheKeyType"`
	CacheDuration string                `json:"cacheDuration"`
	Auth          map[string]authConfig `json:"auth,omitempty"`
}

type authConfig struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// EncodeResponse encodes resp as a CredentialProviderResponse of apiVersion (one of
// Versions) followed by a newline, in the form the kubelet's strict decoder accepts:
// cacheDuration as a Go duration string (a negative one becomes "0s"), an empty auth
// left out, a username or password that is not valid UTF-8 with each bad byte replaced
// by U+FFFD (as encoding/json does). A match pattern (a key of Auth) that is not valid
// UTF-8 is an error: two of them could become one key, which the kubelet rejects.
func EncodeResponse(apiVersion string, resp *Response) ([]byte, error) {
	switch apiVersion {
	case V1, V1beta1, V1alpha1:
	default:
		return nil, fmt.Errorf("cannot answer in apiVersion %s", quote.String(apiVersion))
	}
	switch resp.CacheKeyType {
	case "Image", "Registry", "Global":
	default:
		return nil, fmt.Errorf("invalid cacheKeyType %s: want Image, Registry or Global", quote.String(resp.CacheKeyType))
	}
	out := response{
		typeMeta:      typeMeta{Kind: responseKind, APIVersion: apiVersion},
		CacheKeyType:  resp.CacheKeyType,
		CacheDuration: max(resp.CacheDuration, 0).String(),
	}
	if len(resp.Auth) > 0 {
		out.Auth = make(map[string]authConfig, len(resp.Auth))
		for k, a := range resp.Auth {
			// Two such keys could become one: a duplicate key the kubelet rejects.
			if !utf8.ValidString(k) {
				return nil, fmt.Errorf("credentials for %s: the match pattern is not valid UTF-8", quote.String(k))
			}
			out.Auth[k] = authConfig(a)
		}
	}
	b, err := json.Marshal(&out)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
