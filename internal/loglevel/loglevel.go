// Package loglevel fixes what each log verbosity (-v) shows, for every binary of the
// product. It is the one place the levels are defined; the README's Debugging section
// repeats this table.
//
//	-v   shows (on stderr; stdout carries only the kubelet's response)
//	 0   warnings and errors only; a run that succeeds without a problem writes nothing
//	 1   Summary: exactly one line per request (kubelet mode, drop-in names, get):
//	     the image, the backends asked, the outcome (keys, cacheKeyType, cacheDuration,
//	     or the error), the duration, which binary answered (the front end replaying
//	     a recorded answer, or a companion, and which binary handed the request to it),
//	     and a service-account request served with the node's identity instead
//	 2   Decision: one line per decision: config file read, docker config files read or
//	     missing, each backend chosen or skipped and why, token cache hit, miss, stale
//	     or written, recorded answer replayed, recorded or not and why, each credential
//	     source tried and the one that answered, each endpoint called, hand-overs;
//	     the SDKs' own warnings (the AWS SDK's "falling back to IMDSv1", Azure
//	     authentication events) and lines of libraries that use the standard logger
//	 4   Wire: the shapes of the kubelet's request and response and of each HTTP
//	     exchange with a cloud (method, URL without query values, status, duration),
//	     the SDKs' retries; secrets masked
//
// Higher levels show nothing more. No level ever shows a secret: passwords, tokens
// (access, refresh, service account, session), client secrets and keys are masked
// as "(masked, N chars)" or left out.
//
// The constants are plain numbers so that packages that link no logging library (the
// front end, the light backend packages) can use them too.
package loglevel

import "strconv"

// The verbosity levels.
const (
	// Summary is one line per request.
	Summary = 1
	// Decision is one line per decision.
	Decision = 2
	// Wire is the shape of every exchange, secrets masked.
	Wire = 4
)

// Masked is how a secret is shown at any level: its length only.
func Masked(secret string) string {
	if secret == "" {
		return "(empty)"
	}
	return "(masked, " + strconv.Itoa(len(secret)) + " chars)"
}
