// Package gcrhost recognises Google container registry hosts from the host name alone:
// no configuration, no network, no SDK. The front end the kubelet runs uses it to pick
// the binary that links the Google backend; that backend (package gcr) serves and
// lists exactly these hosts.
package gcrhost

import (
	"strings"

	"github.com/imagecred/image-credential-provider/internal/dnsname"
)

// Forms are the Google registry host names, label by label, "*" standing for any one
// DNS label as in the kubelet's matcher:
//
//	gcr.io, *.gcr.io              Container Registry (us.gcr.io, eu.gcr.io, …)
//	container.cloud.google.com
//	*.pkg.dev                     Artifact Registry (us-docker.pkg.dev, …)
//	docker.*.rep.pkg.dev          Artifact Registry regional endpoints
var Forms = [...]string{
	"gcr.io",
	"*.gcr.io",
	"container.cloud.google.com",
	"*.pkg.dev",
	"docker.*.rep.pkg.dev",
}

// HTTPSPort is the one port a Google registry host may name: the same HTTPS endpoint
// spelled out.
const HTTPSPort = "443"

// IsRegistryHost reports whether host (as in an image reference: lower or mixed case,
// optionally with a port) is a Google container registry that accepts Google access
// tokens: one of Forms, each label a DNS label. Ports: no port, or ":443" (the same
// HTTPS endpoint spelled out), is a Google registry; any other port is not, because
// nothing Google serves listens there and a token sent there would go to whoever
// does. Every other host, Docker Hub included, never gets a Google token.
func IsRegistryHost(host string) bool {
	name, port, hasPort := strings.Cut(host, ":")
	if hasPort && port != HTTPSPort {
		return false
	}
	labels := strings.Split(strings.ToLower(name), ".")
	for _, l := range labels {
		if !dnsname.IsLabel(l) {
			return false
		}
	}
	for _, form := range Forms {
		if formMatches(form, labels) {
			return true
		}
	}
	return false
}

// formMatches reports whether labels are those of form, "*" matching any label.
func formMatches(form string, labels []string) bool {
	if strings.Count(form, ".")+1 != len(labels) {
		return false
	}
	for i, f := range strings.Split(form, ".") {
		if f != "*" && f != labels[i] {
			return false
		}
	}
	return true
}
