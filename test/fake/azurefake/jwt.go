package azurefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// MakeJWT returns an unsigned token with the shape of a JWT (header.claims.signature,
// base64url): what clients that read claims without verifying them see from real
// services. The signature part is a fixed placeholder.
func MakeJWT(claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "fake"})
	body, _ := json.Marshal(claims)
	return b64(header) + "." + b64(body) + "." + b64([]byte("fake-signature"))
}

// ServiceAccountToken returns a Kubernetes projected service account token (unsigned)
// for namespace/name with the given uid and audience, valid for an hour: what the
// kubelet sends in service-account-token mode.
func ServiceAccountToken(namespace, name, uid, audience string) string {
	now := time.Now()
	return MakeJWT(map[string]any{
		"iss": "https://kubernetes.default.svc.cluster.local",
		"sub": "system:serviceaccount:" + namespace + ":" + name,
		"aud": []string{audience},
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"jti": randomID(),
		"kubernetes.io": map[string]any{
			"namespace":      namespace,
			"serviceaccount": map[string]string{"name": name, "uid": uid},
		},
	})
}

// FederatedAudience is the audience Microsoft Entra ID expects in federated (workload
// identity, service account) assertions by default.
const FederatedAudience = "api://AzureADTokenExchange"

// NewClientCertificate makes a self-signed RSA certificate for a service principal and
// returns it with its private key as one PEM file (the form aadClientCertPath and
// azidentity.ParseCertificates accept) and the parsed certificate (for
// Server.AddCertificatePrincipal).
func NewClientCertificate(commonName string) ([]byte, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	return out, cert, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// jwtParts splits a compact JWT and decodes its header and claims.
func jwtParts(token string) (header, claims map[string]any, signed, sig []byte, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, nil, nil, errors.New("not a compact JWT")
	}
	hb, err := unb64(parts[0])
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("header: %w", err)
	}
	cb, err := unb64(parts[1])
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("claims: %w", err)
	}
	sig, err = unb64(parts[2])
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("signature: %w", err)
	}
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(cb, &claims); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("claims: %w", err)
	}
	return header, claims, []byte(parts[0] + "." + parts[1]), sig, nil
}

// verifyRSA checks a PS256 or RS256 signature (what MSAL uses for certificate
// assertions) with the certificate's public key.
func verifyRSA(cert *x509.Certificate, alg string, signed, sig []byte) error {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("certificate key is not RSA")
	}
	sum := sha256.Sum256(signed)
	switch alg {
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	default:
		return fmt.Errorf("unsupported assertion algorithm %q", alg)
	}
}

// audiences reads an "aud" claim that may be a string or a list.
func audiences(claims map[string]any) []string {
	switch v := claims["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func expired(claims map[string]any, now time.Time) bool {
	exp, ok := claims["exp"].(float64)
	return ok && time.Unix(int64(exp), 0).Before(now)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
