package exchange

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// claims decodes the claims of a compact JWT without verifying anything. It is for
// reading our own tokens' metadata (expiry, tenant) only, never for trusting them.
func claims(token string) (map[string]json.RawMessage, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

// Expiry reads the exp claim of a JWT (an ACR refresh token) without verifying it.
// ok is false when the token is not a JWT or has no usable exp (a number of seconds
// since the epoch, after 2000 and before 2200).
func Expiry(token string) (exp time.Time, ok bool) {
	m, ok := claims(token)
	if !ok {
		return time.Time{}, false
	}
	var f float64
	if raw, found := m["exp"]; !found || json.Unmarshal(raw, &f) != nil {
		return time.Time{}, false
	}
	if f < 946684800 || f > 7258118400 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// TenantID reads the tid claim of an AAD access token without verifying it; "" when
// there is none.
func TenantID(token string) string {
	m, ok := claims(token)
	if !ok {
		return ""
	}
	var tid string
	if raw, found := m["tid"]; !found || json.Unmarshal(raw, &tid) != nil {
		return ""
	}
	return tid
}
