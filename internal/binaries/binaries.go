// Package binaries names the executables this project installs side by side in the
// kubelet's credential provider bin dir, and the names of the single-cloud plugins
// they can stand in for.
//
//	image-credential-provider       the front end the kubelet runs (the provider name in
//	                                the kubelet config): replays recorded answers and
//	                                hands everything else to the binaries below
//	image-credential-provider-ecr   the static backend and Amazon ECR
//	image-credential-provider-gcr   the static backend and Google Container/Artifact Registry
//	image-credential-provider-acr   the static backend and Azure Container Registry
//	image-credential-provider-all   every backend, and the commands for people (get,
//	                                cache, check, install)
//
// Splitting them keeps every process small: each links only the cloud SDK the image
// needs, and a cache hit links none.
package binaries

import (
	"path/filepath"
	"strings"
)

// The binaries.
const (
	FrontEnd = "image-credential-provider"
	All      = "image-credential-provider-all"
)

// Companion is the binary that links the static backend and backend (ecr, gcr, acr).
func Companion(backend string) string { return FrontEnd + "-" + backend }

// Backends with a companion of their own, in the order of the default configuration.
var companionBackends = [...]string{"ecr", "gcr", "acr"}

// CompanionBackends lists the backends that have a companion binary.
func CompanionBackends() []string { return companionBackends[:] }

// Installed lists every binary of a complete installation.
func Installed() []string {
	out := []string{FrontEnd}
	for _, b := range companionBackends {
		out = append(out, Companion(b))
	}
	return append(out, All)
}

// DropIn returns the backend served under a single-cloud plugin's name (the names the
// clouds' own plugins are installed under), and ok false for any other name.
func DropIn(name string) (backend string, ok bool) {
	switch name {
	case "ecr-credential-provider":
		return "ecr", true
	case "auth-provider-gcp":
		return "gcr", true
	case "acr-credential-provider":
		return "acr", true
	}
	return "", false
}

// Name is the name a process was invoked under, from its argv[0]: the base name,
// without a ".exe" suffix in any case, lower-cased when it had one (file names on
// Windows are case-insensitive, so ECR-Credential-Provider.EXE is the drop-in too).
func Name(argv0 string) string {
	base := filepath.Base(strings.ReplaceAll(argv0, `\`, "/"))
	if len(base) > 4 && strings.EqualFold(base[len(base)-4:], ".exe") {
		return strings.ToLower(base[:len(base)-4])
	}
	return base
}
