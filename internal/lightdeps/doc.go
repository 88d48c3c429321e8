// Package lightdeps holds the test that keeps each backend's light package light: the
// configuration and host tables (ecr, gcr, acr) link no cloud SDK, no HTTP client, no
// OAuth 2.0 library and no Kubernetes API machinery, so a process that only decides
// which backend serves an image never pays for their initialization. The token
// packages (ecrtoken, gcrtoken, acrtoken) link them.
package lightdeps
