package gcrtoken

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// maxCauseLen bounds the cause quoted in an error (library errors may carry a whole
// response body).
const maxCauseLen = 300

// registryError is the backend's one-line error: "gcr: registry <host>: <cause>".
func registryError(host, cause string) error {
	return errors.New("gcr: registry " + host + ": " + cause)
}

// describe turns a library error into one short line: secrets replaced, whitespace
// collapsed, length bounded, deadlines named as time-outs.
func describe(err error, timeout time.Duration, secrets ...string) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out (the bound is " + timeout.String() + ")"
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxCauseLen {
		cut := maxCauseLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}
