package protocol

import (
	"testing"

	"github.com/imagecred/image-credential-provider/internal/godeps"
)

// Every binary the kubelet runs links this package: it must not bring in packages that
// cost start-up time (the API machinery initializes about 0.7 ms worth of packages).
func TestLinksNothingHeavy(t *testing.T) {
	godeps.Forbid(t, ".", "k8s.io/apimachinery", "k8s.io/kubelet", "github.com/distribution/reference",
		"github.com/opencontainers/go-digest", "net/http", "regexp")
}
