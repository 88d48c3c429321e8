package answer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imagecred/image-credential-provider/providers"
)

func TestKeysFollowTheKubeletsCacheKeys(t *testing.T) {
	req := Request{APIVersion: "v1", Image: "reg.example:5000/team/app"}
	keys := LookupKeys("fp", req)
	want := []providers.CacheKey{
		{Backend: Backend, Identity: "fp|v1", Scope: providers.ImagePluginCacheKeyType, Registry: "reg.example:5000", Repo: "reg.example:5000/team/app"},
		{Backend: Backend, Identity: "fp|v1", Scope: providers.RegistryPluginCacheKeyType, Registry: "reg.example:5000"},
		{Backend: Backend, Identity: "fp|v1", Scope: providers.GlobalPluginCacheKeyType, Repo: "<global>"},
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
	if k0.Identity != "fp|v1|a=1" {
		t.Errorf("identity %q", k0.Identity)
	}
	for name, r := range variants {
		if Key("fp", r, providers.RegistryPluginCacheKeyType) == k0 {
			t.Errorf("%s does not change the key", name)
		}
	}
	if Key("other-fp", base, providers.RegistryPluginCacheKeyType) == k0 {
		t.Error("the fingerprint does not change the key")
	}
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint([]string{"--a", "b"}, []string{"X=1", "_=/bin/sh"}, []byte("cfg"))
	same := Fingerprint([]string{"--a", "b"}, []string{"X=1", "_=/usr/bin/other"}, []byte("cfg"))
	if fp != same {
		t.Error("the shell's _ variable changes the fingerprint")
	}
	for name, other := range map[string]string{
		"args":   Fingerprint([]string{"--a", "c"}, []string{"X=1"}, []byte("cfg")),
		"split":  Fingerprint([]string{"--a b"}, []string{"X=1"}, []byte("cfg")),
		"env":    Fingerprint([]string{"--a", "b"}, []string{"X=2"}, []byte("cfg")),
		"config": Fingerprint([]string{"--a", "b"}, []string{"X=1"}, []byte("cfg2")),
	} {
		if other == fp {
			t.Errorf("%s does not change the fingerprint", name)
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
	res := Result(now, ok)
	if !res.Expiry.Equal(now.Add(2*time.Hour+time.Minute)) || res.CacheDuration != time.Hour || res.Auth["h"].Password != "p" {
		t.Errorf("Result = %+v", res)
	}
	ok.Contributions[0].Result.Expiry = now.Add(90 * time.Minute)
	if res := Result(now, ok); !res.Expiry.Equal(now.Add(90 * time.Minute)) {
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
