package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	kubeletconfig "k8s.io/kubelet/config/v1"
	"sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/ecr/ecrhost"
	"github.com/imagecred/image-credential-provider/internal/match"
)

// The kubelet configs in examples/ decode strictly as the kubelet's own type, and their
// matchImages send every backend's host families to the plugin.
func TestKubeletConfigExamples(t *testing.T) {
	load := func(name string) kubeletconfig.CredentialProviderConfig {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "kubelet", name))
		if err != nil {
			t.Fatal(err)
		}
		var c kubeletconfig.CredentialProviderConfig
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Kind != "CredentialProviderConfig" || c.APIVersion != "kubelet.config.k8s.io/v1" || len(c.Providers) == 0 {
			t.Fatalf("%s: kind %q apiVersion %q, %d providers", name, c.Kind, c.APIVersion, len(c.Providers))
		}
		return c
	}
	matched := func(p kubeletconfig.CredentialProvider, image string) bool {
		for _, m := range p.MatchImages {
			if match.Match(m, image) {
				return true
			}
		}
		return false
	}

	node := load("credential-provider-config.yaml").Providers[0]
	for _, m := range ecrhost.MatchImages() {
		if !slices.Contains(node.MatchImages, m) {
			t.Errorf("node example lacks the ECR pattern %q", m)
		}
	}
	for _, image := range []string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app",
		"123456789012.dkr-ecr.eu-west-1.on.aws/app",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app",
		"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/app",
		"public.ecr.aws/team/app",
		"ecr-public.aws.com/team/app",
		"gcr.io/project/app",
		"eu.gcr.io/project/app",
		"europe-west1-docker.pkg.dev/project/repo/app",
		"docker.europe-west1.rep.pkg.dev/project/repo/app",
		"myacr.azurecr.io/app",
		"myacr.westeurope.geo.azurecr.io/app",
		"myacr.azurecr.cn/app",
		"my-registry.example/images/app",
		"sub.my-registry.example/app",
		"docker.io/library/nginx", // the example config.json has Docker Hub credentials
	} {
		if !matched(node, image) {
			t.Errorf("node example: the kubelet would not ask the plugin for %s", image)
		}
	}
	for _, image := range []string{"quay.io/org/app", "myacr.azurecr.io.example/app", "registry.example/app"} {
		if matched(node, image) {
			t.Errorf("node example: %s would be sent to the plugin", image)
		}
	}

	sa := load("credential-provider-config-sa.yaml").Providers[0]
	if sa.TokenAttributes == nil || sa.TokenAttributes.ServiceAccountTokenAudience == "" || sa.APIVersion != "credentialprovider.kubelet.k8s.io/v1" {
		t.Fatalf("SA example: tokenAttributes %+v, apiVersion %s", sa.TokenAttributes, sa.APIVersion)
	}
	for _, key := range []string{"eks.amazonaws.com/ecr-role-arn", "iam.gke.io/gcp-service-account", "kubernetes.azure.com/acr-client-id", "kubernetes.azure.com/acr-tenant-id"} {
		if !slices.Contains(sa.TokenAttributes.OptionalServiceAccountAnnotationKeys, key) {
			t.Errorf("SA example does not pass the annotation %s", key)
		}
	}
	for _, image := range []string{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", "us-docker.pkg.dev/p/r/app", "myacr.azurecr.io/app"} {
		if !matched(sa, image) {
			t.Errorf("SA example: the kubelet would not ask the plugin for %s", image)
		}
	}
}
