// Package dnsname checks the pieces of registry host names that the backends' host
// tables are made of. It has no dependencies, so every host table can use it, the front
// end's included.
package dnsname

// IsLabel reports whether l is a lower-case DNS label: 1-63 letters, digits and
// hyphens, not starting or ending with a hyphen.
func IsLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
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
