package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imagecred/image-credential-provider/test/fake/registry"
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

// Start starts every fake and returns their description and a function stopping them.
func Start(dir string, accessLog *log.Logger) (*Env, func(), error) {
	env := &Env{
		Resolve: map[string]string{}, Vars: map[string]string{}, PluginEnv: map[string]string{},
		Registries: map[string]RegistryInfo{},
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	ca, err := registry.NewCA()
	if err != nil {
		return nil, nil, err
	}
	env.CAFile = filepath.Join(dir, "fakes-ca.pem")
	if err := os.WriteFile(env.CAFile, ca.CertPEM, 0o644); err != nil {
		return nil, nil, err
	}

	for _, st := range staticSites() {
		for i := range st.users {
			st.users[i].Password = "pw-" + randomHex(12)
		}
		info, srv, err := startSite(ca, st.name, st.hosts, registry.StaticAuth(st.users...), st.repos, accessLog)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, func() { _ = srv.Close() })
		for _, u := range st.users {
			info.Users = append(info.Users, u.Name)
			v := varName(u.Name)
			env.Vars[v] = u.Name
			env.Vars[v+"_PASSWORD"] = u.Password
			env.Vars[v+"_AUTH"] = base64.StdEncoding.EncodeToString([]byte(u.Name + ":" + u.Password))
		}
		addSite(env, st.name, info, srv)
	}
	env.Backends = append(env.Backends, "static")

	// Cloud backends add their token fakes and registries here as they land; see
	// startCloud for the contract.
	for _, c := range clouds {
		if err := c.start(env, ca, accessLog, &closers); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s fakes: %w", c.name, err)
		}
		env.Backends = append(env.Backends, c.name)
	}
	sort.Strings(env.Backends)
	return env, closeAll, nil
}

// cloud is one cloud backend's fakes.
type cloud struct {
	name  string
	start func(env *Env, ca *registry.CA, accessLog *log.Logger, closers *[]func()) error
}

// clouds lists the cloud backends whose fakes this program starts (filled in by the
// per-cloud files as the backends land).
var clouds []cloud

// startSite starts one TLS registry for hosts with auth and seeds repos (tags v1 and
// latest, two different random images).
func startSite(ca *registry.CA, name string, hosts []string, auth registry.Auth, repos []string, accessLog *log.Logger) (RegistryInfo, *registry.Server, error) {
	tlsCfg, err := ca.ServerConfig(hosts...)
	if err != nil {
		return RegistryInfo{}, nil, err
	}
	srv, err := registry.Start(registry.Config{Auth: auth, TLS: tlsCfg, Log: accessLog})
	if err != nil {
		return RegistryInfo{}, nil, err
	}
	info := RegistryInfo{URL: srv.URL, Addr: srv.Addr, Auth: auth.Name, Hosts: hosts, Images: map[string]registry.Image{}}
	for _, repo := range repos {
		img, err := srv.Seed(repo, "v1")
		if err != nil {
			_ = srv.Close()
			return info, nil, err
		}
		info.Images[repo+":v1"] = img
		latest, err := srv.Seed(repo, "latest")
		if err != nil {
			_ = srv.Close()
			return info, nil, err
		}
		info.Images[repo+":latest"] = latest
	}
	return info, srv, nil
}

// addSite records a registry in env: resolve entries for its host names on port 443,
// and NAME_ADDR / NAME_URL variables.
func addSite(env *Env, name string, info RegistryInfo, srv *registry.Server) {
	for _, h := range info.Hosts {
		env.Resolve[net.JoinHostPort(h, "443")] = srv.Addr
	}
	v := varName(name)
	env.Vars[v+"_ADDR"] = srv.Addr
	env.Vars[v+"_URL"] = srv.URL
	env.Registries[name] = info
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
