package install

// Defaults for a Windows node whose kubelet does not say: the bin dir under the
// kubelet's default --root-dir (C:\var\lib\kubelet, where AKS puts its plugin too), the
// configurations in C:\etc\kubernetes, where kubeadm keeps a Windows node's.
const (
	DefaultBinDir        = `C:\var\lib\kubelet\credential-provider`
	DefaultKubeletConfig = `C:\etc\kubernetes\credential-provider-config.yaml`
	DefaultConfigDest    = `C:\etc\kubernetes\image-credential-provider.yaml`
)

// The kubelet's home and working directory, taken when installing under --root
// without a running kubelet to read them from: a Windows service's, which runs as
// SYSTEM (its profile directory) and starts in the system directory.
const (
	kubeletHome = `C:\Windows\System32\config\systemprofile`
	kubeletCwd  = `C:\Windows\System32`
)
