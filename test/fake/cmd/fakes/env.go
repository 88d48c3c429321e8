package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
	"github.com/imagecred/image-credential-provider/test/fake/registry"
	"github.com/imagecred/image-credential-provider/test/fake/testca"
)

// Env describes the running fakes. Scripts and the puller harness read it.
type Env struct {
	PID int `json:"pid"`
	// CAFile is the PEM CA that signed every registry's certificate.
	CAFile string `json:"caFile"`
	// Resolve maps "host:port" names used in image references to the loopback address
	// serving them (a puller dials the value instead of resolving the name).
	Resolve map[string]string `json:"resolve"`
	// Vars are NAME → value pairs for scenario files and scripts: registry addresses,
	// users and passwords (passwords are random per run).
	Vars map[string]string `json:"vars"`
	// PluginEnv is the environment a plugin needs to reach the cloud fakes.
	PluginEnv map[string]string `json:"pluginEnv"`
	// Backends lists the backends whose fakes are running.
	Backends []string `json:"backends"`
	// Registries describes each registry: URL, auth, host names, users, seeded images.
	Registries map[string]RegistryInfo `json:"registries"`
}

// RegistryInfo describes one fake registry.
type RegistryInfo struct {
	URL    string                    `json:"url"`
	Addr   string                    `json:"addr"`
	Auth   string                    `json:"auth"`
	Hosts  []string                  `json:"hosts"`
	Users  []string                  `json:"users,omitempty"`
	Images map[string]registry.Image `json:"images"`
}

// site is one static registry and what it serves.
type site struct {
	name  string
	hosts []string // names resolved to it on port 443; none: reached by its loopback address
	users []registry.User
	repos []string
}

// staticSites are the static (htpasswd-style) registries. Their host names are those of
// the kubelet documentation's config.json examples (wildcards, paths), a loopback pair
// that differs only by port, and Docker Hub.
func staticSites() []site {
	return []site{
		{name: "static-docs", hosts: []string{"my-registry.example"},
			users: []registry.User{
				{Name: "images-user", Repos: []string{"images"}},
				{Name: "subpath-user", Repos: []string{"images/subpath"}},
			},
			repos: []string{"images", "images/my-image", "images/another-image", "images/subpath/my-image"}},
		{name: "static-wild", hosts: []string{"sub.my-registry.example", "a.sub.my-registry.example", "a.b.sub.my-registry.example"},
			users: []registry.User{{Name: "wild-user"}},
			repos: []string{"images/my-image"}},
		{name: "static-k8s", hosts: []string{"kubernetes.io", "abc.kubernetes.io", "abc.def.kubernetes.io", "prefix.kubernetes.io", "prefix-good.kubernetes.io"},
			users: []registry.User{{Name: "k8s-user"}},
			repos: []string{"app"}},
		{name: "static-port", users: []registry.User{{Name: "port-user"}}, repos: []string{"team/app", "team/other"}},
		{name: "static-port2", users: []registry.User{{Name: "port2-user"}}, repos: []string{"team/app"}},
		{name: "dockerhub", hosts: []string{"index.docker.io", "registry-1.docker.io", "docker.io"},
			users: []registry.User{{Name: "hub-user"}},
			repos: []string{"library/busybox", "someuser/app"}},
	}
}

// Fakes is the running set of fakes: their description, what the admin endpoint can
// turn knobs on, and how to stop them.
type Fakes struct {
	Env *Env

	ca        *testca.CA
	dir       string
	accessLog *log.Logger
	closers   []func()

	registries map[string]*registry.Server
	aws        *awsfake.Server
	google     *gcpfake.Server
	azure      *azurefake.Server
}

// Close stops every fake, last started first.
func (f *Fakes) Close() {
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
	f.closers = nil
}

func (f *Fakes) onClose(fn func()) { f.closers = append(f.closers, fn) }

// Start starts every fake. dir receives the CA and other files. The static registries
// also take the credentials the docker config files dockerConfigs give for their hosts
// (see dockerConfigUsers).
func Start(dir string, accessLog *log.Logger, dockerConfigs ...string) (*Fakes, error) {
	f := &Fakes{
		Env: &Env{
			Resolve: map[string]string{}, Vars: map[string]string{}, PluginEnv: map[string]string{},
			Registries: map[string]RegistryInfo{},
		},
		dir: dir, accessLog: accessLog, registries: map[string]*registry.Server{},
	}
	env := f.Env
	ca, err := testca.New()
	if err != nil {
		return nil, err
	}
	f.ca = ca
	env.CAFile = filepath.Join(dir, "fakes-ca.pem")
	if err := ca.WriteFile(env.CAFile); err != nil {
		return nil, err
	}

	sites := staticSites()
	extra, err := dockerConfigUsers(sites, dockerConfigs)
	if err != nil {
		return nil, err
	}
	for _, st := range sites {
		for i := range st.users {
			st.users[i].Password = "pw-" + randomHex(12)
		}
		users := append(append([]registry.User(nil), st.users...), extra[st.name]...)
		info, err := f.startSite(st.name, st.hosts, registry.StaticAuth(users...), st.repos)
		if err != nil {
			f.Close()
			return nil, err
		}
		for _, u := range st.users {
			info.Users = append(info.Users, u.Name)
			v := varName(u.Name)
			env.Vars[v] = u.Name
			env.Vars[v+"_PASSWORD"] = u.Password
			env.Vars[v+"_AUTH"] = base64.StdEncoding.EncodeToString([]byte(u.Name + ":" + u.Password))
		}
		env.Registries[st.name] = info
	}
	env.Backends = append(env.Backends, "static")

	for _, c := range clouds {
		if err := c.start(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s fakes: %w", c.name, err)
		}
		env.Backends = append(env.Backends, c.name)
	}
	sort.Strings(env.Backends)
	return f, nil
}

// cloud is one cloud backend's fakes.
type cloud struct {
	name  string
	start func(f *Fakes) error
}

// startSite starts one TLS registry for hosts with auth, seeds repos (tags v1 and
// latest, two different random images) and records it: resolve entries for its host
// names on port 443, NAME_ADDR / NAME_URL variables.
func (f *Fakes) startSite(name string, hosts []string, auth registry.Auth, repos []string) (RegistryInfo, error) {
	srv, err := registry.Start(registry.Config{Auth: auth, TLS: f.ca.ServerConfig(), Log: f.accessLog})
	if err != nil {
		return RegistryInfo{}, err
	}
	f.onClose(func() { _ = srv.Close() })
	info := RegistryInfo{URL: srv.URL, Addr: srv.Addr, Auth: auth.Name, Hosts: hosts, Images: map[string]registry.Image{}}
	for _, repo := range repos {
		for _, tag := range []string{"v1", "latest"} {
			img, err := srv.Seed(repo, tag)
			if err != nil {
				return info, err
			}
			info.Images[repo+":"+tag] = img
		}
	}
	for _, h := range hosts {
		f.Env.Resolve[net.JoinHostPort(h, "443")] = srv.Addr
	}
	v := varName(name)
	f.Env.Vars[v+"_ADDR"] = srv.Addr
	f.Env.Vars[v+"_URL"] = srv.URL
	f.Env.Registries[name] = info
	f.registries[name] = srv
	return info, nil
}

func varName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
