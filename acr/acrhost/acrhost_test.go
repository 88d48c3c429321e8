package acrhost

import "testing"

func TestIsWellKnown(t *testing.T) {
	for host, want := range map[string]bool{
		"myacr.azurecr.io":                true,
		"MyACR.AzureCR.io":                true,
		"myacr.azurecr.io:443":            true,
		"myacr.westeurope.geo.azurecr.io": true,
		"myacr.azurecr.cn":                true,
		"myacr.azurecr.us":                true,
		"myacr.azurecr.de":                true,
		"azurecr.io":                      false,
		"a.b.azurecr.io":                  false, // only <name> or <name>.<region>.geo
		"myacr.azurecr.io.example":        false,
		"myacr.azurecr.io:0":              false,
		"myacr.azurecr.example":           false,
		"my_acr.azurecr.io":               false,
		"gcr.io":                          false,
	} {
		if got := IsWellKnown(host); got != want {
			t.Errorf("IsWellKnown(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestMatcherPrefersTheLongestSuffix(t *testing.T) {
	m := NewMatcher([]string{"example", "azurecr.example", ""})
	if !m.IsLoginServer("reg.azurecr.example") || !m.IsLoginServer("reg.example") || m.IsLoginServer("example") {
		t.Error("suffix matching")
	}
}
