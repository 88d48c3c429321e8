// Package quote puts user input into error messages and logs safely: escaped like a
// Go string literal (no control characters such as ESC or BEL reach a terminal or a
// log line raw, and a message stays on one line) and bounded in length (an image name
// of 100 KB does not become a 100 KB log line).
package quote

import (
	"strconv"
	"unicode/utf8"
)

// MaxBytes is how much of an input String keeps.
const MaxBytes = 256

// String returns s quoted like strconv.Quote. Input longer than MaxBytes is cut at a
// rune boundary and followed by "…(N bytes)", N being its whole length.
func String(s string) string {
	if len(s) <= MaxBytes {
		return strconv.Quote(s)
	}
	cut := MaxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
