package gcr

import "strings"

// IsRegistryHost reports whether host (as in an image reference: lower or mixed case,
// optionally with a port) is a Google container registry that accepts Google access
// tokens. Exactly these hosts are recognised:
//
//	gcr.io, <label>.gcr.io               Container Registry (us.gcr.io, eu.gcr.io, …)
//	container.cloud.google.com
//	<label>.pkg.dev                      Artifact Registry (us-docker.pkg.dev, …)
//	docker.<region>.rep.pkg.dev          Artifact Registry regional endpoints
//
// A "*" in these patterns is one DNS label, as in the kubelet's matcher. Ports: no port,
// or ":443" (the same HTTPS endpoint spelled out), is a Google registry; any other port
// is not, because nothing Google serves listens there and a token sent there would go to
// whoever does. Every other host, Docker Hub included, never gets a Google token.
func IsRegistryHost(host string) bool {
	name, port, hasPort := strings.Cut(host, ":")
	if hasPort && port != "443" {
		return false
	}
	name = strings.ToLower(name)
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	switch len(labels) {
	case 2:
		return name == "gcr.io"
	case 3:
		return labels[1]+"."+labels[2] == "gcr.io" || labels[1]+"."+labels[2] == "pkg.dev"
	case 4:
		return name == "container.cloud.google.com"
	case 5:
		return labels[0] == "docker" && labels[2] == "rep" && labels[3] == "pkg" && labels[4] == "dev"
	}
	return false
}

// validLabel reports whether l is a DNS label: 1-63 letters, digits and hyphens, not
// starting or ending with a hyphen.
func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
