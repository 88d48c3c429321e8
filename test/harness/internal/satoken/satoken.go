// Package satoken mints service account tokens shaped like the API server's bound
// tokens (RS256 JWTs with the kubernetes.io claims), for the fake TokenRequest getter.
package satoken

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"time"
)

// DefaultIssuer is the issuer of a kubeadm cluster's service account tokens.
const DefaultIssuer = "https://kubernetes.default.svc.cluster.local"

// Minter signs tokens with a key made for this run.
type Minter struct {
	Issuer string
	key    *rsa.PrivateKey
	kid    string
	serial int64
}

// Claims are the identity a token is bound to.
type Claims struct {
	Namespace, ServiceAccount, ServiceAccountUID string
	PodName, PodUID                              string
	Audiences                                    []string
	TTL                                          time.Duration
}

// NewMinter makes a minter with a fresh RSA key.
func NewMinter(issuer string) (*Minter, error) {
	if issuer == "" {
		issuer = DefaultIssuer
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("service account token key: %w", err)
	}
	der := key.PublicKey.N.Bytes()
	sum := sha256.Sum256(der)
	return &Minter{Issuer: issuer, key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12])}, nil
}

// Mint returns a new signed token. Every call yields a different token (new jti and
// iat), as the API server's TokenRequest does.
func (m *Minter) Mint(c Claims, now time.Time) (string, time.Time, error) {
	if c.TTL <= 0 {
		c.TTL = time.Hour
	}
	m.serial++
	exp := now.Add(c.TTL)
	header := map[string]string{"alg": "RS256", "kid": m.kid, "typ": "JWT"}
	k8s := map[string]any{
		"namespace":      c.Namespace,
		"serviceaccount": map[string]string{"name": c.ServiceAccount, "uid": c.ServiceAccountUID},
	}
	if c.PodName != "" {
		k8s["pod"] = map[string]string{"name": c.PodName, "uid": c.PodUID}
	}
	claims := map[string]any{
		"iss":           m.Issuer,
		"sub":           "system:serviceaccount:" + c.Namespace + ":" + c.ServiceAccount,
		"aud":           c.Audiences,
		"iat":           now.Unix(),
		"nbf":           now.Unix(),
		"exp":           exp.Unix(),
		"jti":           fmt.Sprintf("fake-%d-%d", now.UnixNano(), m.serial),
		"kubernetes.io": k8s,
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", exp, err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", exp, err
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, m.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", exp, err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), exp, nil
}

// JWKS returns the public key as a JSON Web Key Set, for fakes that verify signatures.
func (m *Minter) JWKS() ([]byte, error) {
	e := big.NewInt(int64(m.key.PublicKey.E)).Bytes()
	return json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": m.kid,
		"n": base64.RawURLEncoding.EncodeToString(m.key.PublicKey.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(e),
	}}})
}
