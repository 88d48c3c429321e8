package kubeletconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	kubeletv1 "k8s.io/kubelet/config/v1"
	kubeletv1alpha1 "k8s.io/kubelet/config/v1alpha1"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/internal/duration"
)

const good = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: other
    matchImages: ["*.example.com"]
    defaultCacheDuration: 10m
    apiVersion: credentialprovider.kubelet.k8s.io/v1beta1
    env:
      - name: A
        value: b
  - name: image-credential-provider
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages:
      - "*.dkr.ecr.*.amazonaws.com"
      - gcr.io
    defaultCacheDuration: "5m"
    args: ["--config=/etc/kubernetes/image-credential-provider.yaml"]
    tokenAttributes:
      serviceAccountTokenAudience: sts.amazonaws.com
      requireServiceAccount: false
      cacheType: ServiceAccount
      optionalServiceAccountAnnotationKeys: [eks.amazonaws.com/ecr-role-arn]
`

func TestDecodeGood(t *testing.T) {
	c, err := Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := &Config{APIVersion: V1, Kind: Kind, Providers: []Provider{
		{Name: "other", MatchImages: []string{"*.example.com"}, DefaultCacheDuration: duration.Ptr(10 * time.Minute), APIVersion: RequestV1beta1, Env: []EnvVar{{"A", "b"}}},
		{Name: "image-credential-provider", MatchImages: []string{"*.dkr.ecr.*.amazonaws.com", "gcr.io"}, DefaultCacheDuration: duration.Ptr(5 * time.Minute), APIVersion: RequestV1,
			Args: []string{"--config=/etc/kubernetes/image-credential-provider.yaml"},
			TokenAttributes: &TokenAttributes{ServiceAccountTokenAudience: "sts.amazonaws.com", RequireServiceAccount: &f, CacheType: "ServiceAccount",
				OptionalServiceAccountAnnotationKeys: []string{"eks.amazonaws.com/ecr-role-arn"}}},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if errs := ValidateConfig(c, Options{}); len(errs) > 0 {
		t.Errorf("valid config refused: %v", errs)
	}
	if errs := ValidateConfig(c, Options{NoServiceAccountTokens: true}); len(errs) != 1 || errs[0].Field != "providers[1].tokenAttributes" {
		t.Errorf("with the feature gate off: %v", errs)
	}
}

func TestDecodeErrors(t *testing.T) {
	const head = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\n"
	tests := []struct {
		name, in string
		want     []string // each error's text, in order
	}{
		{"unknown field", head + "providers:\n- name: a\n  matchImage: [x]\n", []string{`providers[0].matchImage: unknown field`}},
		{"field in the wrong case", head + "providers:\n- Name: a\n", []string{`providers[0].Name: unknown field: field names are case-sensitive; did you mean name?`}},
		{"tokenAttributes in v1beta1", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: CredentialProviderConfig\nproviders:\n- name: a\n  tokenAttributes: {}\n", []string{`providers[0].tokenAttributes: not a field of apiVersion kubelet.config.k8s.io/v1beta1: tokenAttributes needs apiVersion kubelet.config.k8s.io/v1`}},
		{"YAML key twice", head + "providers:\n- name: a\n  name: b\n", []string{`line 5: key "name" given twice`}},
		{"JSON key twice", `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"a","name":"b"}]}`, []string{`providers[0].name: given twice`}},
		{"name is a number", head + "providers:\n- name: a\n- name: 12\n", []string{`providers[1].name: want a string, got a number`}},
		{"matchImages is a string", head + "providers:\n- name: a\n  matchImages: gcr.io\n", []string{`providers[0].matchImages: want a list of strings, got a string`}},
		{"a matchImages item is a number", head + "providers:\n- name: a\n  matchImages: [gcr.io, 5]\n", []string{`providers[0].matchImages[1]: want a string, got a number`}},
		{"env value is a mapping", head + "providers:\n- name: a\n  env:\n  - name: X\n    value: {a: b}\n", []string{`providers[0].env[0].value: want a string, got a mapping`}},
		{"requireServiceAccount is a string", head + "providers:\n- name: a\n  tokenAttributes:\n    requireServiceAccount: \"yes\"\n", []string{`providers[0].tokenAttributes.requireServiceAccount: want true or false, got a string`}},
		{"providers is a mapping", head + "providers: {a: b}\n", []string{`providers: want a list of mappings, got a mapping`}},
		{"duration is a number", head + "providers:\n- name: a\n- name: b\n  defaultCacheDuration: 300\n", []string{`providers[1].defaultCacheDuration: want a duration string such as "5m" or "1h", got a number`}},
		{"duration without a unit", head + "providers:\n- name: a\n  defaultCacheDuration: \"300\"\n", []string{`providers[0].defaultCacheDuration: invalid duration "300": want a duration such as "5m" or "1h"`}},
		{"wrong kind", "apiVersion: kubelet.config.k8s.io/v1\nkind: KubeletConfiguration\n", []string{`kind: "KubeletConfiguration": want CredentialProviderConfig`}},
		{"no kind", "apiVersion: kubelet.config.k8s.io/v1\nproviders: []\n", []string{`kind: missing: want CredentialProviderConfig`}},
		{"no apiVersion", "kind: CredentialProviderConfig\n", []string{`apiVersion: missing: want kubelet.config.k8s.io/v1`}},
		{"unknown apiVersion", "apiVersion: kubelet.config.k8s.io/v2\nkind: CredentialProviderConfig\n", []string{`apiVersion: "kubelet.config.k8s.io/v2": want kubelet.config.k8s.io/v1, kubelet.config.k8s.io/v1beta1 or kubelet.config.k8s.io/v1alpha1`}},
		{"not YAML", "apiVersion: [\n", []string{`not valid YAML: line 1: did not find expected node content`}},
		{"JSON syntax", "{\"apiVersion\": \"kubelet.config.k8s.io/v1\",\n \"kind\": }", []string{`not valid JSON: line 2, column 10: invalid character '}' looking for beginning of value`}},
		{"a list", "- a\n", []string{`not a CredentialProviderConfig: want a mapping with apiVersion kubelet.config.k8s.io/v1 and kind CredentialProviderConfig`}},
		{"empty", "", []string{`kind: missing: want CredentialProviderConfig`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("error %T, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tr, fa := true, false
	ok := func() Provider {
		return Provider{Name: "p", MatchImages: []string{"gcr.io"}, DefaultCacheDuration: duration.Ptr(time.Minute), APIVersion: RequestV1}
	}
	with := func(f func(p *Provider)) []Provider {
		p := ok()
		f(&p)
		return []Provider{p}
	}
	ta := func(f func(t *TokenAttributes)) []Provider {
		return with(func(p *Provider) {
			p.TokenAttributes = &TokenAttributes{ServiceAccountTokenAudience: "aud", RequireServiceAccount: &tr, CacheType: "Token"}
			f(p.TokenAttributes)
		})
	}
	tests := []struct {
		name      string
		providers []Provider
		want      []string
	}{
		{"valid", []Provider{ok()}, nil},
		{"valid with token attributes", ta(func(*TokenAttributes) {}), nil},
		{"no providers", nil, []string{"providers: at least one provider is required"}},
		{"name with a slash", with(func(p *Provider) { p.Name = "a/b" }), []string{`providers[0].name: "a/b": cannot contain '/' (the name is the plugin's file name in the bin dir)`}},
		{"name with a space", with(func(p *Provider) { p.Name = "a b" }), []string{`providers[0].name: "a b": cannot contain spaces`}},
		{"name ..", with(func(p *Provider) { p.Name = ".." }), []string{`providers[0].name: "..": the name is the plugin's file name in the bin dir`}},
		{"empty name", with(func(p *Provider) { p.Name = "" }), []string{`providers[0].name: empty: the name is the plugin's file name in the bin dir`}},
		{"names twice", []Provider{ok(), ok()}, []string{`providers[1].name: "p" is also the name of providers[0]: provider names must be unique`}},
		{"no apiVersion", with(func(p *Provider) { p.APIVersion = "" }), []string{"providers[0].apiVersion: missing: want credentialprovider.kubelet.k8s.io/v1, credentialprovider.kubelet.k8s.io/v1beta1, credentialprovider.kubelet.k8s.io/v1alpha1"}},
		{"unknown apiVersion", with(func(p *Provider) { p.APIVersion = "v1" }), []string{`providers[0].apiVersion: "v1": want credentialprovider.kubelet.k8s.io/v1, credentialprovider.kubelet.k8s.io/v1beta1, credentialprovider.kubelet.k8s.io/v1alpha1`}},
		{"no matchImages", with(func(p *Provider) { p.MatchImages = nil }), []string{"providers[0].matchImages: at least one image pattern is required"}},
		{"bad pattern", with(func(p *Provider) { p.MatchImages = []string{"gcr.io", "reg:port"} }), []string{`providers[0].matchImages[1]: "reg:port" is not an image pattern the kubelet can parse (host[:port][/path], '*' for one DNS label): invalid port ":port" after host`}},
		{"no defaultCacheDuration", with(func(p *Provider) { p.DefaultCacheDuration = nil }), []string{`providers[0].defaultCacheDuration: missing: want a duration such as "5m" (used when the plugin's answer gives none)`}},
		{"negative defaultCacheDuration", with(func(p *Provider) { p.DefaultCacheDuration = duration.Ptr(-time.Second) }), []string{"providers[0].defaultCacheDuration: -1s is negative: want 0 or more"}},
		{"token attributes need v1", with(func(p *Provider) {
			p.APIVersion = RequestV1beta1
			p.TokenAttributes = &TokenAttributes{ServiceAccountTokenAudience: "a", RequireServiceAccount: &tr, CacheType: "Token"}
		}), []string{`providers[0].tokenAttributes: needs apiVersion credentialprovider.kubelet.k8s.io/v1 (this provider has "credentialprovider.kubelet.k8s.io/v1beta1")`}},
		{"no audience", ta(func(t *TokenAttributes) { t.ServiceAccountTokenAudience = "" }), []string{"providers[0].tokenAttributes.serviceAccountTokenAudience: missing: want the audience the plugin's token exchange expects"}},
		{"no requireServiceAccount", ta(func(t *TokenAttributes) { t.RequireServiceAccount = nil }), []string{"providers[0].tokenAttributes.requireServiceAccount: missing: want true or false"}},
		{"required keys without a service account", ta(func(t *TokenAttributes) {
			t.RequireServiceAccount = &fa
			t.RequiredServiceAccountAnnotationKeys = []string{"a.io/b"}
		}), []string{"providers[0].tokenAttributes.requiredServiceAccountAnnotationKeys: cannot be set with requireServiceAccount false"}},
		{"bad annotation keys", ta(func(t *TokenAttributes) {
			t.OptionalServiceAccountAnnotationKeys = []string{"Example.COM/Role", "a/b/c", "-x", "a.io/b", "a.io/b", "UPPER_ok.x-1"}
		}), []string{
			`providers[0].tokenAttributes.optionalServiceAccountAnnotationKeys[1]: "a/b/c": ` + wantKey,
			`providers[0].tokenAttributes.optionalServiceAccountAnnotationKeys[2]: "-x": ` + wantKey,
			`providers[0].tokenAttributes.optionalServiceAccountAnnotationKeys[4]: "a.io/b" listed twice`,
		}},
		{"required and optional", ta(func(t *TokenAttributes) {
			t.RequiredServiceAccountAnnotationKeys = []string{"a.io/b"}
			t.OptionalServiceAccountAnnotationKeys = []string{"a.io/b"}
		}), []string{`providers[0].tokenAttributes: annotation key "a.io/b" is both required and optional`}},
		{"no cacheType", ta(func(t *TokenAttributes) { t.CacheType = "" }), []string{"providers[0].tokenAttributes.cacheType: missing: want ServiceAccount or Token"}},
		{"bad cacheType", ta(func(t *TokenAttributes) { t.CacheType = "token" }), []string{`providers[0].tokenAttributes.cacheType: "token": want ServiceAccount or Token`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range ValidateConfig(&Config{Providers: tt.providers}, Options{}) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

const wantKey = "want an annotation key such as example.com/my-key: an optional DNS subdomain and '/', then a name of at most 63 letters, digits, '-', '_' or '.' that starts and ends with a letter or digit"

// A directory is read as the kubelet reads it: its configuration files in name order,
// other files and subdirectories ignored; a name used in two files is refused with both
// places named.
func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	one := func(name string) string {
		return "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: " + name +
			"\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  matchImages: [gcr.io]\n  defaultCacheDuration: 1m\n"
	}
	for name, content := range map[string]string{
		"20-b.yaml":  one("b"),
		"10-a.json":  `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"a","apiVersion":"credentialprovider.kubelet.k8s.io/v1","matchImages":["x.io"],"defaultCacheDuration":"1m"}]}`,
		"30-c.yml":   one("a"),
		"README.md":  "not read",
		"40-d.yaml~": "not read",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names, files []string
	for _, p := range s.Providers() {
		names = append(names, p.Name)
		files = append(files, filepath.Base(p.File.Path))
	}
	if !slices.Equal(names, []string{"a", "b", "a"}) || !slices.Equal(files, []string{"10-a.json", "20-b.yaml", "30-c.yml"}) {
		t.Errorf("providers %q from %q", names, files)
	}
	if s.Files[0].Format != JSON || s.Files[1].Format != YAML {
		t.Errorf("formats %v %v", s.Files[0].Format, s.Files[1].Format)
	}
	errs := Validate(s, Options{})
	want := filepath.Join(dir, "30-c.yml") + `: providers[0].name: "a" is also the name of providers[0] of ` + filepath.Join(dir, "10-a.json") + ": provider names must be unique"
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors %v\nwant %s", errs, want)
	}

	empty := t.TempDir()
	if _, err := Read(empty); err == nil || !strings.Contains(err.Error(), "no configuration files") {
		t.Errorf("empty directory: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("kind: CredentialProviderConfig\n"), 0o644)
	if s, err := Read(bad); err == nil || s == nil || s.Files[0].Config != nil || err.Error() != bad+": apiVersion: missing: want kubelet.config.k8s.io/v1" {
		t.Errorf("bad file: %v", err)
	}
}

// Encode writes what Decode reads back to the same values, in both formats, whatever
// the strings hold.
func TestEncodeRoundTrip(t *testing.T) {
	c, err := Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	odd := Provider{Name: "yes", APIVersion: "null", MatchImages: []string{"", "*", "a: b", "#x", "- y", "'q'", "\"d\"", "é\t\n", "1.5", "~", "on", "x/y"},
		DefaultCacheDuration: duration.Ptr(0), Args: []string{"--a=b c", "-", "--", ""}, Env: []EnvVar{{"", ""}, {"K", "v: w"}}}
	c.Providers = append(c.Providers, odd)
	notes := &Notes{Header: []string{"written by a test", "", "second line"}, MatchImages: map[string]map[int]string{"yes": {0: "first", 3: "fourth"}}}
	for _, f := range []Format{YAML, JSON} {
		data := Encode(c, f, notes)
		if FormatOf(data) != f {
			t.Errorf("format %v written as %v", f, FormatOf(data))
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatalf("format %v: %v\n%s", f, err, data)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("format %v: read back\n%+v\nwant\n%+v\n%s", f, back, c, data)
		}
	}
	yaml := string(Encode(c, YAML, notes))
	for _, want := range []string{"# written by a test\n#\n# second line\napiVersion: kubelet.config.k8s.io/v1\n", "  - name: image-credential-provider\n", "      # fourth\n      - \"#x\"\n", `    defaultCacheDuration: "5m0s"`} {
		if !strings.Contains(yaml, want) {
			t.Errorf("YAML lacks %q:\n%s", want, yaml)
		}
	}
}

func TestMerge(t *testing.T) {
	c, err := Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	ours := Provider{Name: "image-credential-provider", MatchImages: []string{"new.io"}, DefaultCacheDuration: duration.Ptr(time.Minute), APIVersion: RequestV1}
	m, replaced := Merge(c, ours)
	if !replaced || len(m.Providers) != 2 || !reflect.DeepEqual(m.Providers[0], c.Providers[0]) || !reflect.DeepEqual(m.Providers[1], ours) {
		t.Errorf("replace: %v %+v", replaced, m)
	}
	if c.Providers[1].MatchImages[0] != "*.dkr.ecr.*.amazonaws.com" {
		t.Error("Merge changed its input")
	}
	ours.Name = "new"
	m, replaced = Merge(c, ours)
	if replaced || len(m.Providers) != 3 || m.Providers[2].Name != "new" || m.Providers[0].Name != "other" {
		t.Errorf("append: %v %+v", replaced, m)
	}
	m, _ = Merge(nil, ours)
	if m.APIVersion != V1 || m.Kind != Kind || len(m.Providers) != 1 {
		t.Errorf("into nothing: %+v", m)
	}
}

// The types mirror the kubelet's field for field: the same JSON names, in v1 and in the
// older versions (tokenAttributes in v1 only). v1beta1's types, which have the same
// fields as v1alpha1's, are left to the harness (test/harness/kubeletconfigdiff): their
// package links half of Kubernetes' component base.
func TestTypesMirrorTheKubelet(t *testing.T) {
	tests := []struct {
		ours, theirs any
	}{
		{Config{}, kubeletv1.CredentialProviderConfig{}},
		{Provider{}, kubeletv1.CredentialProvider{}},
		{EnvVar{}, kubeletv1.ExecEnvVar{}},
		{TokenAttributes{}, kubeletv1.ServiceAccountTokenAttributes{}},
		{wireV1{}, kubeletv1.CredentialProviderConfig{}},
		{wireV1Prov{}, kubeletv1.CredentialProvider{}},
		{wireLegacy{}, kubeletv1alpha1.CredentialProviderConfig{}},
		{wireLegacyProv{}, kubeletv1alpha1.CredentialProvider{}},
		{EnvVar{}, kubeletv1alpha1.ExecEnvVar{}},
	}
	for _, tt := range tests {
		o, th := jsonFields(reflect.TypeOf(tt.ours)), jsonFields(reflect.TypeOf(tt.theirs))
		if !reflect.DeepEqual(o, th) {
			t.Errorf("%T has fields %v, the kubelet's %T %v", tt.ours, o, tt.theirs, th)
		}
	}
}

// jsonFields maps each JSON field name of t (embedded structs flattened) to its kind.
func jsonFields(t reflect.Type) map[string]string {
	out := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		kind := ft.Kind().String()
		if ft.Name() == "Duration" || ft.Name() == "RawMessage" {
			kind = "duration"
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String && ft.Elem().Name() == "string" {
			kind = "[]string"
		}
		out[name] = kind
	}
	return out
}

// referenceAccepts decodes data the way the kubelet's serializer does, into the
// kubelet's own types (YAML converted with the same library, duplicate YAML keys
// refused, strict case-sensitive JSON into k8s.io/kubelet/config/v1 or v1alpha1, whose
// CredentialProviderConfig v1beta1 shares).
func referenceAccepts(data []byte) bool {
	j := data
	if FormatOf(data) == YAML {
		var err error
		if j, err = sigsyaml.YAMLToJSON(data); err != nil {
			return false
		}
	}
	var meta struct{ APIVersion, Kind string }
	if err := json.Unmarshal(j, &meta); err != nil || meta.Kind != Kind {
		return false
	}
	var obj any
	switch meta.APIVersion {
	case V1:
		obj = &kubeletv1.CredentialProviderConfig{}
	case V1beta1, V1alpha1:
		obj = &kubeletv1alpha1.CredentialProviderConfig{}
	default:
		return false
	}
	if FormatOf(data) == YAML {
		if _, err := sigsyaml.YAMLToJSONStrict(data); err != nil {
			return false
		}
	}
	strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	return err == nil && len(strict) == 0
}

// FuzzDecode: Decode accepts what the kubelet's decoding accepts, never panics, and what
// it accepts Encode writes back to the same values in both formats.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"apiVersion":"kubelet.config.k8s.io/v1alpha1","kind":"CredentialProviderConfig","providers":[{"name":"a","defaultCacheDuration":"1m","matchImages":["x"],"apiVersion":"v"}]}`))
	f.Add([]byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: CredentialProviderConfig\nproviders:\n- name: a\n  defaultCacheDuration: null\n  env: [{name: 1}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if ref := referenceAccepts(data); (err == nil) != ref {
			t.Fatalf("Decode error %v, the kubelet's decoding accepts: %v", err, ref)
		}
		if err != nil {
			return
		}
		for _, format := range []Format{YAML, JSON} {
			out := Encode(c, format, nil)
			back, err := Decode(out)
			if err != nil {
				t.Fatalf("Encode wrote what Decode refuses: %v\n%s", err, out)
			}
			want := *c
			want.APIVersion = V1
			if !reflect.DeepEqual(normalized(back), normalized(&want)) {
				t.Fatalf("read back %+v, want %+v\n%s", back, &want, out)
			}
		}
	})
}

// normalized is c with every empty list nil: the file cannot tell them apart.
func normalized(c *Config) *Config {
	n := *c
	nilIfEmpty := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	n.Providers = nil
	for _, p := range c.Providers {
		p.MatchImages, p.Args = nilIfEmpty(p.MatchImages), nilIfEmpty(p.Args)
		if len(p.Env) == 0 {
			p.Env = nil
		}
		if t := p.TokenAttributes; t != nil {
			u := *t
			u.RequiredServiceAccountAnnotationKeys = nilIfEmpty(u.RequiredServiceAccountAnnotationKeys)
			u.OptionalServiceAccountAnnotationKeys = nilIfEmpty(u.OptionalServiceAccountAnnotationKeys)
			p.TokenAttributes = &u
		}
		n.Providers = append(n.Providers, p)
	}
	return &n
}
