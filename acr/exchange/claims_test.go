package exchange

import (
	"encoding/base64"
	"testing"
	"time"
)

func jwtWith(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("sig"))
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		want   int64
		wantOK bool
	}{
		{"integer exp", jwtWith(`{"exp":1893456000}`), 1893456000, true},
		{"float exp", jwtWith(`{"exp":1893456000.5}`), 1893456000, true},
		{"padded base64", func() string {
			enc := base64.URLEncoding.EncodeToString
			return enc([]byte(`{}`)) + "." + enc([]byte(`{"exp":1893456000,"a":"b"}`)) + ".x"
		}(), 1893456000, true},
		{"no exp", jwtWith(`{"iat":1}`), 0, false},
		{"string exp", jwtWith(`{"exp":"1893456000"}`), 0, false},
		{"exp in milliseconds", jwtWith(`{"exp":1893456000000}`), 0, false},
		{"exp zero", jwtWith(`{"exp":0}`), 0, false},
		{"not a jwt", "opaque-token", 0, false},
		{"two parts", "a.b", 0, false},
		{"bad base64", "a.!!!.c", 0, false},
		{"claims not json", "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c", 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Expiry(tt.token)
			if ok != tt.wantOK || (ok && got.Unix() != tt.want) {
				t.Fatalf("Expiry = %v, %v; want %v, %v", got, ok, time.Unix(tt.want, 0), tt.wantOK)
			}
		})
	}
}

func TestTenantID(t *testing.T) {
	for token, want := range map[string]string{
		jwtWith(`{"tid":"tenant-1","exp":1}`): "tenant-1",
		jwtWith(`{"tid":5}`):                  "",
		jwtWith(`{}`):                         "",
		"opaque":                              "",
	} {
		if got := TenantID(token); got != want {
			t.Errorf("TenantID(%q) = %q, want %q", token, got, want)
		}
	}
}

func FuzzExpiry(f *testing.F) {
	f.Add(jwtWith(`{"exp":1893456000}`))
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		exp, ok := Expiry(token)
		if ok && (exp.Year() < 2000 || exp.Year() > 2200) {
			t.Fatalf("accepted implausible expiry %v", exp)
		}
		_ = TenantID(token)
	})
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\n  b\tc":     "a b c",
		"":                "",
		"0123456789abcde": "0123456789...",
		"ééééééé":         "ééééé...",
	} {
		if got := OneLine(in, 10); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
