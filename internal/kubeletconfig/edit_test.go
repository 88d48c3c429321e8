package kubeletconfig

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/duration"
)

// mine is the provider the Edit tests put in place, and mineText its entry as Encode
// writes it with mineComments, its dash at column 2.
var (
	mine = Provider{Name: "mine", APIVersion: RequestV1, MatchImages: []string{"new.io", "*.new.io"},
		DefaultCacheDuration: duration.Ptr(5 * time.Minute), Args: []string{"--x"}}
	mineComments = map[int]string{0: "new registries"}
)

const mineText = `  - name: mine
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages:
      # new registries
      - new.io
      - "*.new.io"
    defaultCacheDuration: "5m0s"
    args:
      - "--x"
`

// at0 is mineText with its dash at column 0.
func at0(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		b.WriteString(strings.TrimPrefix(l, "  "))
	}
	return b.String()
}

const withTokens = `    tokenAttributes:
      serviceAccountTokenAudience: aud
      requireServiceAccount: false
      cacheType: Token
`

func TestEdit(t *testing.T) {
	no := false
	mineTokens := mine
	mineTokens.TokenAttributes = &TokenAttributes{ServiceAccountTokenAudience: "aud", RequireServiceAccount: &no, CacheType: CacheTypeToken}
	tests := []struct {
		name     string
		p        Provider
		in, want string
		wantErr  string
	}{{
		name: "absent: added after the last provider; comments, quoting and key order kept",
		p:    mine,
		in: `# Our cluster's providers. Owned by the platform team.
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  # The ECR plugin the AMI ships.
  - name: ecr-credential-provider
    matchImages:
      - "*.dkr.ecr.*.amazonaws.com"   # private ECR
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`,
		want: `# Our cluster's providers. Owned by the platform team.
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  # The ECR plugin the AMI ships.
  - name: ecr-credential-provider
    matchImages:
      - "*.dkr.ecr.*.amazonaws.com"   # private ECR
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
` + mineText,
	}, {
		name: "present in the middle: replaced where it stands, the comments around it kept",
		p:    mine,
		in: `# head
apiVersion: kubelet.config.k8s.io/v1   # the version
kind: CredentialProviderConfig
providers:
  # first
  - name: ecr-credential-provider
    matchImages: ["*.dkr.ecr.*.amazonaws.com"]  # flow
    defaultCacheDuration: 12h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    env:
      - {name: AWS_PROFILE, value: node}

  # ours, written by install
  - name: mine
    matchImages: [old.io]   # old
    defaultCacheDuration: 1m
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
    # after ours

  # last
  - apiVersion: credentialprovider.kubelet.k8s.io/v1
    name: last
    matchImages:
    - last.io
    defaultCacheDuration: '0s'
`,
		want: `# head
apiVersion: kubelet.config.k8s.io/v1   # the version
kind: CredentialProviderConfig
providers:
  # first
  - name: ecr-credential-provider
    matchImages: ["*.dkr.ecr.*.amazonaws.com"]  # flow
    defaultCacheDuration: 12h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    env:
      - {name: AWS_PROFILE, value: node}

  # ours, written by install
` + mineText + `    # after ours

  # last
  - apiVersion: credentialprovider.kubelet.k8s.io/v1
    name: last
    matchImages:
    - last.io
    defaultCacheDuration: '0s'
`,
	}, {
		name: "list at column 0, ours last with its dash on a line of its own, no newline at the end",
		p:    mine,
		in: `apiVersion: kubelet.config.k8s.io/v1alpha1
kind: CredentialProviderConfig
providers:
- name: other
  matchImages: [a.io]
  defaultCacheDuration: 1h
  apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1
-
  # ours
  name: mine
  matchImages: [old.io]
  defaultCacheDuration: 1m
  apiVersion: credentialprovider.kubelet.k8s.io/v1
# end`,
		want: `apiVersion: kubelet.config.k8s.io/v1alpha1
kind: CredentialProviderConfig
providers:
- name: other
  matchImages: [a.io]
  defaultCacheDuration: 1h
  apiVersion: credentialprovider.kubelet.k8s.io/v1alpha1
` + at0(mineText) + `# end`,
	}, {
		name: "absent, keys after the list, no newline at the end",
		p:    mine,
		in: `providers:
  - name: other
    matchImages: [a.io]
    defaultCacheDuration: 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1

# the kind
kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1`,
		want: `providers:
  - name: other
    matchImages: [a.io]
    defaultCacheDuration: 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
` + mineText + `
# the kind
kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1`,
	}, {
		name: "absent, the last provider without a newline at the end",
		p:    mine,
		in: `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - {name: other, matchImages: [a.io], defaultCacheDuration: 1h, apiVersion: credentialprovider.kubelet.k8s.io/v1}`,
		want: `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - {name: other, matchImages: [a.io], defaultCacheDuration: 1h, apiVersion: credentialprovider.kubelet.k8s.io/v1}
` + mineText,
	}, {
		name: "YAML aliases of other providers kept",
		p:    mine,
		in: `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: a
    matchImages: &images [a.io, b.io]
    defaultCacheDuration: &d 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
  - name: mine
    matchImages: [old.io]
    defaultCacheDuration: 1m
    apiVersion: credentialprovider.kubelet.k8s.io/v1
  - name: b
    matchImages: *images
    defaultCacheDuration: *d
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`,
		want: `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: a
    matchImages: &images [a.io, b.io]
    defaultCacheDuration: &d 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1
` + mineText + `  - name: b
    matchImages: *images
    defaultCacheDuration: *d
    apiVersion: credentialprovider.kubelet.k8s.io/v1
`,
	}, {
		name: "tokenAttributes in an older version: the file's apiVersion becomes v1 where it stands, in its quotes",
		p:    mineTokens,
		in: `kind: CredentialProviderConfig
apiVersion: "kubelet.config.k8s.io/v1beta1"  # old
providers:
  - name: other
    matchImages: [a.io]
    defaultCacheDuration: 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
`,
		want: `kind: CredentialProviderConfig
apiVersion: "kubelet.config.k8s.io/v1"  # old
providers:
  - name: other
    matchImages: [a.io]
    defaultCacheDuration: 1h
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
` + mineText + withTokens,
	}, {
		name: "CRLF line ends kept",
		p:    mine,
		in:   "# crlf\r\napiVersion: kubelet.config.k8s.io/v1\r\nkind: CredentialProviderConfig\r\nproviders:\r\n  - name: mine\r\n    matchImages: [old.io]\r\n    defaultCacheDuration: 1m\r\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\r\n  # next\r\n  - name: z\r\n    matchImages: [z.io]\r\n    defaultCacheDuration: 1m\r\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\r\n",
		want: "# crlf\r\napiVersion: kubelet.config.k8s.io/v1\r\nkind: CredentialProviderConfig\r\nproviders:\r\n" + strings.ReplaceAll(mineText, "\n", "\r\n") + "  # next\r\n  - name: z\r\n    matchImages: [z.io]\r\n    defaultCacheDuration: 1m\r\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\r\n",
	}, {
		name: "present last: its block scalar and its deeper comment replaced, a comment at its keys' level kept",
		p:    mine,
		in: `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: mine
    matchImages: [old.io]
    defaultCacheDuration: 1m
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args:
      - |
        line one
        # not a comment: the scalar's last line
      # on args
    # after ours
`,
		want: `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
` + mineText + `    # after ours
`,
	}, {
		name:    "ours uses an alias",
		p:       mine,
		in:      "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: a\n    matchImages: &i [a.io]\n    defaultCacheDuration: 1h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n  - name: mine\n    matchImages: *i\n    defaultCacheDuration: 1h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
		wantErr: `its entry "mine" uses YAML aliases (&name, *name)`,
	}, {
		name:    "ours names a value (&name) another provider uses",
		p:       mine,
		in:      "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: mine\n    matchImages: &i [a.io]\n    defaultCacheDuration: 1h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n  - name: a\n    matchImages: *i\n    defaultCacheDuration: 1h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
		wantErr: `its entry "mine" uses YAML aliases (&name, *name)`,
	}, {
		name:    "providers in flow style",
		p:       mine,
		in:      "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: [{name: a, matchImages: [a.io], defaultCacheDuration: 1h, apiVersion: credentialprovider.kubelet.k8s.io/v1}]\n",
		wantErr: "its providers are not a list in block style",
	}, {
		name:    "JSON",
		p:       mine,
		in:      `{"apiVersion": "kubelet.config.k8s.io/v1", "kind": "CredentialProviderConfig", "providers": [{"name": "a", "matchImages": ["a.io"], "defaultCacheDuration": "1h", "apiVersion": "credentialprovider.kubelet.k8s.io/v1"}]}`,
		wantErr: "it is JSON",
	}, {
		name:    "several documents",
		p:       mine,
		in:      "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n  - name: a\n    matchImages: [a.io]\n    defaultCacheDuration: 1h\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n---\napiVersion: v1\n",
		wantErr: "several YAML documents",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Edit([]byte(tt.in), tt.p, mineComments)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q; wrote:\n%s", err, tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			// What it reads back to is Merge's, and a second edit changes nothing.
			back, err := Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			old, _ := Decode([]byte(tt.in))
			want, _ := Merge(old, tt.p)
			if !bytes.Equal(Encode(back, YAML, nil), Encode(want, YAML, nil)) {
				t.Errorf("reads back to\n%s\nwant\n%s", Encode(back, YAML, nil), Encode(want, YAML, nil))
			}
			again, err := Edit(got, tt.p, mineComments)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("second edit: %v\n%s", err, again)
			}
		})
	}
}

// FuzzEdit: Edit never panics, and whatever it returns reads back to exactly what
// Merge gives and is left as it is by a second edit.
func FuzzEdit(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: mine\n  matchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n# x\n"))
	f.Add([]byte("kind: CredentialProviderConfig\napiVersion: 'kubelet.config.k8s.io/v1alpha1'\nproviders:\n  -\n    name: a\n    matchImages: &i [a]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n  - name: mine\n    matchImages: [b]\n    defaultCacheDuration: 1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n"))
	no := false
	tokens := mine
	tokens.TokenAttributes = &TokenAttributes{ServiceAccountTokenAudience: "aud", RequireServiceAccount: &no, CacheType: CacheTypeToken}
	f.Fuzz(func(t *testing.T, data []byte) {
		old, err := Decode(data)
		if err != nil {
			return
		}
		for _, p := range []Provider{mine, tokens} {
			got, err := Edit(data, p, mineComments)
			if err != nil {
				continue
			}
			back, err := Decode(got)
			if err != nil {
				t.Fatalf("the edit does not read back: %v\n%s", err, got)
			}
			want, _ := Merge(old, p)
			if !bytes.Equal(Encode(back, YAML, nil), Encode(want, YAML, nil)) {
				t.Fatalf("the edit reads back to other providers:\n%s", got)
			}
			if again, err := Edit(got, p, mineComments); err != nil || !bytes.Equal(again, got) {
				t.Fatalf("a second edit changes the file (%v):\n%s\n%s", err, got, again)
			}
		}
	})
}
