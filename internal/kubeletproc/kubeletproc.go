// Package kubeletproc finds the kubelet running on this machine and reads, from its
// process (/proc on Linux), what install and check need to know about it: its
// credential provider flags, the user it runs as, its environment and its working
// directory, which the plugins it runs inherit. It only reads; it never signals or
// restarts anything. On Windows, which has no /proc, the running kubelet is not read:
// Find says so (ErrUnsupported), and install and check ask for the kubelet's flags.
package kubeletproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// The kubelet's two credential provider flags.
const (
	ConfigFlag = "image-credential-provider-config"
	BinDirFlag = "image-credential-provider-bin-dir"
)

// Kubelet is one running kubelet.
type Kubelet struct {
	PID int
	// Args is its command line, argv[0] first.
	Args []string
	// UID and GIDs (primary group first, then the supplementary groups) are the
	// identity it accesses files with; UID is -1 when unknown.
	UID  int
	GIDs []int
	// Env is its environment; nil when it cannot be read (another user's process).
	Env []string
	// Cwd is its working directory; empty when it cannot be read.
	Cwd string
}

// Config is the value of --image-credential-provider-config, or "".
func (k *Kubelet) Config() string { v, _ := Flag(k.Args[1:], ConfigFlag); return v }

// BinDir is the value of --image-credential-provider-bin-dir, or "".
func (k *Kubelet) BinDir() string { v, _ := Flag(k.Args[1:], BinDirFlag); return v }

// FeatureGates is the value of --feature-gates, or "".
func (k *Kubelet) FeatureGates() string { v, _ := Flag(k.Args[1:], "feature-gates"); return v }

// FeatureGate reports the setting of gate in --feature-gates, and whether it is set
// there at all (the kubelet's config file may set it too; that is not read).
func (k *Kubelet) FeatureGate(gate string) (on, set bool) {
	for _, kv := range strings.Split(k.FeatureGates(), ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && name == gate {
			b, err := strconv.ParseBool(val)
			return b && err == nil, err == nil
		}
	}
	return false, false
}

// ErrNotFound is returned when no kubelet process is visible.
var ErrNotFound = errors.New("no running kubelet found")

// ErrUnsupported is returned where the running kubelet cannot be read: on Windows.
var ErrUnsupported = errors.New("the running kubelet's command line is not read on Windows (`sc.exe qc kubelet` shows it)")

// Find returns the kubelets visible under proc (normally "/proc"), by process id. A
// process is a kubelet when its argv[0] is named kubelet (or kubelet.exe), or it is
// "hyperkube kubelet". None visible is ErrNotFound (in a container, the host's
// processes are visible only with hostPID). On Windows it is ErrUnsupported, whatever
// proc holds.
func Find(proc string) ([]*Kubelet, error) {
	if runtime.GOOS == "windows" {
		return nil, ErrUnsupported
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", ErrNotFound, proc, err)
	}
	var out []*Kubelet
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		dir := filepath.Join(proc, e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
		if !isKubelet(args) {
			continue
		}
		if filepath.Base(args[0]) == "hyperkube" {
			args = args[1:]
		}
		k := &Kubelet{PID: pid, Args: args, UID: -1}
		k.UID, k.GIDs = ids(filepath.Join(dir, "status"))
		if env, err := os.ReadFile(filepath.Join(dir, "environ")); err == nil {
			k.Env = strings.Split(strings.TrimSuffix(string(env), "\x00"), "\x00")
			if len(env) == 0 {
				k.Env = []string{}
			}
		}
		k.Cwd, _ = os.Readlink(filepath.Join(dir, "cwd"))
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

func isKubelet(args []string) bool {
	switch name := filepath.Base(args[0]); name {
	case "kubelet", "kubelet.exe":
		return true
	case "hyperkube":
		return len(args) > 1 && args[1] == "kubelet"
	}
	return false
}

// ids reads the file-system user and the groups of a process from its status file.
func ids(status string) (uid int, gids []int) {
	uid = -1
	data, err := os.ReadFile(status)
	if err != nil {
		return uid, nil
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		key, val, ok := strings.Cut(string(line), ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		switch key {
		case "Uid":
			if len(f) == 4 { // real, effective, saved, file system
				uid, _ = strconv.Atoi(f[3])
			}
		case "Gid":
			if len(f) == 4 {
				g, _ := strconv.Atoi(f[3])
				gids = append([]int{g}, gids...)
			}
		case "Groups":
			for _, s := range f {
				if g, err := strconv.Atoi(s); err == nil {
					gids = append(gids, g)
				}
			}
		}
	}
	return uid, gids
}

// Flag returns the value of the long flag name in args as the kubelet's flag parser
// reads it ("--name=value" or "--name value"; the last one wins), and whether it is
// there. Arguments after "--" are not flags.
func Flag(args []string, name string) (string, bool) {
	var val string
	var found bool
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "--") {
			continue
		}
		n, v, hasVal := strings.Cut(a[2:], "=")
		if n != name {
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				break
			}
			i++
			v = args[i]
		}
		val, found = v, true
	}
	return val, found
}
