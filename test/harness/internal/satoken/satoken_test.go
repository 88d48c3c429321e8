package satoken

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestMintedTokensLookLikeBoundServiceAccountTokens(t *testing.T) {
	m, err := NewMinter("")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	c := Claims{Namespace: "team-a", ServiceAccount: "puller", ServiceAccountUID: "sa-uid", PodName: "p", PodUID: "pod-uid", Audiences: []string{"aud"}, TTL: 10 * time.Minute}
	tok, exp, err := m.Mint(c, now)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("expiry %v", exp)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Aud []string `json:"aud"`
		Exp int64    `json:"exp"`
		K8s struct {
			Namespace      string            `json:"namespace"`
			ServiceAccount map[string]string `json:"serviceaccount"`
			Pod            map[string]string `json:"pod"`
		} `json:"kubernetes.io"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Iss != DefaultIssuer || claims.Sub != "system:serviceaccount:team-a:puller" || claims.Aud[0] != "aud" ||
		claims.Exp != exp.Unix() || claims.K8s.Namespace != "team-a" || claims.K8s.ServiceAccount["uid"] != "sa-uid" || claims.K8s.Pod["name"] != "p" {
		t.Errorf("claims %+v", claims)
	}
	// The signature verifies with the published key.
	jwks, err := m.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", jwks, err)
	}
	n, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	again, _, err := m.Mint(c, now)
	if err != nil || again == tok {
		t.Errorf("two TokenRequests gave the same token (the kubelet's Token cache type relies on rotation)")
	}
}
