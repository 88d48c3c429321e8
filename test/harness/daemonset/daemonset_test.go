// Package daemonset checks the DaemonSet installation in examples/deploy: every file
// decodes strictly with the Kubernetes API types and passes the API server's own
// validation; the pod keeps the invariants the README promises (every node, no
// privilege beyond writing root-owned files, read-only root filesystem, resources, the
// released image); and the container's install, run as the pod runs it against a
// simulated node, writes into every host directory it mounts and nowhere else, and
// reports the kubelet flags the manifest's header names.
package daemonset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"k8s.io/kubernetes/pkg/api/legacyscheme"
	apipod "k8s.io/kubernetes/pkg/api/pod"
	"k8s.io/kubernetes/pkg/apis/apps"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	appsvalidation "k8s.io/kubernetes/pkg/apis/apps/validation"
	"k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"

	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
	"github.com/imagecred/image-credential-provider/test/harness/internal/deploy"
)

var (
	repoRoot   = filepath.Join("..", "..", "..")
	exampleDir = filepath.Join(repoRoot, "examples", "deploy")
)

// binDir holds the product's binaries, built by TestMain from the repository.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "daemonset-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/...")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the binaries: %v\n%s", err, out)
		os.Exit(2)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func load(t *testing.T) *deploy.Manifests {
	t.Helper()
	m, err := deploy.Load(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Every file is one object decoded strictly, the kustomization lists exactly the other
// files, and the objects refer to each other by their real names.
func TestFilesDecodeStrictly(t *testing.T) {
	m := load(t)
	var others []string
	for name, kind := range m.Kinds {
		if kind != "Kustomization" {
			others = append(others, name)
		}
	}
	sort.Strings(others)
	res := slices.Clone(m.Kustomization.Resources)
	sort.Strings(res)
	if !slices.Equal(res, others) {
		t.Errorf("kustomization.yaml resources %v, want every other file %v", m.Kustomization.Resources, others)
	}
	for _, e := range crossChecks(m) {
		t.Error(e)
	}
}

func crossChecks(m *deploy.Manifests) []error {
	var errs []error
	spec := m.DaemonSet.Spec.Template.Spec
	if spec.ServiceAccountName != m.ServiceAccount.Name {
		errs = append(errs, fmt.Errorf("the pod's serviceAccountName %q is not the ServiceAccount %q", spec.ServiceAccountName, m.ServiceAccount.Name))
	}
	for _, ns := range []string{m.DaemonSet.Namespace, m.ServiceAccount.Namespace, m.ConfigMap.Namespace, m.Secret.Namespace} {
		// kube-system: system-node-critical pods are admitted there on every provider (GKE
		// limits critical priority classes elsewhere with a ResourceQuota).
		if ns != "kube-system" {
			errs = append(errs, fmt.Errorf("namespace %q, want kube-system for every object", ns))
		}
	}
	for _, v := range spec.Volumes {
		if _, err := m.VolumeFiles(v, nil); v.HostPath == nil && err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// The API server would accept every object: defaulted and converted to the internal
// types as it does, then validated by its own validation code (which finds the defects
// below).
func TestAPIServerValidation(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(m *deploy.Manifests)
		want   string // "" for no error
	}{
		{"as shipped", func(*deploy.Manifests) {}, ""},
		{"a mount of no volume", func(m *deploy.Manifests) {
			c, _ := m.Container()
			c.VolumeMounts[0].Name = "nothing"
		}, "volumeMounts[0].name"},
		{"a docker config that is not JSON", func(m *deploy.Manifests) {
			m.Secret.StringData[corev1.DockerConfigJsonKey] = "{not json"
		}, "data[.dockerconfigjson]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := load(t)
			tt.mutate(m)
			errs := apiErrors(t, m)
			if tt.want == "" {
				for _, e := range errs {
					t.Error(e)
				}
				return
			}
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("want an error about %s, got %q", tt.want, errs)
			}
		})
	}
}

func apiErrors(t *testing.T, m *deploy.Manifests) []string {
	t.Helper()
	scheme := legacyscheme.Scheme
	convert := func(in runtime.Object, out runtime.Object) {
		t.Helper()
		in = in.DeepCopyObject()
		scheme.Default(in)
		if err := scheme.Convert(in, out, nil); err != nil {
			t.Fatalf("converting %T: %v", in, err)
		}
	}
	ds := &apps.DaemonSet{}
	convert(m.DaemonSet, ds)
	sa := &core.ServiceAccount{}
	convert(m.ServiceAccount, sa)
	cm := &core.ConfigMap{}
	convert(m.ConfigMap, cm)
	sec := &core.Secret{}
	convert(m.Secret, sec)
	var out []string
	for what, errs := range map[string]field.ErrorList{
		"DaemonSet":      appsvalidation.ValidateDaemonSet(ds, apipod.GetValidationOptionsFromPodTemplate(&ds.Spec.Template, nil)),
		"ServiceAccount": corevalidation.ValidateServiceAccount(sa),
		"ConfigMap":      corevalidation.ValidateConfigMap(cm),
		"Secret":         corevalidation.ValidateSecret(sec),
	} {
		for _, e := range errs {
			out = append(out, what+": "+e.Error())
		}
	}
	if sec.Type != core.SecretTypeDockerConfigJSON {
		out = append(out, fmt.Sprintf("Secret: type %q, want %q (what kubectl create secret docker-registry makes)", sec.Type, core.SecretTypeDockerConfigJSON))
	}
	return out
}

// podChecks are the pod's invariants; each returns nil or what is wrong.
var podChecks = []struct {
	name  string
	check func(m *deploy.Manifests) error
}{
	{"tolerates every taint", func(m *deploy.Manifests) error {
		for _, tol := range m.DaemonSet.Spec.Template.Spec.Tolerations {
			if tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == "" {
				return nil
			}
		}
		return errors.New("no toleration {operator: Exists} (without key or effect): tainted nodes get no installer")
	}},
	{"system-node-critical", func(m *deploy.Manifests) error {
		if p := m.DaemonSet.Spec.Template.Spec.PriorityClassName; p != "system-node-critical" {
			return fmt.Errorf("priorityClassName %q, want system-node-critical", p)
		}
		return nil
	}},
	{"Linux nodes only", func(m *deploy.Manifests) error {
		if os := m.DaemonSet.Spec.Template.Spec.NodeSelector["kubernetes.io/os"]; os != "linux" {
			return fmt.Errorf("nodeSelector kubernetes.io/os %q, want linux (the image is Linux only)", os)
		}
		return nil
	}},
	{"no host namespaces", func(m *deploy.Manifests) error {
		s := m.DaemonSet.Spec.Template.Spec
		if s.HostNetwork || s.HostPID || s.HostIPC {
			return fmt.Errorf("hostNetwork %v, hostPID %v, hostIPC %v: install needs none", s.HostNetwork, s.HostPID, s.HostIPC)
		}
		return nil
	}},
	{"no API token", func(m *deploy.Manifests) error {
		s := m.DaemonSet.Spec.Template.Spec
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken ||
			m.ServiceAccount.AutomountServiceAccountToken == nil || *m.ServiceAccount.AutomountServiceAccountToken {
			return errors.New("automountServiceAccountToken must be false on the pod and the ServiceAccount: install calls no API")
		}
		return nil
	}},
	{"one container running the image's install", func(m *deploy.Manifests) error {
		c, err := m.Container()
		if err != nil {
			return err
		}
		if len(c.Command) != 0 {
			return fmt.Errorf("command %q: the image's entrypoint must run (install finds the binaries beside it)", c.Command)
		}
		if len(c.Args) == 0 || c.Args[0] != "install" || !slices.Contains(c.Args, "--stay") {
			return fmt.Errorf("args %q: want install ... --stay", c.Args)
		}
		if root := flagValue(c.Args, "root"); root != hostRoot {
			return fmt.Errorf("--root=%q, want %s (every host directory is mounted under it)", root, hostRoot)
		}
		return nil
	}},
	{"the released image", func(m *deploy.Manifests) error {
		c, err := m.Container()
		if err != nil {
			return err
		}
		return checkImage(c.Image, c.ImagePullPolicy)
	}},
	{"resources", func(m *deploy.Manifests) error {
		c, err := m.Container()
		if err != nil {
			return err
		}
		r := c.Resources
		cpu, mem, lim := r.Requests[corev1.ResourceCPU], r.Requests[corev1.ResourceMemory], r.Limits[corev1.ResourceMemory]
		if cpu.IsZero() || mem.IsZero() || lim.IsZero() {
			return fmt.Errorf("requests cpu %s memory %s, limit memory %s: each must be set", cpu.String(), mem.String(), lim.String())
		}
		if lim.Cmp(mem) < 0 || lim.Cmp(resource.MustParse("48Mi")) < 0 {
			return fmt.Errorf("memory limit %s: below the request or the ~45 MB of binaries install writes (their page cache counts)", lim.String())
		}
		return nil
	}},
	{"least privilege", func(m *deploy.Manifests) error {
		c, err := m.Container()
		if err != nil {
			return err
		}
		return checkSecurity(m.DaemonSet.Spec.Template.Spec.SecurityContext, c.SecurityContext)
	}},
	{"mounts", func(m *deploy.Manifests) error {
		c, err := m.Container()
		if err != nil {
			return err
		}
		return checkMounts(m.DaemonSet.Spec.Template.Spec.Volumes, c.VolumeMounts)
	}},
	{"rolling update that stops on a failing install", func(m *deploy.Manifests) error {
		ds := m.DaemonSet.Spec
		if ds.UpdateStrategy.Type != "RollingUpdate" || ds.MinReadySeconds < 5 {
			return fmt.Errorf("updateStrategy %q, minReadySeconds %d: want RollingUpdate and a few seconds, so a pod that fails to install is never counted available", ds.UpdateStrategy.Type, ds.MinReadySeconds)
		}
		return nil
	}},
}

// hostRoot is where the pod mounts the node's directories, each at its own path below it.
const hostRoot = "/host"

func TestPodInvariants(t *testing.T) {
	m := load(t)
	for _, c := range podChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(m); err != nil {
				t.Error(err)
			}
		})
	}
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// checkImage: the repository `make release` names (the Makefile's IMAGE), a tag that
// hack/release accepts as a release version, pulled only when missing.
func checkImage(ref string, policy corev1.PullPolicy) error {
	mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		return err
	}
	im := regexp.MustCompile(`(?m)^IMAGE \?= (\S+)$`).FindSubmatch(mk)
	if im == nil {
		return errors.New("no `IMAGE ?= ...` line in the Makefile")
	}
	src, err := os.ReadFile(filepath.Join(repoRoot, "hack", "release", "main.go"))
	if err != nil {
		return err
	}
	lit := regexp.MustCompile("(?m)^var semver = regexp.MustCompile\\(`([^`]+)`\\)$").FindSubmatch(src)
	if lit == nil {
		return errors.New("no `var semver = regexp.MustCompile(...)` in hack/release/main.go")
	}
	repo, tag, ok := strings.Cut(ref, ":")
	if !ok || repo != string(im[1]) {
		return fmt.Errorf("image %q: want %s:<release version> (the Makefile's IMAGE)", ref, im[1])
	}
	if !regexp.MustCompile(string(lit[1])).MatchString(tag) {
		return fmt.Errorf("image tag %q is not a release version as hack/release accepts", tag)
	}
	if policy != corev1.PullIfNotPresent {
		return fmt.Errorf("imagePullPolicy %q, want IfNotPresent (a release tag never changes)", policy)
	}
	return nil
}

func checkSecurity(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) error {
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if c == nil {
		return errors.New("no container securityContext")
	}
	user := pod.RunAsUser
	if c.RunAsUser != nil {
		user = c.RunAsUser
	}
	nonRoot := pod.RunAsNonRoot
	if c.RunAsNonRoot != nil {
		nonRoot = c.RunAsNonRoot
	}
	seccomp := pod.SeccompProfile
	if c.SeccompProfile != nil {
		seccomp = c.SeccompProfile
	}
	switch {
	case user == nil || *user != 0 || (nonRoot != nil && *nonRoot):
		return errors.New("runAsUser must be 0 (and runAsNonRoot not true): the files and directories it writes are root's")
	case c.Privileged != nil && *c.Privileged:
		return errors.New("privileged: not needed")
	case c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation:
		return errors.New("allowPrivilegeEscalation must be false")
	case c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem:
		return errors.New("readOnlyRootFilesystem must be true")
	case c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") || len(c.Capabilities.Add) > 0:
		return errors.New("capabilities: drop ALL and add none (root writing its own directories needs none)")
	case seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault:
		return errors.New("seccompProfile RuntimeDefault")
	}
	return nil
}

// checkMounts: every volume mounted once; a hostPath at /host + its path, writable, a
// directory (created when missing); ConfigMaps and Secrets read-only; nothing else.
func checkMounts(vols []corev1.Volume, mounts []corev1.VolumeMount) error {
	byName := map[string]corev1.VolumeMount{}
	for _, vm := range mounts {
		if _, dup := byName[vm.Name]; dup {
			return fmt.Errorf("volume %s is mounted twice", vm.Name)
		}
		byName[vm.Name] = vm
		if vm.SubPath != "" || vm.SubPathExpr != "" || (vm.MountPropagation != nil && *vm.MountPropagation != corev1.MountPropagationNone) {
			return fmt.Errorf("mount %s: no subPath or mount propagation", vm.Name)
		}
	}
	for _, v := range vols {
		vm, ok := byName[v.Name]
		if !ok {
			return fmt.Errorf("volume %s is not mounted", v.Name)
		}
		switch {
		case v.HostPath != nil:
			p := v.HostPath.Path
			if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
				return fmt.Errorf("hostPath %q: an absolute, clean directory below /", p)
			}
			if vm.MountPath != hostRoot+p {
				return fmt.Errorf("hostPath %s is mounted at %s, want %s (install writes node paths under --root=%s)", p, vm.MountPath, hostRoot+p, hostRoot)
			}
			if vm.ReadOnly {
				return fmt.Errorf("hostPath %s is mounted read-only, but install writes there", p)
			}
			if t := v.HostPath.Type; t == nil || (*t != corev1.HostPathDirectoryOrCreate && *t != corev1.HostPathDirectory) {
				return fmt.Errorf("hostPath %s: type Directory or DirectoryOrCreate", p)
			}
		case v.ConfigMap != nil || v.Secret != nil:
			if !vm.ReadOnly {
				return fmt.Errorf("volume %s (ConfigMap or Secret) should be mounted read-only", v.Name)
			}
			if strings.HasPrefix(vm.MountPath+"/", hostRoot+"/") {
				return fmt.Errorf("volume %s is mounted under %s, where the node's directories are", v.Name, hostRoot)
			}
		default:
			return fmt.Errorf("volume %s: only hostPath, ConfigMap and Secret volumes", v.Name)
		}
	}
	return nil
}

// The pod's install, run as the pod runs it (the image's entrypoint, the DaemonSet's
// args, its mounts), writes into every host directory it mounts and nowhere else,
// reports the kubelet flags the manifest's header names, names in the kubelet config
// only files it wrote, and changes nothing when run again.
func TestInstallAsThePodRunsIt(t *testing.T) {
	m := load(t)
	r, err := runInstall(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.check(m); err != nil {
		t.Fatal(err)
	}
	// What the kubelet reads names only files install wrote.
	c, _ := m.Container()
	kc := flagValue(c.Args, "kubelet-config")
	set, err := kubeletconfig.Read(r.onNode(kc))
	if err != nil {
		t.Fatal(err)
	}
	var named, secrets []string
	for _, p := range set.Providers() {
		if p.Name != binaries.FrontEnd {
			continue
		}
		for _, a := range p.Args {
			if v, ok := strings.CutPrefix(a, "--config="); ok {
				named = append(named, v)
				plugin, err := config.Load(r.onNode(v))
				if err != nil {
					t.Fatalf("the plugin config the kubelet config names: %v", err)
				}
				secrets = append(secrets, plugin.Static.Files...)
			}
		}
	}
	if len(named) != 1 || len(secrets) == 0 {
		t.Fatalf("the kubelet config names the plugin configs %v, reading the docker configs %v; want one of each at least", named, secrets)
	}
	for _, p := range append(named, secrets...) {
		if !slices.Contains(r.written, p) {
			t.Errorf("the installed configuration names %s, which install did not write", p)
		}
	}
	for _, p := range secrets {
		if fi, err := os.Stat(r.onNode(p)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the docker config %s on the node: %v, want mode 0600", p, err)
		}
	}
	// The README's DaemonSet section names the same flags and exactly the files written.
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "\n### DaemonSet"); i >= 0 {
		section = section[i+1:]
		if j := strings.Index(section, "\n### "); j >= 0 {
			section = section[:j]
		}
	} else {
		t.Fatal("README.md has no ### DaemonSet section")
	}
	if got, want := flagsIn(section, `(?m)^\s+(--image-credential-provider-(?:config|bin-dir)=\S+)$`), flagsIn(string(m.Files["daemonset.yaml"]), headerFlags); !slices.Equal(got, want) {
		t.Errorf("the README's DaemonSet section gives the kubelet flags %q, the manifest %q", got, want)
	}
	var listed []string
	for _, row := range regexp.MustCompile("(?m)^\\| `(/[^`]+)`").FindAllStringSubmatch(section, -1) {
		listed = append(listed, expand(row[1])...)
	}
	sort.Strings(listed)
	if !slices.Equal(listed, r.written) {
		t.Errorf("the README's DaemonSet section lists %q; install wrote %q", listed, r.written)
	}

	// Again: nothing changes.
	again, err := r.run()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again, "nothing to change: all ") {
		t.Errorf("a second run changed something:\n%s", again)
	}
}

// Each mutation breaks one promise; the checks above must notice it.
func TestChecksCatch(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(m *deploy.Manifests)
		want   string
	}{
		{"a host directory install does not write", func(m *deploy.Manifests) {
			addHostPath(m, "logs", "/var/log")
		}, "install wrote nothing in the host directory /var/log"},
		{"a node path with no mount", func(m *deploy.Manifests) {
			c, _ := m.Container()
			setFlag(c, "bin-dir", "/opt/bin")
		}, "outside every mount"},
		{"args and mounts disagree", func(m *deploy.Manifests) {
			c, _ := m.Container()
			c.VolumeMounts[0].MountPath = "/host/opt/other"
		}, "is mounted at /host/opt/other"},
		{"a writable root filesystem", func(m *deploy.Manifests) {
			c, _ := m.Container()
			f := false
			c.SecurityContext.ReadOnlyRootFilesystem = &f
		}, "readOnlyRootFilesystem"},
		{"a capability", func(m *deploy.Manifests) {
			c, _ := m.Container()
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"DAC_OVERRIDE"}
		}, "capabilities"},
		{"a taint not tolerated", func(m *deploy.Manifests) {
			m.DaemonSet.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}, "tainted nodes"},
		{"another image", func(m *deploy.Manifests) {
			c, _ := m.Container()
			c.Image = "docker.io/someone/image-credential-provider:v0.1.0"
		}, "the Makefile's IMAGE"},
		{"a tag that is not a release", func(m *deploy.Manifests) {
			c, _ := m.Container()
			c.Image = strings.Split(c.Image, ":")[0] + ":latest"
		}, "not a release version"},
		{"no memory limit", func(m *deploy.Manifests) {
			c, _ := m.Container()
			delete(c.Resources.Limits, corev1.ResourceMemory)
		}, "each must be set"},
		{"the header's flags differ", func(m *deploy.Manifests) {
			c, _ := m.Container()
			setFlag(c, "kubelet-config", "/etc/kubernetes/image-credential-provider/other.yaml")
		}, "the manifest's header says"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := load(t)
			tt.mutate(m)
			var got []string
			for _, c := range podChecks {
				if err := c.check(m); err != nil {
					got = append(got, err.Error())
				}
			}
			if r, err := runInstall(t, m); err != nil {
				got = append(got, err.Error())
			} else if err := r.check(m); err != nil {
				got = append(got, err.Error())
			}
			for _, g := range got {
				if strings.Contains(g, tt.want) {
					return
				}
			}
			t.Errorf("no check reported %q; got %q", tt.want, got)
		})
	}
}

func addHostPath(m *deploy.Manifests, name, p string) {
	spec := &m.DaemonSet.Spec.Template.Spec
	dir := corev1.HostPathDirectoryOrCreate
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p, Type: &dir}}})
	spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: hostRoot + p})
}

func setFlag(c *corev1.Container, name, value string) {
	for i, a := range c.Args {
		if strings.HasPrefix(a, "--"+name+"=") {
			c.Args[i] = "--" + name + "=" + value
		}
	}
}

// installRun is the pod's install run against a simulated node: the container's file
// system at ctr (each host directory a link to its place under node, each ConfigMap and
// Secret volume filled as the kubelet fills it) and the node's at node.
type installRun struct {
	t         *testing.T
	ctr, node string
	args      []string
	hostDirs  []string // node paths of the hostPath volumes
	volumes   []string // container paths of ConfigMap and Secret volumes
	out       string
	written   []string // node paths install wrote
}

// onNode is where the simulated node's path p is.
func (r *installRun) onNode(p string) string { return filepath.Join(r.node, filepath.FromSlash(p)) }

func runInstall(t *testing.T, m *deploy.Manifests) (*installRun, error) {
	t.Helper()
	c, err := m.Container()
	if err != nil {
		return nil, err
	}
	tmp := t.TempDir()
	r := &installRun{t: t, ctr: filepath.Join(tmp, "ctr"), node: filepath.Join(tmp, "node")}
	vols := map[string]corev1.Volume{}
	for _, v := range m.DaemonSet.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		v := vols[vm.Name]
		at := filepath.Join(r.ctr, filepath.FromSlash(vm.MountPath))
		if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
			return nil, err
		}
		if v.HostPath != nil {
			// The kubelet creates a DirectoryOrCreate directory; a Directory exists.
			if err := os.MkdirAll(r.onNode(v.HostPath.Path), 0o755); err != nil {
				return nil, err
			}
			if err := os.Symlink(r.onNode(v.HostPath.Path), at); err != nil {
				return nil, err
			}
			r.hostDirs = append(r.hostDirs, v.HostPath.Path)
			continue
		}
		if err := m.WriteVolume(vm.Name, at, nil); err != nil {
			return nil, err
		}
		r.volumes = append(r.volumes, at)
	}
	// The paths install reads in the container (--root, --config, the source of each
	// --file) are in the simulated container; node paths stay as they are. No host PID
	// namespace: an empty process list.
	proc := filepath.Join(tmp, "proc")
	if err := os.MkdirAll(proc, 0o755); err != nil {
		return nil, err
	}
	for _, a := range c.Args {
		name, val, isFlag := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		switch {
		case !isFlag:
		case name == "root" || name == "config":
			a = "--" + name + "=" + filepath.Join(r.ctr, val)
		case name == "file":
			src, dest, _ := strings.Cut(val, ":")
			a = "--file=" + filepath.Join(r.ctr, src) + ":" + dest
		case name == "proc":
			return nil, errors.New("--proc: the pod sees its own processes")
		}
		r.args = append(r.args, a)
	}
	r.args = append(r.args, "--proc="+proc)
	if _, err := r.run(); err != nil {
		return nil, err
	}
	return r, nil
}

// run starts the image's entrypoint with the args; with --stay, it waits until the
// process says it stays, stops it with SIGTERM as the kubelet does, and expects it to
// exit 0.
func (r *installRun) run() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, binaries.FrontEnd), r.args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + filepath.Join(r.ctr, "root")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	stayed := false
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "staying until SIGTERM") {
			stayed = true
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	r.out = out.String()
	if err != nil {
		return r.out, fmt.Errorf("install failed: %v\n%s%s", err, r.out, stderr.String())
	}
	if slices.Contains(r.args, "--stay") && !stayed {
		return r.out, fmt.Errorf("install --stay ended without staying:\n%s", r.out)
	}
	return r.out, nil
}

// check: every file install wrote is in a host directory the pod mounts, every such
// directory received one, nothing landed in the container's own (read-only) file
// system, and the report's kubelet flags are the header's.
func (r *installRun) check(m *deploy.Manifests) error {
	r.written = nil
	err := filepath.WalkDir(r.node, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(r.node, p)
		r.written = append(r.written, "/"+filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	var stray []string
	err = filepath.WalkDir(r.ctr, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, v := range r.volumes {
			if p == v {
				return fs.SkipDir
			}
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(r.ctr, p)
			stray = append(stray, "/"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(stray) > 0 {
		return fmt.Errorf("install wrote %v in the container's own file system, outside every mount (read-only in the pod): its node paths and the hostPath volumes disagree", stray)
	}
	for _, dir := range r.hostDirs {
		n := 0
		for _, w := range r.written {
			if strings.HasPrefix(w, dir+"/") {
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("install wrote nothing in the host directory %s, which the pod mounts writable", dir)
		}
	}
	wantFlags := flagsIn(string(m.Files["daemonset.yaml"]), headerFlags)
	got := regexp.MustCompile(`--image-credential-provider-(?:config|bin-dir)=\S+`).FindAllString(r.out, -1)
	sort.Strings(got)
	if len(wantFlags) != 2 || !slices.Equal(wantFlags, got) {
		return fmt.Errorf("install reports the kubelet flags %q; the manifest's header says %q", got, wantFlags)
	}
	return nil
}

// headerFlags finds the kubelet flags in the manifest's header comment.
const headerFlags = `(?m)^#\s+(--image-credential-provider-(?:config|bin-dir)=\S+)$`

// flagsIn returns the first group of every match of re in text, sorted.
func flagsIn(text, re string) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// expand turns "dir/name{,-a,-b}" into dir/name, dir/name-a and dir/name-b.
func expand(p string) []string {
	open, end := strings.Index(p, "{"), strings.Index(p, "}")
	if open < 0 || end < open {
		return []string{p}
	}
	var out []string
	for _, alt := range strings.Split(p[open+1:end], ",") {
		out = append(out, p[:open]+alt+p[end+1:])
	}
	return out
}
