// Package textfile prepares a configuration file's bytes for its parser, the same way
// wherever the plugin reads one: a UTF-8 byte order mark at the start, which Windows
// tools write (Notepad, PowerShell's Out-File -Encoding utf8, Set-Content), is dropped,
// so that a file saved on a Windows node reads as it does anywhere else.
//
// Line ends need nothing here: every file the plugin reads is JSON or YAML, and their
// parsers take CRLF as they take LF. Each reader's tests check both.
package textfile

import "bytes"

// bom is the UTF-8 encoding of U+FEFF, the byte order mark.
var bom = []byte("\xef\xbb\xbf")

// StripBOM returns data without its leading UTF-8 byte order mark, if it has one. It
// returns a subslice of data, never a copy.
func StripBOM(data []byte) []byte {
	return bytes.TrimPrefix(data, bom)
}
