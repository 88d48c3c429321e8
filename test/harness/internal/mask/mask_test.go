package mask

import (
	"strings"
	"testing"
)

func TestSecretNeverContainsTheSecret(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "<empty>"},
		{"hunter2", "<7 chars, sha256:f52fbd32>"},
		{"AWS:abc", "<7 chars, sha256:"},
	}
	for _, tc := range cases {
		got := Secret(tc.in)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("Secret(%q) = %q, want prefix %q", tc.in, got, tc.want)
		}
		if tc.in != "" && strings.Contains(got, tc.in) {
			t.Errorf("Secret(%q) = %q reveals the secret", tc.in, got)
		}
	}
	if Secret("a") == Secret("b") {
		t.Error("different secrets got the same label")
	}
}
