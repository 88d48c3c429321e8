//go:build !windows

package install

// Defaults for a node whose kubelet does not say.
const (
	DefaultBinDir        = "/usr/local/lib/kubelet-credential-providers"
	DefaultKubeletConfig = "/etc/kubernetes/credential-provider-config.yaml"
	DefaultConfigDest    = "/etc/kubernetes/image-credential-provider.yaml"
)

// The kubelet's home and working directory, taken when installing under --root
// without a running kubelet to read them from: root's, as a system service.
const (
	kubeletHome = "/root"
	kubeletCwd  = "/"
)
