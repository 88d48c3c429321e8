package providers

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// NewServiceAccount builds the pod identity of a service-account-token request. The
// namespace, name and UID are read from the token's claims without verifying the
// signature: they only choose cache keys, and the cloud verifies the token when it is
// exchanged. A token whose claims cannot be read yields an identity with empty fields,
// which the dispatcher never caches.
func NewServiceAccount(token string, annotations map[string]string) *ServiceAccount {
	sa := &ServiceAccount{Token: token, Annotations: annotations}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return sa
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return sa
	}
	var claims struct {
		Sub string `json:"sub"`
		K8s struct {
			Namespace      string `json:"namespace"`
			ServiceAccount struct {
				Name string `json:"name"`
				UID  string `json:"uid"`
			} `json:"serviceaccount"`
		} `json:"kubernetes.io"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return sa
	}
	sa.Namespace, sa.Name, sa.UID = claims.K8s.Namespace, claims.K8s.ServiceAccount.Name, claims.K8s.ServiceAccount.UID
	if rest, ok := strings.CutPrefix(claims.Sub, "system:serviceaccount:"); ok && sa.Name == "" {
		if ns, name, ok := strings.Cut(rest, ":"); ok {
			sa.Namespace, sa.Name = ns, name
		}
	}
	return sa
}

// Identified reports whether the pod identity is known well enough to key a cache on it.
func (sa *ServiceAccount) Identified() bool {
	return sa != nil && sa.Namespace != "" && sa.Name != "" && sa.UID != ""
}
