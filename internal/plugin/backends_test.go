package plugin

import (
	"slices"
	"testing"

	"github.com/imagecred/image-credential-provider/acr"
	"github.com/imagecred/image-credential-provider/ecr"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/imageref"
	"github.com/imagecred/image-credential-provider/providers"
)

func linking(names ...string) Binary {
	b := Binary{Name: "test", Backends: map[string]Constructor{}}
	for _, n := range names {
		b.Backends[n] = nil
	}
	return b
}

// A binary answers only when it links every backend that serves the image; otherwise
// it names the ones it lacks (and hands over).
func TestMissingBackends(t *testing.T) {
	t.Setenv("AWS_ECR_ROLE_ARN", "")
	mirrored := &config.Config{ACR: acr.Config{Mirrors: []acr.Mirror{{Source: "gcr.io", Target: "myacr.azurecr.io"}}}}
	custom := &config.Config{ECR: ecr.Config{Registries: []ecr.Registry{{Host: "registry.example.com", Account: "123456789012", Region: "eu-west-1"}}}}
	tests := []struct {
		name    string
		cfg     *config.Config
		image   string
		bin     Binary
		serving []string
		missing []string
	}{
		{"ECR image in the ECR companion", &config.Config{}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", linking("ecr"), []string{"ecr"}, nil},
		{"ECR image in the Google companion", &config.Config{}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", linking("gcr"), []string{"ecr"}, []string{"ecr"}},
		{"a host no backend serves", &config.Config{}, "quay.io/a/b", linking(), nil, nil},
		{"a Google host mirrored to ACR, in the Google companion", mirrored, "gcr.io/p/app", linking("gcr"), []string{"gcr", "acr"}, []string{"acr"}},
		{"the same in the binary with every backend", mirrored, "gcr.io/p/app", linking("ecr", "gcr", "acr"), []string{"gcr", "acr"}, nil},
		{"a custom ECR host outside the ECR tables", custom, "registry.example.com/app", linking("gcr"), []string{"ecr"}, []string{"ecr"}},
		{"a disabled backend is never needed", &config.Config{Backends: []string{"static", "gcr"}}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", linking("gcr"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := imageref.Parse(tt.image)
			if err != nil {
				t.Fatal(err)
			}
			p, err := newPlan(tt.cfg, img)
			if err != nil {
				t.Fatal(err)
			}
			var serving []string
			for i, n := range p.names {
				if p.serving[i] {
					serving = append(serving, n)
				}
			}
			if !slices.Equal(serving, tt.serving) {
				t.Errorf("serving %q, want %q", serving, tt.serving)
			}
			if got := tt.bin.missing(p); !slices.Equal(got, tt.missing) {
				t.Errorf("missing %q, want %q", got, tt.missing)
			}
		})
	}
}

// Only the backends that serve the image are built; the others stand idle, so the
// dispatcher still counts them.
func TestOnlyServingBackendsAreBuilt(t *testing.T) {
	built := map[string]int{}
	b := Binary{Name: "test", Backends: map[string]Constructor{}}
	for _, n := range []string{"ecr", "gcr", "acr"} {
		b.Backends[n] = func(cfg *config.Config) (providers.Provider, error) {
			built[n]++
			return idle(n), nil
		}
	}
	img, _ := imageref.Parse("gcr.io/p/app")
	p, err := newPlan(&config.Config{}, img)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := b.providers(&config.Config{}, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 4 || built["gcr"] != 1 || built["ecr"]+built["acr"] != 0 {
		t.Errorf("%d providers, built %v; want 4 providers and only gcr built", len(ps), built)
	}
}

func TestEnabledBackends(t *testing.T) {
	for _, tt := range []struct {
		backends []string
		want     string
	}{
		{[]string{"static", "nope"}, `unknown backend "nope"`},
		{[]string{"gcr", "gcr"}, `backend "gcr" listed twice`},
	} {
		if _, err := enabledBackends(&config.Config{Backends: tt.backends}); err == nil || err.Error()[:len(tt.want)] != tt.want {
			t.Errorf("%q: err %v, want %q", tt.backends, err, tt.want)
		}
	}
	if got, _ := enabledBackends(&config.Config{}); !slices.Equal(got, []string{"static", "ecr", "gcr", "acr"}) {
		t.Errorf("default backends %q", got)
	}
}
