package gcrhost

import "testing"

func TestIsRegistryHost(t *testing.T) {
	for host, want := range map[string]bool{
		"gcr.io":                         true,
		"eu.gcr.io":                      true,
		"GCR.io":                         true,
		"gcr.io:443":                     true,
		"container.cloud.google.com":     true,
		"us-docker.pkg.dev":              true,
		"docker.us-central1.rep.pkg.dev": true,
		"gcr.io:5000":                    false,
		"a.b.gcr.io":                     false,
		"pkg.dev":                        false,
		"evil.gcr.io.example":            false,
		"-x.pkg.dev":                     false,
		"docker.io":                      false,
	} {
		if got := IsRegistryHost(host); got != want {
			t.Errorf("IsRegistryHost(%q) = %v, want %v", host, got, want)
		}
	}
}
