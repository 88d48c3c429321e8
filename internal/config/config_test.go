package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const header = "apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\n"

// Every error about a config file's content is one line: file:line:column: field:
// what is wrong, what is allowed; YAML and JSON alike, never a Go type name.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, content, want string
	}{
		{"bool of the wrong type", "c.yaml", header + "cache:\n  disabled: 3\n",
			"c.yaml:4:13: cache.disabled: want true or false, got 3"},
		{"bool of the wrong type, JSON", "c.json", `{"apiVersion": "imagecred.dev/v1alpha1", "kind": "ImageCredentialProviderConfig", "cache": {"disabled": 3}}`,
			"c.json:1:105: cache.disabled: want true or false, got 3"},
		{"unknown field", "c.yaml", header + "bakends: [static]\n",
			"c.yaml:3:1: bakends: unknown field (did you mean backends?); allowed here: apiVersion, kind, backends, timeout, cache, static, ecr, gcr, acr"},
		{"unknown nested field", "c.yaml", header + "ecr:\n  rolearn: arn:aws:iam::123456789012:role/x\n",
			"c.yaml:4:3: ecr.rolearn: unknown field (did you mean roleARN?); allowed here: profile, roleARN, externalID, roleSessionName, serviceAccountRoleARN, requireServiceAccountRole, registries"},
		{"list of mappings wanted", "c.yaml", header + "ecr:\n  registries:\n    host: a\n",
			"c.yaml:5:5: ecr.registries: want a list of mappings of host, account, region, fips, dualStack, got a mapping"},
		{"field of a list item", "c.yaml", header + "acr:\n  mirrors:\n  - source: a\n    target: [b]\n",
			`c.yaml:6:13: acr.mirrors[0].target: want text, got a list`},
		{"duration", "c.yaml", header + "timeout: 5 minutes\n",
			`c.yaml:3:10: timeout: invalid duration "5 minutes": want a duration such as "30s" or "5m"`},
		{"duration in a backend", "c.yaml", header + "gcr:\n  timeout: 10\n",
			`c.yaml:4:12: gcr.timeout: want a duration string such as "30s" or "5m"`},
		{"wrong kind", "c.yaml", "apiVersion: imagecred.dev/v1alpha1\nkind: Nope\n",
			`c.yaml:2:7: kind: "Nope": want ImageCredentialProviderConfig`},
		{"no apiVersion", "c.yaml", "kind: ImageCredentialProviderConfig\n",
			`c.yaml:1:1: apiVersion: missing: want imagecred.dev/v1alpha1`},
		{"unknown backend", "c.yaml", header + "backends: [static, quay]\n",
			`c.yaml:3:20: backends[1]: unknown backend "quay": want some of static, ecr, gcr, acr`},
		{"backend twice", "c.yaml", header + "backends:\n- ecr\n- ecr\n",
			`c.yaml:5:3: backends[1]: backend ecr listed twice`},
		{"set twice", "c.yaml", header + "timeout: 5s\ntimeout: 6s\n",
			`c.yaml:4:1: timeout: set twice (first on line 3)`},
		{"YAML syntax", "c.yaml", header + "cache:\n  dir: /x\n   disabled: true\n",
			`c.yaml:5: not valid YAML: mapping values are not allowed in this context`},
		{"JSON syntax", "c.json", "{\n  \"apiVersion\": \"imagecred.dev/v1alpha1\"\n  \"kind\": \"ImageCredentialProviderConfig\"\n}\n",
			`c.json:3:3: malformed JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("loaded")
			}
			if got := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator)); got != tt.want {
				t.Errorf("error\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
}

func TestLoadGood(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	content := header + `backends: [static, ecr]
timeout: 20s
cache:
  disabled: true
static:
  files: [/etc/docker/config.json]
  cacheDuration: 0s
ecr:
  registries:
  - host: registry.example.com
    account: 123456789012
    region: eu-west-1
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path || len(c.Backends) != 2 || c.TimeoutOrDefault().Seconds() != 20 || !c.Cache.Disabled ||
		c.Static.CacheDuration == nil || c.Static.CacheDuration.Duration != 0 ||
		len(c.ECR.Registries) != 1 || c.ECR.Registries[0].Account != "123456789012" {
		t.Errorf("loaded %+v", c)
	}
}
