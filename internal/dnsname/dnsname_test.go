package dnsname

import (
	"strings"
	"testing"
)

func TestIsLabel(t *testing.T) {
	for l, want := range map[string]bool{
		"a": true, "us-docker": true, "0ab": true, strings.Repeat("a", 63): true,
		"": false, "-a": false, "a-": false, "A": false, "a_b": false, "a.b": false, strings.Repeat("a", 64): false, "é": false,
	} {
		if got := IsLabel(l); got != want {
			t.Errorf("IsLabel(%q) = %v, want %v", l, got, want)
		}
	}
}
