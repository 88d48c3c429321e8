// Package deploy reads the DaemonSet installation (examples/deploy) with the Kubernetes
// API types, strictly, and turns its pod into a static pod that test/e2e runs on a real
// kubelet: the same container, arguments, security settings, resources and host
// mounts, with the ConfigMap and Secret volumes (which a static pod cannot use) replaced
// by directories holding the same files.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Kustomization is the part of kustomize's Kustomization the example uses; decoding is
// strict, so a field the example adds must be added here.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// Manifests are the example's files, each decoded into its API type.
type Manifests struct {
	Dir            string
	DaemonSet      *appsv1.DaemonSet
	ServiceAccount *corev1.ServiceAccount
	ConfigMap      *corev1.ConfigMap
	Secret         *corev1.Secret
	Kustomization  *Kustomization
	// Files maps each file name to its text; Kinds maps it to the kind it holds.
	Files map[string][]byte
	Kinds map[string]string
}

// Load reads every *.yaml file of dir. Each holds one object of a kind the example
// ships (one of each), decoded strictly: an unknown or misspelled field is an error.
func Load(dir string) (*Manifests, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	m := &Manifests{Dir: dir, Files: map[string][]byte{}, Kinds: map[string]string{}}
	for _, path := range names {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := m.add(name, data); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for kind, missing := range map[string]bool{
		"DaemonSet": m.DaemonSet == nil, "ServiceAccount": m.ServiceAccount == nil,
		"ConfigMap": m.ConfigMap == nil, "Secret": m.Secret == nil, "Kustomization": m.Kustomization == nil,
	} {
		if missing {
			return nil, fmt.Errorf("%s: no %s", dir, kind)
		}
	}
	return m, nil
}

func (m *Manifests) add(name string, data []byte) error {
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			return errors.New("one object per file, please (found a '---' document separator)")
		}
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return err
	}
	twice := func(have bool) error {
		if have {
			return fmt.Errorf("a second %s", tm.Kind)
		}
		return nil
	}
	var obj any
	var err error
	switch gk := tm.APIVersion + " " + tm.Kind; gk {
	case "apps/v1 DaemonSet":
		err = twice(m.DaemonSet != nil)
		m.DaemonSet = &appsv1.DaemonSet{}
		obj = m.DaemonSet
	case "v1 ServiceAccount":
		err = twice(m.ServiceAccount != nil)
		m.ServiceAccount = &corev1.ServiceAccount{}
		obj = m.ServiceAccount
	case "v1 ConfigMap":
		err = twice(m.ConfigMap != nil)
		m.ConfigMap = &corev1.ConfigMap{}
		obj = m.ConfigMap
	case "v1 Secret":
		err = twice(m.Secret != nil)
		m.Secret = &corev1.Secret{}
		obj = m.Secret
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		err = twice(m.Kustomization != nil)
		m.Kustomization = &Kustomization{}
		obj = m.Kustomization
	default:
		return fmt.Errorf("apiVersion %q kind %q: not a kind the example ships", tm.APIVersion, tm.Kind)
	}
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return fmt.Errorf("decoding strictly as %s: %w", tm.Kind, err)
	}
	m.Files[name] = data
	m.Kinds[name] = tm.Kind
	return nil
}

// Container is the DaemonSet's one container.
func (m *Manifests) Container() (*corev1.Container, error) {
	spec := &m.DaemonSet.Spec.Template.Spec
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		return nil, fmt.Errorf("the DaemonSet has %d containers and %d init containers, want one container", len(spec.Containers), len(spec.InitContainers))
	}
	return &spec.Containers[0], nil
}

// VolumeFiles are the files a ConfigMap or Secret volume of the pod holds, by path
// inside the volume, as the kubelet lays them out (items select and rename keys).
// override replaces the content of a key (the e2e's own registry credentials).
func (m *Manifests) VolumeFiles(v corev1.Volume, override map[string][]byte) (map[string][]byte, error) {
	var data map[string][]byte
	var items []corev1.KeyToPath
	switch {
	case v.ConfigMap != nil:
		if v.ConfigMap.Name != m.ConfigMap.Name {
			return nil, fmt.Errorf("volume %s: ConfigMap %q is not the example's %q", v.Name, v.ConfigMap.Name, m.ConfigMap.Name)
		}
		data = map[string][]byte{}
		for k, s := range m.ConfigMap.Data {
			data[k] = []byte(s)
		}
		for k, b := range m.ConfigMap.BinaryData {
			data[k] = b
		}
		items = v.ConfigMap.Items
	case v.Secret != nil:
		if v.Secret.SecretName != m.Secret.Name {
			return nil, fmt.Errorf("volume %s: Secret %q is not the example's %q", v.Name, v.Secret.SecretName, m.Secret.Name)
		}
		data = map[string][]byte{}
		for k, b := range m.Secret.Data {
			data[k] = b
		}
		for k, s := range m.Secret.StringData {
			data[k] = []byte(s)
		}
		items = v.Secret.Items
	default:
		return nil, fmt.Errorf("volume %s is neither a ConfigMap nor a Secret", v.Name)
	}
	for k, b := range override {
		if _, ok := data[k]; !ok {
			return nil, fmt.Errorf("volume %s has no key %q to replace", v.Name, k)
		}
		data[k] = b
	}
	out := map[string][]byte{}
	if len(items) == 0 {
		for k, b := range data {
			out[k] = b
		}
		return out, nil
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("volume %s: no key %q", v.Name, it.Key)
		}
		out[it.Path] = b
	}
	return out, nil
}

// StaticPodOptions say how the DaemonSet's pod becomes a static pod.
type StaticPodOptions struct {
	Name, Namespace string
	// Image replaces the container's image (the release build under test).
	Image string
	// VolumeDirs maps each ConfigMap or Secret volume to a host directory holding its
	// files (WriteVolume); it is mounted read-only as the volume was.
	VolumeDirs map[string]string
	// HostNetwork: a kubelet without a pod network (CNI) runs host-network pods only.
	HostNetwork bool
}

// StaticPod is the DaemonSet's pod as a static pod: the same spec, with no service
// account (a static pod cannot have one), the image replaced, and the ConfigMap and
// Secret volumes replaced by host directories.
func (m *Manifests) StaticPod(o StaticPodOptions) (*corev1.Pod, error) {
	spec := m.DaemonSet.Spec.Template.Spec.DeepCopy()
	spec.ServiceAccountName = ""
	spec.DeprecatedServiceAccount = ""
	if o.HostNetwork {
		spec.HostNetwork = true
	}
	for i := range spec.Containers {
		spec.Containers[i].Image = o.Image
	}
	for i, v := range spec.Volumes {
		if v.HostPath != nil {
			continue
		}
		dir, ok := o.VolumeDirs[v.Name]
		if !ok {
			return nil, fmt.Errorf("volume %s: no directory given for it", v.Name)
		}
		dirType := corev1.HostPathDirectory
		spec.Volumes[i].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirType}}
	}
	labels := map[string]string{}
	for k, v := range m.DaemonSet.Spec.Template.Labels {
		labels[k] = v
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
		Spec:       *spec,
	}, nil
}

// WriteVolume writes the files of volume name into dir (mode 0600), with override.
func (m *Manifests) WriteVolume(name, dir string, override map[string][]byte) error {
	for _, v := range m.DaemonSet.Spec.Template.Spec.Volumes {
		if v.Name != name {
			continue
		}
		files, err := m.VolumeFiles(v, override)
		if err != nil {
			return err
		}
		paths := make([]string, 0, len(files))
		for p := range files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			target := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(target, files[p], 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("the DaemonSet has no volume %q", name)
}

// Marshal is obj as YAML.
func Marshal(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return nil, err
	}
	return bytes.TrimSpace(y), nil
}
