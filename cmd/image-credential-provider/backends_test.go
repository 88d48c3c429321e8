package main

import (
	"testing"

	"github.com/imagecred/image-credential-provider/providers"
)

// The token backends the binary builds say which hosts they serve (for install and
// check), each with its own name.
func TestCloudBackendsAreHosts(t *testing.T) {
	t.Setenv("AWS_ECR_ROLE_ARN", "")
	ps, err := buildProviders(&Config{Backends: []string{"ecr", "gcr", "acr"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"ecr", "gcr", "acr"} {
		p := ps[i]
		if p.Name() != want {
			t.Errorf("backend %d is %q, want %q", i, p.Name(), want)
		}
		h, ok := p.(providers.Hosts)
		if !ok {
			t.Errorf("%s: not a providers.Hosts", want)
			continue
		}
		if len(h.MatchImages()) == 0 || providers.AnyHost(h) {
			t.Errorf("%s: MatchImages %q, any host %v", want, h.MatchImages(), providers.AnyHost(h))
		}
	}
}
