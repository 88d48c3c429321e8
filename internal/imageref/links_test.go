package imageref

import (
	"testing"

	"github.com/imagecred/image-credential-provider/internal/godeps"
)

// Every binary the kubelet runs parses images: this package must not bring in packages
// that cost start-up time (the reference library compiles its grammar, about 1 ms).
func TestLinksNothingHeavy(t *testing.T) {
	godeps.Forbid(t, ".", "k8s.io/apimachinery", "k8s.io/kubelet", "github.com/distribution/reference",
		"github.com/opencontainers/go-digest", "net/http", "regexp")
}
