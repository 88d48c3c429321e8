package textfile

import "testing"

func TestStripBOM(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"\xef\xbb\xbf", ""},
		{"\xef\xbb\xbf{\"auths\":{}}\r\n", "{\"auths\":{}}\r\n"},
		{"{}", "{}"},
		{"\xef\xbb\xbf\xef\xbb\xbfx", "\xef\xbb\xbfx"}, // one mark only: a second one is content
		{"x\xef\xbb\xbf", "x\xef\xbb\xbf"},             // not at the start: content
		{"\xef\xbbx", "\xef\xbbx"},                     // a partial mark: content
		{"\xff\xfe{\x00}\x00", "\xff\xfe{\x00}\x00"},   // UTF-16: left to the parser to refuse
	}
	for _, tt := range tests {
		if got := string(StripBOM([]byte(tt.in))); got != tt.want {
			t.Errorf("StripBOM(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
