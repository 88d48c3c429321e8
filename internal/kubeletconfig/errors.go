package kubeletconfig

import (
	"strings"
)

// Error is one thing the kubelet refuses in its credential provider configuration.
type Error struct {
	// File is the file it is in; empty when the configuration did not come from a file.
	File string
	// Field is its field path ("providers[1].matchImages[0]"); empty when it concerns
	// the file as a whole.
	Field string
	// Msg says what is wrong and what is allowed.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors lists everything the kubelet refuses, in the order of the files and fields.
type Errors []*Error

func (l Errors) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// inFile sets the file of every error that has none.
func (l Errors) inFile(file string) Errors {
	for _, e := range l {
		if e.File == "" {
			e.File = file
		}
	}
	return l
}

// orNil returns l as an error, nil when it is empty.
func (l Errors) orNil() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
