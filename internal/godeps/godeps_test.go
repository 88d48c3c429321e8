package godeps

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	imports := map[string][]string{
		"a": {"b", "c"},
		"b": {"d/x"},
		"c": {"b", "e"},
		"e": {"d/x/y"},
	}
	tests := []struct {
		want  string
		chain []string
	}{
		{want: "d/x", chain: []string{"a", "b", "d/x"}},
		{want: "d/x/y", chain: []string{"a", "c", "e", "d/x/y"}},
		{want: "a", chain: []string{"a"}},
		{want: "z", chain: nil},
	}
	for _, tt := range tests {
		if got := find("a", imports, func(p string) bool { return p == tt.want }); !slices.Equal(got, tt.chain) {
			t.Errorf("find(%s) = %v, want %v", tt.want, got, tt.chain)
		}
	}
}

// TestForbid runs the go command on two standard packages whose imports are stable.
func TestForbid(t *testing.T) {
	rec := &recorder{TB: t}
	Forbid(rec, "net/http", "crypto/tls", "unicode/utf8", "no/such/package")
	if len(rec.errors) != 2 {
		t.Fatalf("net/http: want 2 errors (crypto/tls, unicode/utf8), got %q", rec.errors)
	}
	if !strings.HasPrefix(rec.errors[0], "net/http links crypto/tls: net/http → ") {
		t.Errorf("message does not name the chain: %s", rec.errors[0])
	}
	rec = &recorder{TB: t}
	Forbid(rec, "unicode/utf8", "unicode/utf16")
	if len(rec.errors) != 0 {
		t.Fatalf("unicode/utf8 does not link unicode/utf16, yet: %q", rec.errors)
	}
	rec = &recorder{TB: t}
	Forbid(rec, "encoding/json", "unicode")
	if len(rec.errors) != 1 {
		t.Fatalf("encoding/json links unicode, yet: %q", rec.errors)
	}
}

type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}
