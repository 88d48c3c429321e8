package quote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	long := strings.Repeat("a", 100_000)
	tests := []struct {
		name, in, want string
	}{
		{"plain", "gcr.io/p/app", `"gcr.io/p/app"`},
		{"control characters escaped", "a\x1b[31mb\a\nc", `"a\x1b[31mb\a\nc"`},
		{"at the bound", strings.Repeat("x", MaxBytes), `"` + strings.Repeat("x", MaxBytes) + `"`},
		{"over the bound", long, `"` + strings.Repeat("a", MaxBytes) + `"…(100000 bytes)`},
		{"cut on a rune boundary", strings.Repeat("x", MaxBytes-1) + "é" + "tail", `"` + strings.Repeat("x", MaxBytes-1) + `"…(261 bytes)`},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("%s: String = %.80q…, want %.80q…", tt.name, got, tt.want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("gcr.io/p/app")
	f.Add("\x1b\a\x00")
	f.Add(strings.Repeat("é", 300))
	f.Fuzz(func(t *testing.T, s string) {
		q := String(s)
		if len(q) > 4*MaxBytes+40 {
			t.Fatalf("String(%d bytes) is %d bytes long", len(s), len(q))
		}
		for _, r := range q {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("String(%q) holds control character %U", s, r)
			}
		}
		if !utf8.ValidString(q) {
			t.Fatalf("String(%q) is not valid UTF-8", s)
		}
	})
}
