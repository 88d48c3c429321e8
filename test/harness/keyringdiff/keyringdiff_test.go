// Package keyringdiff checks that a node whose kubelet uses our plugin's static backend
// gets, for each image, the same credentials in the same order as the kubelet's own
// node keyring would give from the same docker config files, on files with broken
// parts: undecodable "auth" entries, entries of the wrong type, credsStore and
// credHelpers, unparseable files among several, wildcard and path keys, ports, Docker
// Hub spellings, the legacy .dockercfg, and the kubelet's default search.
//
// Both sides are the real kubelet code (k8s.io/kubernetes v1.37.1):
//   - ours: the plugin binary, registered with plugin.RegisterCredentialProviderPlugins
//     and asked through NewExternalCredentialProviderDockerKeyring(...).Lookup(image),
//     which execs it, decodes its response strictly and builds the keyring from it;
//   - the reference: pkg/credentialprovider's own readers (ReadSpecificDockerConfigJSONFile,
//     ReadDockercfgFile, and ReadDockerConfigJSONFile then ReadDockercfgFile for the
//     search) and BasicDockerKeyring.Add (one per file) and Lookup.
//
// Where the two differ by design, the reference is adjusted, and each adjustment is
// named here and checked to be real:
//  1. An entry the kubelet cannot decode makes it drop the whole file (and, in its
//     search, move on to the next file); the plugin drops only that entry, and fails
//     only the images whose sole credential it was. The reference is the kubelet on the
//     files with those entries removed (decided by the kubelet's own decoder); the test
//     also checks that the kubelet drops each such original file.
//  2. The kubelet ignores credHelpers and credsStore; the plugin runs them. Helpers
//     that return credentials are left out of the table (the plugin would add
//     credentials the kubelet does not have): the helpers here are missing, failing or
//     say "credentials not found". The empty entries docker writes for a registry a
//     helper serves are the helper's placeholders: the plugin drops them, the kubelet
//     hands out empty credentials; the reference drops them too.
//  3. Identical credentials under one normalized key: the kubelet lists them once per
//     entry, the plugin sends them once; and the order of several credentials under
//     one normalized key is Go map order in the kubelet (random) on both sides. So the
//     lists are compared as runs of one normalized key each, in order, each run as a
//     set.
//
// Not in the table, also by design: an "auth" with white space around it (the plugin
// accepts it, the kubelet does not), Docker Hub credentials for a single-label host such
// as "myhost/app" (the kubelet's fallback offers them, the plugin never does), and a
// legacy-format file not named .dockercfg (the plugin tells formats apart by content,
// the kubelet by file name).
//
// It also checks, with the kubelet's matcher, that the backend's MatchImages covers
// every image that gets credentials: a kubelet config written from it calls the plugin
// for those images.
package keyringdiff

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/credentialprovider"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"

	"github.com/imagecred/image-credential-provider/dockercfg"
	"github.com/imagecred/image-credential-provider/internal/match"
)

const providerName = "image-credential-provider"

// pluginBin is the plugin binary, with its companions beside it: $ICP_PLUGIN_BIN
// (test/conformance.sh sets it to the front end it built), else built by TestMain from
// the repository.
var pluginBin string

// kubeletLog collects what the kubelet code logs (each plugin failure with the
// plugin's stderr, each key it skips), to be checked for secrets.
var kubeletLog strings.Builder

func TestMain(m *testing.M) {
	klog.SetLogger(funcr.New(func(prefix, args string) {
		kubeletLog.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10}))
	tmp, err := os.MkdirTemp("", "keyringdiff-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pluginBin = os.Getenv("ICP_PLUGIN_BIN")
	if pluginBin == "" {
		pluginBin = filepath.Join(tmp, providerName)
		root, _ := filepath.Abs("../../..")
		// Every binary: the front end finds its companions beside it.
		cmd := exec.Command("go", "build", "-o", tmp+string(filepath.Separator), "./cmd/...")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building the plugin: %v\n%s", err, out)
			os.Exit(2)
		}
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// Kinds of entries. Every usable entry has its own username, so that each credential
// the kubelet hands out says which entry it came from.
const (
	good        = "good"        // {"auth": base64(user:pass)}
	goodPlain   = "goodPlain"   // {"username": ..., "password": ...}
	placeholder = "placeholder" // {} for a registry a helper serves
	badBase64   = "badBase64"   // "auth" is not base64
	noColon     = "noColon"     // "auth" decodes to text without ":"
	notObject   = "notObject"   // the entry is a string
	numberField = "numberField" // "password" is a number
	emailType   = "emailType"   // "email" is a number (the kubelet decodes email)
)

// hidden is in every broken entry; it must reach no output.
const hidden = "kd-Hidden-s3cr3t"

type entry struct{ key, kind string }

// file is one docker config file of a row. Its format follows its name: config.json
// or .dockercfg.
type file struct {
	path    string // relative to the row's dir
	raw     string // the whole content, for files that do not parse
	top     string // more top-level members of a config.json (credsStore, credHelpers)
	entries []entry
}

type row struct {
	name string
	// search: the files are found by the kubelet's search (root, cwd, home under the
	// row's dir) instead of being listed.
	search bool
	files  []file
	images []string
}

var rows = []row{
	{
		name: "undecodable entries among good ones",
		files: []file{{path: "a/config.json", entries: []entry{
			{"reg.example", good}, {"reg.example/team", badBase64}, {"*.reg.example", goodPlain},
			{"other.example", noColon}, {"reg.example:5000", good}, {"reg.example:5000/team", notObject},
			{"https://index.docker.io/v1/", good}, {"docker.io/library", numberField},
		}}},
		images: []string{"reg.example/team/app", "reg.example/teamx/app", "reg.example/other/app", "a.reg.example/x", "b.a.reg.example/x",
			"other.example/app", "reg.example:5000/app", "reg.example:5000/team/app", "docker.io/library/nginx", "docker.io/user/app", "quay.io/a/b"},
	},
	{
		name:   "the only credential of an image is broken",
		files:  []file{{path: "a/config.json", entries: []entry{{"reg.example", emailType}, {"other.example/team", badBase64}, {"other.example", good}}}},
		images: []string{"reg.example/app", "other.example/team/app", "other.example/x", "quay.io/a/b"},
	},
	{
		name: "credsStore whose helper is missing",
		files: []file{{path: "a/config.json", top: `"credsStore":"desktop"`, entries: []entry{
			{"reg.example", goodPlain}, {"placeholder.example", placeholder}, {"https://index.docker.io/v1/", placeholder}, {"bad.example", badBase64},
		}}},
		images: []string{"reg.example/app", "placeholder.example/app", "docker.io/library/nginx", "bad.example/x", "quay.io/a/b"},
	},
	{
		name: "credsStore that has no credentials, and one that fails",
		files: []file{
			{path: "a/config.json", top: `"credsStore":"notfound"`, entries: []entry{{"reg.example", good}, {"store.example", placeholder}}},
			{path: "b/config.json", top: `"credsStore":"fail"`, entries: []entry{{"reg.example", goodPlain}, {"failstore.example", placeholder}}},
		},
		images: []string{"reg.example/app", "store.example/app", "failstore.example/app", "quay.io/a/b"},
	},
	{
		name: "credHelpers that are missing, fail, have nothing, are not names",
		files: []file{{path: "a/config.json",
			top: `"credHelpers":{"fail.example":"fail","gone.example":"desktop","nf.example":"notfound","odd.example":"../bin/sh","alsogood.example":"fail"}`,
			entries: []entry{
				{"fail.example", placeholder}, {"gone.example", placeholder}, {"nf.example", placeholder}, {"odd.example", placeholder},
				{"alsogood.example", good}, {"other.example", goodPlain},
			}}},
		images: []string{"fail.example/app", "gone.example/app", "nf.example/app", "odd.example/app", "alsogood.example/app", "other.example/app", "quay.io/a/b"},
	},
	{
		name: "an unparseable file among several",
		files: []file{
			{path: "a/config.json", raw: `{"auths":{"reg.example":{"auth":"` + hidden},
			{path: "b/config.json", entries: []entry{{"reg.example", good}, {"reg.example/team", noColon}}},
			{path: "c/.dockercfg", entries: []entry{{"reg.example/team", goodPlain}, {"legacy.example", badBase64}, {"legacy.example/ok", good}}},
			{path: "d/config.json", raw: `["` + hidden + `"]`},
			{path: "e/config.json", raw: `{"auths":["` + hidden + `"]}`},
		},
		images: []string{"reg.example/team/app", "reg.example/app", "legacy.example/ok/app", "legacy.example/app", "quay.io/a/b"},
	},
	{
		name: "wildcards, paths and Docker Hub spellings",
		files: []file{{path: "a/config.json", entries: []entry{
			{"*.my-registry.example/images", good}, {"my-registry.example/images", goodPlain}, {"my-registry.example/images/subpath", badBase64},
			{"https://my-registry.example/v2/", good}, {"prefix.*.io", noColon}, {"prefix.*.io/team", good},
			{"index.docker.io", good}, {"https://index.docker.io/v1/", goodPlain}, {"docker.io/library", emailType},
		}}},
		images: []string{"sub.my-registry.example/images/app", "a.sub.my-registry.example/images/app", "my-registry.example/images/subpath/app",
			"my-registry.example/images/app", "my-registry.example/other", "prefix.kubernetes.io/team/app", "prefix.kubernetes.io/x",
			"docker.io/library/nginx", "docker.io/user/app"},
	},
	{
		name: "ports",
		files: []file{{path: "a/config.json", entries: []entry{
			{"localhost:5000", good}, {"localhost:5001", badBase64}, {"localhost", goodPlain}, {"http://127.0.0.1:5000/v2/", good}, {"127.0.0.1:5001", notObject},
		}}},
		images: []string{"localhost:5000/app", "localhost:5001/app", "localhost:5002/app", "127.0.0.1:5000/app", "127.0.0.1:5001/app"},
	},
	{
		name:   "search: an unparseable file is skipped, one with broken entries is used",
		search: true,
		files: []file{
			{path: "root/config.json", raw: `{"auths":`},
			{path: "cwd/config.json", entries: []entry{{"reg.example", good}, {"reg.example/team", badBase64}, {"bad.example", noColon}}},
			{path: "home/.docker/config.json", entries: []entry{{"reg.example", goodPlain}, {"bad.example", good}}},
		},
		images: []string{"reg.example/team/app", "reg.example/app", "bad.example/app", "quay.io/a/b"},
	},
	{
		name:   "search: legacy .dockercfg after unparseable config.json files",
		search: true,
		files: []file{
			{path: "root/config.json", raw: `not json ` + hidden},
			{path: "home/.docker/config.json", raw: `{"auths":{"reg.example":"` + hidden},
			{path: "cwd/.dockercfg", entries: []entry{{"https://index.docker.io/v1/", good}, {"reg.example", notObject}, {"reg.example/team", good}}},
			{path: "home/.dockercfg", entries: []entry{{"reg.example", good}}},
		},
		images: []string{"docker.io/library/nginx", "reg.example/team/app", "reg.example/app"},
	},
	{
		name:   "search: credsStore in the kubelet's root dir",
		search: true,
		files: []file{
			{path: "root/config.json", top: `"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}`, entries: []entry{
				{"reg.example", good}, {"gcr.io", placeholder}, {"https://index.docker.io/v1/", placeholder}, {"reg.example/team", emailType},
			}},
			{path: "home/.docker/config.json", entries: []entry{{"gcr.io", good}}},
		},
		images: []string{"reg.example/team/app", "reg.example/app", "gcr.io/p/app", "docker.io/library/nginx", "quay.io/a/b"},
	},
}

// helperScripts are docker credential helpers that return no credentials.
var helperScripts = map[string]string{
	"notfound": `echo "credentials not found in native keychain"; exit 1`,
	"fail":     `echo "` + hidden + `" >&2; exit 3`,
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// entryJSON is an entry of kind with the given username; usable entries get the
// password "pw-"+user.
func entryJSON(kind, user string) string {
	switch kind {
	case good:
		return `{"auth":"` + b64(user+":pw-"+user) + `"}`
	case goodPlain:
		return `{"username":"` + user + `","password":"pw-` + user + `","email":"e@example.com"}`
	case placeholder:
		return `{}`
	case badBase64:
		return `{"auth":"!!` + hidden + `"}`
	case noColon:
		return `{"auth":"` + b64(user+hidden) + `"}`
	case notObject:
		return `"` + b64(user+":"+hidden) + `"`
	case numberField:
		return `{"username":"` + user + `","password":12345}`
	case emailType:
		return `{"auth":"` + b64(user+":"+hidden) + `","email":7}`
	}
	panic("unknown entry kind " + kind)
}

// content is the file's bytes; owners maps each usable entry's username to the
// normalized key of its entry.
func (f file) content(prefix string, owners map[string]string) string {
	if f.raw != "" {
		return f.raw
	}
	var members []string
	for i, e := range f.entries {
		user := fmt.Sprintf("%s-e%d", prefix, i)
		k, _ := json.Marshal(e.key)
		members = append(members, string(k)+":"+entryJSON(e.kind, user))
		if n, err := match.NormalizeKey(e.key); err == nil {
			owners[user] = n
		}
	}
	body := "{" + strings.Join(members, ",") + "}"
	if filepath.Base(f.path) == ".dockercfg" {
		return body
	}
	out := `{"auths":` + body
	if f.top != "" {
		out += "," + f.top
	}
	return out + "}"
}

// repair is the reference's adjustments 1 and 2 on one file: entries the kubelet
// cannot decode are removed, and so are the empty entries of registries a credential
// helper serves (every registry when the file has a credsStore). A file that is not
// a JSON object is left as it is. It reports whether an entry was undecodable.
func repair(path string) (hadBroken bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false, nil
	}
	legacy := filepath.Base(path) == ".dockercfg"
	auths := top
	if !legacy {
		auths = nil
		if json.Unmarshal(top["auths"], &auths) != nil {
			return false, nil
		}
	}
	var store string
	var helpers map[string]json.RawMessage
	_ = json.Unmarshal(top["credsStore"], &store)
	_ = json.Unmarshal(top["credHelpers"], &helpers)
	claimed := func(key string) bool {
		if store != "" {
			return true
		}
		n, err := match.NormalizeKey(key)
		if err != nil {
			return false
		}
		for reg := range helpers {
			if m, err := match.NormalizeKey(reg); err == nil && m == n {
				return true
			}
		}
		return false
	}
	for key, raw := range auths {
		var e credentialprovider.DockerConfigEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			hadBroken = true
			delete(auths, key)
			continue
		}
		if e.Username == "" && e.Password == "" && claimed(key) {
			delete(auths, key)
		}
	}
	if !legacy {
		b, err := json.Marshal(auths)
		if err != nil {
			return false, err
		}
		top["auths"] = b
	}
	out, err := json.Marshal(top)
	if err != nil {
		return false, err
	}
	return hadBroken, os.WriteFile(path, out, 0o600)
}

// nativeKeyring is the kubelet's node keyring over the row's files under dir: the
// listed files, one Add each, or its own search.
func nativeKeyring(r row, dir string) *credentialprovider.BasicDockerKeyring {
	kr := &credentialprovider.BasicDockerKeyring{}
	if r.search {
		root, cwd, home := filepath.Join(dir, "root"), filepath.Join(dir, "cwd"), filepath.Join(dir, "home")
		cfg, err := credentialprovider.ReadDockerConfigJSONFile([]string{root, cwd, filepath.Join(home, ".docker"), "/.docker"})
		if err != nil {
			cfg, err = credentialprovider.ReadDockercfgFile([]string{root, cwd, home, "/"})
		}
		if err == nil {
			kr.Add(nil, cfg)
		}
		return kr
	}
	for _, f := range r.files {
		p := filepath.Join(dir, f.path)
		var cfg credentialprovider.DockerConfig
		var err error
		if filepath.Base(p) == ".dockercfg" {
			cfg, err = credentialprovider.ReadDockercfgFile([]string{filepath.Dir(p)})
		} else {
			cfg, err = credentialprovider.ReadSpecificDockerConfigJSONFile(p)
		}
		if err == nil {
			kr.Add(nil, cfg)
		}
	}
	return kr
}

// kubeletReadsFile reports whether the kubelet's own reader accepts the file.
func kubeletReadsFile(path string) bool {
	if filepath.Base(path) == ".dockercfg" {
		_, err := credentialprovider.ReadDockercfgFile([]string{filepath.Dir(path)})
		return err == nil
	}
	_, err := credentialprovider.ReadSpecificDockerConfigJSONFile(path)
	return err == nil
}

// canonical writes a credential list as runs of one normalized key, each run sorted
// and de-duplicated (adjustment 3). A username of no entry of the row is kept as is,
// so that it shows as a disagreement.
func canonical(creds []credentialprovider.TrackedAuthConfig, owners map[string]string) string {
	var runs []string
	var run []string
	last := "\x00"
	flush := func() {
		if len(run) == 0 {
			return
		}
		sort.Strings(run)
		uniq := run[:1]
		for _, u := range run[1:] {
			if u != uniq[len(uniq)-1] {
				uniq = append(uniq, u)
			}
		}
		runs = append(runs, last+"["+strings.Join(uniq, " ")+"]")
		run = nil
	}
	for _, c := range creds {
		owner, ok := owners[c.Username]
		if !ok {
			owner = "?"
		}
		cred := c.Username
		if c.Password != "pw-"+c.Username {
			cred += "(password not its own)"
		}
		if owner != last {
			flush()
			last = owner
		}
		run = append(run, cred)
	}
	flush()
	return strings.Join(runs, " ")
}

func TestPluginMatchesNodeKeyring(t *testing.T) {
	work := t.TempDir()
	// Helpers: PATH is only their directory (the scripts run /bin/sh by its path), so
	// the table's missing ones (desktop, gcloud) are missing even where installed.
	helperDir := filepath.Join(work, "helpers")
	if err := os.MkdirAll(helperDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range helperScripts {
		if err := os.WriteFile(filepath.Join(helperDir, "docker-credential-"+name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", helperDir)
	for _, missing := range []string{"desktop", "gcloud"} {
		if p, err := exec.LookPath("docker-credential-" + missing); err == nil {
			t.Fatalf("docker-credential-%s is installed (%s): the table needs it missing", missing, p)
		}
	}

	// One kubelet for the whole table (the kubelet code registers plugins globally):
	// the plugin reads its config file, which each row rewrites, and answers with
	// cacheDuration 0s, so the kubelet keeps nothing between rows.
	binDir := filepath.Join(work, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(pluginBin, filepath.Join(binDir, providerName)); err != nil {
		t.Fatal(err)
	}
	icpConfig := filepath.Join(work, "icp.yaml")
	hostSet := map[string]bool{}
	for _, r := range rows {
		for _, img := range r.images {
			h, _, _ := strings.Cut(img, "/")
			hostSet[h] = true
		}
	}
	var hosts []string
	for h := range hostSet {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	matchImages, _ := json.Marshal(hosts)
	kubeletConfig := filepath.Join(work, "kubelet-credential-providers.yaml")
	if err := os.WriteFile(kubeletConfig, []byte(`apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
- name: `+providerName+`
  apiVersion: credentialprovider.kubelet.k8s.io/v1
  matchImages: `+string(matchImages)+`
  defaultCacheDuration: "0s"
  args: ["--config", "`+icpConfig+`"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := plugin.RegisterCredentialProviderPlugins(kubeletConfig, binDir, nil, nil); err != nil {
		t.Fatalf("kubelet RegisterCredentialProviderPlugins: %v", err)
	}

	var lookups, withCreds, adjusted, differsUnadjusted, disagreements int
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			dir := filepath.Join(work, fmt.Sprintf("row%d", i))
			ref := filepath.Join(work, fmt.Sprintf("row%d-reference", i))
			owners := map[string]string{}
			var listed []string
			for j, f := range r.files {
				data := f.content(fmt.Sprintf("r%d-f%d", i, j), owners)
				for _, d := range []string{dir, ref} {
					p := filepath.Join(d, f.path)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				listed = append(listed, filepath.Join(dir, f.path))
				hadBroken, err := repair(filepath.Join(ref, f.path))
				if err != nil {
					t.Fatal(err)
				}
				if hadBroken {
					adjusted++
					if kubeletReadsFile(filepath.Join(dir, f.path)) {
						t.Errorf("%s: the kubelet reads the file with an undecodable entry; adjustment 1 is wrong", f.path)
					}
				}
			}
			for _, d := range []string{"root", "cwd", "home"} {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cfg := dockercfg.Config{Files: listed}
			static := "  files: " + jsonList(listed) + "\n"
			if r.search {
				cfg = dockercfg.Config{KubeletRootDir: filepath.Join(dir, "root")}
				static = "  kubeletRootDir: " + filepath.Join(dir, "root") + "\n"
			}
			if err := os.WriteFile(icpConfig, []byte("apiVersion: imagecred.dev/v1alpha1\nkind: ImageCredentialProviderConfig\nbackends: [static]\ncache: {disabled: true}\nstatic:\n"+static+"  cacheDuration: 0s\n  helperTimeout: 5s\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The plugin inherits the kubelet's environment and working directory.
			t.Setenv("HOME", filepath.Join(dir, "home"))
			t.Chdir(filepath.Join(dir, "cwd"))

			native, original := nativeKeyring(r, ref), nativeKeyring(r, dir)
			backend, err := dockercfg.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			patterns := backend.MatchImages()
			for _, img := range r.images {
				lookups++
				theirs, _ := native.Lookup(img)
				ours, _ := plugin.NewExternalCredentialProviderDockerKeyring("ns", "pod", "pod-uid", "sa").Lookup(img)
				want, got := canonical(theirs, owners), canonical(ours, owners)
				if want != "" {
					withCreds++
				}
				if unadjusted, _ := original.Lookup(img); canonical(unadjusted, owners) != want {
					differsUnadjusted++
				}
				if got != want {
					disagreements++
					t.Errorf("%s: kubelet(plugin(files)) gives %q, the kubelet's node keyring %q", img, got, want)
				}
				for _, c := range ours {
					if strings.Contains(c.Username+c.Password, hidden) {
						t.Errorf("%s: a broken entry's secret reached the kubelet", img)
					}
				}
				if want == "" && got == "" {
					continue
				}
				covered := false
				for _, p := range patterns {
					if ok, err := credentialprovider.URLsMatchStr(p, img); ok && err == nil {
						covered = true
					}
				}
				if !covered {
					t.Errorf("%s gets credentials, but no pattern of MatchImages %q matches it: the kubelet would not call the plugin", img, patterns)
				}
			}
		})
	}
	if strings.Contains(kubeletLog.String(), hidden) || strings.Contains(kubeletLog.String(), "pw-r") {
		t.Errorf("a secret reached the kubelet's log:\n%s", kubeletLog.String())
	}
	if !strings.Contains(kubeletLog.String(), "no usable credential for this image") {
		t.Errorf("the kubelet never logged a plugin failure: the log is not captured, or no image has only a broken credential")
	}
	summary := fmt.Sprintf("keyringdiff: %d file sets, %d lookups, %d with credentials, %d files the kubelet drops whole for an undecodable entry (%d lookups where that changes what it gives), %d disagreements",
		len(rows), lookups, withCreds, adjusted, differsUnadjusted, disagreements)
	t.Log(summary)
	fmt.Println(summary)
	// A table where nothing gets credentials, or nothing is broken, would prove nothing.
	if withCreds < lookups/3 || withCreds == lookups {
		t.Errorf("table is unbalanced: %d of %d lookups get credentials", withCreds, lookups)
	}
	if adjusted < 5 {
		t.Errorf("only %d files with undecodable entries", adjusted)
	}
}

func jsonList(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
