// Package mask turns secrets into labels that identify them without revealing them.
package mask

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Secret returns "<N chars, sha256:XXXXXXXX>" for s: enough to tell two secrets apart
// and to match a credential with the response it came from, never the secret itself.
func Secret(s string) string {
	if s == "" {
		return "<empty>"
	}
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("<%d chars, sha256:%s>", len(s), hex.EncodeToString(sum[:4]))
}
