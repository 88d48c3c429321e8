// Command daemonset-pod writes the pod of the example DaemonSet (examples/deploy) as a
// static pod manifest, for test/e2e to run on a real kubelet: the same container,
// arguments, security settings, resources and host mounts; the image replaced by the
// release build under test; each ConfigMap or Secret volume replaced by a directory it
// fills with the same files (a static pod cannot use either).
//
//	daemonset-pod -dir examples/deploy -name installer -namespace ns -image REF \
//	    -volume-dir plugin-config=DIR -volume-dir docker-config=DIR \
//	    -replace docker-config/.dockerconfigjson=FILE -host-network -out pod.yaml \
//	    -host-paths paths.txt
//
// -host-paths lists the node directories the pod mounts (its hostPath volumes), one
// per line, for the e2e to check that they do not exist yet and to remove them after.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/imagecred/image-credential-provider/test/harness/internal/deploy"
)

type pairs map[string]string

func (p pairs) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return fmt.Errorf("%q: want NAME=VALUE", s)
	}
	p[k] = v
	return nil
}

func main() {
	dir := flag.String("dir", "examples/deploy", "the example's directory")
	name := flag.String("name", "", "the static pod's name")
	namespace := flag.String("namespace", "", "the static pod's namespace")
	image := flag.String("image", "", "the image the container runs")
	hostNetwork := flag.Bool("host-network", false, "run in the host's network namespace (no pod network)")
	out := flag.String("out", "", "write the manifest here")
	hostPaths := flag.String("host-paths", "", "write the pod's hostPath directories here, one per line")
	volumeDirs := pairs{}
	replace := pairs{}
	flag.Var(volumeDirs, "volume-dir", "VOLUME=DIR: the ConfigMap or Secret volume's files are written to DIR, mounted in its place (repeatable)")
	flag.Var(replace, "replace", "VOLUME/KEY=FILE: the volume's KEY holds FILE's content instead of the example's (repeatable)")
	flag.Parse()
	if err := run(*dir, *name, *namespace, *image, *out, *hostPaths, *hostNetwork, volumeDirs, replace); err != nil {
		fmt.Fprintln(os.Stderr, "daemonset-pod:", err)
		os.Exit(1)
	}
}

func run(dir, name, namespace, image, out, hostPaths string, hostNetwork bool, volumeDirs, replace pairs) error {
	if name == "" || namespace == "" || image == "" || out == "" {
		return fmt.Errorf("-name, -namespace, -image and -out are required")
	}
	m, err := deploy.Load(dir)
	if err != nil {
		return err
	}
	overrides := map[string]map[string][]byte{}
	for vk, file := range replace {
		vol, key, ok := strings.Cut(vk, "/")
		if !ok {
			return fmt.Errorf("-replace %s: want VOLUME/KEY=FILE", vk)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if overrides[vol] == nil {
			overrides[vol] = map[string][]byte{}
		}
		overrides[vol][key] = data
	}
	for vol, d := range volumeDirs {
		if err := m.WriteVolume(vol, d, overrides[vol]); err != nil {
			return err
		}
		delete(overrides, vol)
	}
	for vol := range overrides {
		return fmt.Errorf("-replace names volume %s, which has no -volume-dir", vol)
	}
	pod, err := m.StaticPod(deploy.StaticPodOptions{Name: name, Namespace: namespace, Image: image,
		VolumeDirs: volumeDirs, HostNetwork: hostNetwork})
	if err != nil {
		return err
	}
	y, err := deploy.Marshal(pod)
	if err != nil {
		return err
	}
	if hostPaths != "" {
		var lines strings.Builder
		for _, v := range m.DaemonSet.Spec.Template.Spec.Volumes {
			if v.HostPath != nil {
				lines.WriteString(v.HostPath.Path + "\n")
			}
		}
		if err := os.WriteFile(hostPaths, []byte(lines.String()), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(out, append(y, '\n'), 0o644)
}
