package answer

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/internal/handoff"
	"github.com/imagecred/image-credential-provider/providers"
)

func TestKeysFollowTheKubeletsCacheKeys(t *testing.T) {
	req := Request{APIVersion: "v1", Image: "reg.example:5000/team/app"}
	keys := LookupKeys("fp", req)
	id := keys[0].Identity
	want := []providers.CacheKey{
		{Backend: Backend, Identity: id, Scope: providers.ImagePluginCacheKeyType, Registry: "reg.example:5000", Repo: "reg.example:5000/team/app"},
		{Backend: Backend, Identity: id, Scope: providers.RegistryPluginCacheKeyType, Registry: "reg.example:5000"},
		{Backend: Backend, Identity: id, Scope: providers.GlobalPluginCacheKeyType, Repo: "<global>"},
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("key %d = %+v, want %+v", i, keys[i], want[i])
		}
		if Key("fp", req, want[i].Scope) != want[i] {
			t.Errorf("Key(%s) differs from the lookup key", want[i].Scope)
		}
	}
}

func TestKeysSeparateWhatChangesTheAnswer(t *testing.T) {
	sa := func(ns, name, uid string, ann map[string]string) *providers.ServiceAccount {
		return &providers.ServiceAccount{Token: "never-in-a-key", Namespace: ns, Name: name, UID: uid, Annotations: ann}
	}
	base := Request{APIVersion: "v1", Image: "reg/app", ServiceAccount: sa("ns", "n", "u", map[string]string{"a": "1"})}
	variants := map[string]Request{
		"apiVersion":  {APIVersion: "v1beta1", Image: "reg/app", ServiceAccount: base.ServiceAccount},
		"registry":    {APIVersion: "v1", Image: "other/app", ServiceAccount: base.ServiceAccount},
		"SA name":     {APIVersion: "v1", Image: "reg/app", ServiceAccount: sa("ns", "m", "u", map[string]string{"a": "1"})},
		"SA uid":      {APIVersion: "v1", Image: "reg/app", ServiceAccount: sa("ns", "n", "v", map[string]string{"a": "1"})},
		"annotations": {APIVersion: "v1", Image: "reg/app", ServiceAccount: sa("ns", "n", "u", map[string]string{"a": "2"})},
		"no SA":       {APIVersion: "v1", Image: "reg/app"},
	}
	k0 := Key("fp", base, providers.RegistryPluginCacheKeyType)
	for name, r := range variants {
		if Key("fp", r, providers.RegistryPluginCacheKeyType) == k0 {
			t.Errorf("%s does not change the key", name)
		}
	}
	if Key("other-fp", base, providers.RegistryPluginCacheKeyType) == k0 {
		t.Error("the fingerprint does not change the key")
	}
}

// TestKeysAreUnambiguous: requests that a joined encoding ("fp|v1|k=v|k=v") would
// confuse give different keys; an empty and a missing annotation map are the same.
func TestKeysAreUnambiguous(t *testing.T) {
	sa := func(ann map[string]string) Request {
		return Request{APIVersion: "v1", Image: "reg/app", ServiceAccount: &providers.ServiceAccount{Namespace: "ns", Name: "n", UID: "u", Annotations: ann}}
	}
	differ := [][2]Request{
		{sa(map[string]string{"a": "1|b=2"}), sa(map[string]string{"a": "1", "b": "2"})},
		{sa(map[string]string{"a=1": ""}), sa(map[string]string{"a": "1="})},
		{sa(map[string]string{}), {APIVersion: "v1", Image: "reg/app"}},
		{{APIVersion: "v1|x=", Image: "reg/app"}, {APIVersion: "v1", Image: "reg/app", ServiceAccount: &providers.ServiceAccount{Annotations: map[string]string{"x": ""}}}},
	}
	for i, p := range differ {
		if Key("fp", p[0], providers.RegistryPluginCacheKeyType) == Key("fp", p[1], providers.RegistryPluginCacheKeyType) {
			t.Errorf("pair %d: %+v and %+v share a key", i, p[0], p[1])
		}
	}
	if Key("fp", sa(nil), providers.RegistryPluginCacheKeyType) != Key("fp", sa(map[string]string{}), providers.RegistryPluginCacheKeyType) {
		t.Error("an empty annotation map and none give different keys")
	}
	if Fingerprint([]string{"a", "b"}, nil, nil) == Fingerprint([]string{"a"}, []string{"b"}, nil) {
		t.Error("an argument and an environment entry share a fingerprint")
	}
	if Fingerprint(nil, nil, nil) == Fingerprint(nil, nil, []byte{}) {
		t.Error("no config file and an empty one share a fingerprint")
	}
}

// splitFuzz turns one fuzzed string into a list (NUL-separated; "" is the empty list).
func splitFuzz(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// annotations turns one fuzzed string into an annotation map (pairs of list elements).
func annotations(s string) map[string]string {
	l := splitFuzz(s)
	m := map[string]string{}
	for i := 0; i+1 < len(l); i += 2 {
		m[l[i]] = l[i+1]
	}
	return m
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// FuzzKeyIsInjective: two requests that differ in anything the key covers never share
// a key.
func FuzzKeyIsInjective(f *testing.F) {
	f.Add("fp", "v1", "a\x001|b=2", true, "fp", "v1", "a\x001\x00b\x002", true)
	f.Add("fp|v1", "", "", false, "fp", "v1", "", false)
	f.Fuzz(func(t *testing.T, fp1, api1, ann1 string, sa1 bool, fp2, api2, ann2 string, sa2 bool) {
		r1 := Request{APIVersion: api1, Image: "reg/app"}
		r2 := Request{APIVersion: api2, Image: "reg/app"}
		if sa1 {
			r1.ServiceAccount = &providers.ServiceAccount{Namespace: "ns", Name: "n", UID: "u", Annotations: annotations(ann1)}
		}
		if sa2 {
			r2.ServiceAccount = &providers.ServiceAccount{Namespace: "ns", Name: "n", UID: "u", Annotations: annotations(ann2)}
		}
		same := fp1 == fp2 && api1 == api2 && sa1 == sa2 && (!sa1 || sameMap(annotations(ann1), annotations(ann2)))
		k1 := Key(fp1, r1, providers.RegistryPluginCacheKeyType)
		k2 := Key(fp2, r2, providers.RegistryPluginCacheKeyType)
		if same != (k1 == k2) {
			t.Fatalf("same input: %v, same key: %v\n%+v\n%+v", same, k1 == k2, r1, r2)
		}
	})
}

// FuzzFingerprintIsInjective: two configurations that differ in their arguments, their
// environment (apart from the variables it leaves out) or their config file never share
// a fingerprint.
func FuzzFingerprintIsInjective(f *testing.F) {
	f.Add("--a\x00b", "X=1", "cfg", true, "--a b", "X=1", "cfg", true)
	f.Add("a", "", "", false, "a", "", "", true)
	f.Fuzz(func(t *testing.T, args1, env1, cfg1 string, has1 bool, args2, env2, cfg2 string, has2 bool) {
		conf := func(s string, has bool) []byte {
			if !has {
				return nil
			}
			return []byte(s)
		}
		// The environment as a process reads it: the first entry of each name, in any
		// order, without the variables left out.
		kept := func(env []string) map[string]string {
			out := map[string]string{}
			for _, e := range env {
				name, _, _ := strings.Cut(e, "=")
				if _, dup := out[name]; dup || e == "" || name == "_" || name == handoff.HandedOverBy {
					continue
				}
				out[name] = e
			}
			return out
		}
		fp1 := Fingerprint(splitFuzz(args1), splitFuzz(env1), conf(cfg1, has1))
		fp2 := Fingerprint(splitFuzz(args2), splitFuzz(env2), conf(cfg2, has2))
		same := slices.Equal(splitFuzz(args1), splitFuzz(args2)) && maps.Equal(kept(splitFuzz(env1)), kept(splitFuzz(env2))) &&
			has1 == has2 && (!has1 || cfg1 == cfg2)
		if same != (fp1 == fp2) {
			t.Fatalf("same input: %v, same fingerprint: %v", same, fp1 == fp2)
		}
	})
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint([]string{"--a", "b"}, []string{"X=1", "_=/bin/sh"}, []byte("cfg"))
	same := Fingerprint([]string{"--a", "b"}, []string{"X=1", "_=/usr/bin/other"}, []byte("cfg"))
	if fp != same {
		t.Error("the shell's _ variable changes the fingerprint")
	}
	// The environment is a set of variables: its order does not count (qemu-user
	// reverses it at every exec), nor a repeated name's later values.
	for name, env := range map[string][]string{
		"reordered":      {"Y=2", "X=1"},
		"repeated name":  {"X=1", "Y=2", "X=3"},
		"hand-over mark": {handoff.HandedOverBy + "=image-credential-provider", "X=1", "Y=2"},
	} {
		if Fingerprint([]string{"--a", "b"}, env, []byte("cfg")) != Fingerprint([]string{"--a", "b"}, []string{"X=1", "Y=2"}, []byte("cfg")) {
			t.Errorf("%s: the environment %q gets another fingerprint", name, env)
		}
	}
	for name, other := range map[string]string{
		"args":            Fingerprint([]string{"--a", "c"}, []string{"X=1"}, []byte("cfg")),
		"split":           Fingerprint([]string{"--a b"}, []string{"X=1"}, []byte("cfg")),
		"env":             Fingerprint([]string{"--a", "b"}, []string{"X=2"}, []byte("cfg")),
		"more env":        Fingerprint([]string{"--a", "b"}, []string{"X=1", "Y=1"}, []byte("cfg")),
		"first of a name": Fingerprint([]string{"--a", "b"}, []string{"X=2", "X=1"}, []byte("cfg")),
		"config":          Fingerprint([]string{"--a", "b"}, []string{"X=1"}, []byte("cfg2")),
	} {
		if other == fp {
			t.Errorf("%s does not change the fingerprint", name)
		}
	}
}

// A drop-in configuration never shares a fingerprint with the front end's own, with
// another drop-in name, or with other arguments or another environment; the
// environment counts as it does for Fingerprint.
func TestDropInFingerprint(t *testing.T) {
	args, env := []string{"get-credentials", "--v=3"}, []string{"X=1", "_=/bin/sh"}
	fp := DropInFingerprint("auth-provider-gcp", args, env)
	if DropInFingerprint("auth-provider-gcp", args, []string{handoff.HandedOverBy + "=x", "X=1", "X=2"}) != fp {
		t.Error("the environment counts otherwise than for Fingerprint")
	}
	for name, other := range map[string]string{
		"front end's own, no config": Fingerprint(args, env, nil),
		"other name":                 DropInFingerprint("acr-credential-provider", args, env),
		"name moved into the args":   DropInFingerprint("", append([]string{"auth-provider-gcp"}, args...), env),
		"args":                       DropInFingerprint("auth-provider-gcp", args[:1], env),
		"env":                        DropInFingerprint("auth-provider-gcp", args, []string{"X=2"}),
	} {
		if other == fp {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}

func TestRecordableAndResult(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := &providers.Answer{CacheDuration: time.Hour, CacheKeyType: providers.RegistryPluginCacheKeyType,
		Auth: map[string]providers.AuthConfig{"h": {Username: "u", Password: "p"}},
		Contributions: []providers.Contribution{
			{Backend: "ecr", Result: &providers.Result{Expiry: now.Add(12 * time.Hour)}},
			{Backend: "static", Result: &providers.Result{}},
		}}
	if !Recordable(Request{}, ok) {
		t.Fatal("a complete answer is not recordable")
	}
	failed := *ok
	failed.Contributions = append([]providers.Contribution{{Backend: "gcr", Err: errors.New("x")}}, ok.Contributions...)
	short := *ok
	short.CacheDuration = 500 * time.Millisecond
	problems := *ok
	problems.Problems = []string{"static: docker config file \"/x\" skipped: malformed JSON"}
	contribProblems := *ok
	contribProblems.Contributions = append([]providers.Contribution{{Backend: "static", Result: &providers.Result{Problems: []string{"static: p"}}}}, ok.Contributions...)
	for name, a := range map[string]*providers.Answer{"a backend failed": &failed, "under a second": &short, "with problems": &problems, "a contribution with problems": &contribProblems} {
		if Recordable(Request{}, a) {
			t.Errorf("%s: recordable", name)
		}
	}
	if Recordable(Request{ServiceAccount: &providers.ServiceAccount{Token: "t"}}, ok) {
		t.Error("an unidentified service account's answer is recordable")
	}
	res := Result(now, ok, nil)
	if !res.Expiry.Equal(now.Add(2*time.Hour+time.Minute)) || res.CacheDuration != time.Hour || res.Auth["h"].Password != "p" {
		t.Errorf("Result = %+v", res)
	}
	ok.Contributions[0].Result.Expiry = now.Add(90 * time.Minute)
	if res := Result(now, ok, nil); !res.Expiry.Equal(now.Add(90 * time.Minute)) {
		t.Errorf("expiry %v, want the token's", res.Expiry)
	}
}

func TestConfigPath(t *testing.T) {
	for _, tc := range []struct {
		args []string
		path string
		ok   bool
	}{
		{nil, "", true},
		{[]string{"--backends=gcr"}, "", true},
		{[]string{"--config", "/etc/a.yaml"}, "/etc/a.yaml", true},
		{[]string{"-config=/etc/a.yaml", "--config", "/etc/b.yaml"}, "/etc/a.yaml", true},
		{[]string{"--config"}, "", false},
		{[]string{"--", "--config", "/etc/a.yaml"}, "", true},
		{[]string{"get", "--config=x"}, "x", true},
		{[]string{"config", "x"}, "", true},
		{[]string{"--configs=x"}, "", true},
	} {
		path, ok := ConfigPath(tc.args)
		if path != tc.path || ok != tc.ok {
			t.Errorf("ConfigPath(%q) = %q, %v; want %q, %v", tc.args, path, ok, tc.path, tc.ok)
		}
	}
}

// FuzzConfigPath: whatever the arguments, a path found is the value of a --config
// flag among them, and a missing value is only reported for a trailing --config.
func FuzzConfigPath(f *testing.F) {
	f.Add("--config\x00/etc/a.yaml")
	f.Add("-config=x\x00--\x00--config=y")
	f.Add("--config")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		path, ok := ConfigPath(args)
		if !ok {
			if last := args[len(args)-1]; strings.TrimLeft(last, "-") != "config" || !strings.HasPrefix(last, "-") {
				t.Fatalf("no value reported for %q", args)
			}
			return
		}
		if path == "" {
			return
		}
		for i, a := range args {
			if a == "--" {
				break
			}
			if strings.HasPrefix(a, "-") && (strings.TrimLeft(a, "-") == "config="+path || (strings.TrimLeft(a, "-") == "config" && i+1 < len(args) && args[i+1] == path)) {
				return
			}
		}
		t.Fatalf("ConfigPath(%q) = %q, not a --config value", args, path)
	})
}
