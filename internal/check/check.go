// Package check answers "what will the kubelet do on this node?" for its credential
// providers, in the order the kubelet does it, one finding per line with a verdict:
//
//  1. its CredentialProviderConfig, decoded and validated as the kubelet does
//     (internal/kubeletconfig), each error with its file and field path;
//  2. each provider's binary in the bin dir, executable by the kubelet's user;
//  3. for this plugin's providers: their args and env give a valid plugin
//     configuration, and their matchImages reach every host family the enabled
//     backends serve, name none they do not, and are not shadowed by another provider;
//  4. for each image (or one per enabled backend): the providers the kubelet's matching
//     sends it to, and this plugin run exactly as the kubelet runs it, with what it
//     answers (passwords masked).
//
// It reads and runs; it writes nothing and restarts nothing.
package check

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/internal/backends"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/handoff"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
	"github.com/imagecred/image-credential-provider/internal/kubeletproc"
	"github.com/imagecred/image-credential-provider/internal/quote"
	"github.com/imagecred/image-credential-provider/providers"
)

// Verdict is how a finding ends.
type Verdict string

// The verdicts: ok, worth a look, and what breaks pulls or the kubelet.
const (
	OK   Verdict = "ok"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// The steps, in order.
const (
	StepKubelet = "kubelet"
	StepConfig  = "config"
	StepBinary  = "binary"
	StepPlugin  = "plugin"
	StepMatch   = "matchImages"
	StepImage   = "image"
)

// Finding is one line of the report.
type Finding struct {
	Verdict Verdict `json:"verdict"`
	Step    string  `json:"step"`
	// Subject is what it is about: a file, a provider, an image.
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
	// Details are further lines (an image's answer).
	Details []string `json:"details,omitempty"`
	// Image is the run of the plugin for an image, for machines.
	Image *ImageRun `json:"image,omitempty"`
}

// Options say what to check.
type Options struct {
	// KubeletConfig and BinDir are the kubelet's two flags; empty means the running
	// kubelet's.
	KubeletConfig, BinDir string
	// Images to try; none means one for each enabled backend.
	Images []string
	// Proc is where processes are listed (default "/proc").
	Proc string
	// Timeout bounds each plugin run; default the kubelet's one minute.
	Timeout time.Duration
	// ParseArgs reads a provider's args as the plugin reads them in kubelet mode.
	ParseArgs func(args []string) (*config.Config, error)
	// Backends builds the token backends, to name the identity each uses; nil for none.
	Backends map[string]func(*config.Config) (providers.Provider, error)
}

// Report is the result of a check.
type Report struct {
	KubeletConfig string    `json:"kubeletConfig,omitempty"`
	BinDir        string    `json:"binDir,omitempty"`
	KubeletPID    int       `json:"kubeletPID,omitempty"`
	Findings      []Finding `json:"findings"`
}

// Failed counts the failures.
func (r *Report) Failed() int { return r.count(Fail) }

func (r *Report) count(v Verdict) int {
	n := 0
	for _, f := range r.Findings {
		if f.Verdict == v {
			n++
		}
	}
	return n
}

// run is one check in progress.
type run struct {
	o       Options
	r       *Report
	kubelet *kubeletproc.Kubelet
	set     *kubeletconfig.Set
	// bins are the providers' binaries that the kubelet can run, by provider name.
	bins map[string]string
	// ours are this plugin's providers, with their configurations.
	ours []*ours
}

// ours is one provider that runs this plugin.
type ours struct {
	p        kubeletconfig.Located
	bin      string
	version  string
	cfg      *config.Config
	env      []string
	patterns *backends.Patterns
}

func (c *run) add(v Verdict, step, subject, format string, args ...any) *Finding {
	c.r.Findings = append(c.r.Findings, Finding{Verdict: v, Step: step, Subject: subject, Message: fmt.Sprintf(format, args...)})
	return &c.r.Findings[len(c.r.Findings)-1]
}

// Run checks as o says.
func Run(o Options) *Report {
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	c := &run{o: o, r: &Report{}, bins: map[string]string{}}
	if !c.locate() {
		return c.r
	}
	c.readConfig()
	c.checkBinaries()
	c.checkOurs()
	c.checkImages()
	return c.r
}

// locate settles which files are checked, from the options or the running kubelet.
func (c *run) locate() bool {
	ks, err := kubeletproc.Find(c.o.Proc)
	switch {
	case err == nil && len(ks) == 1:
		c.kubelet = ks[0]
		c.r.KubeletPID = ks[0].PID
	case err == nil:
		pids := make([]string, len(ks))
		for i, k := range ks {
			pids[i] = fmt.Sprint(k.PID)
		}
		c.add(Warn, StepKubelet, "", "%d kubelets are running (pids %s): none is taken as the one checked", len(ks), strings.Join(pids, ", "))
	}
	cfg, bin := c.o.KubeletConfig, c.o.BinDir
	if k := c.kubelet; k != nil {
		kc, kb := k.Config(), k.BinDir()
		switch {
		case kc == "" && cfg == "":
			c.add(Fail, StepKubelet, fmt.Sprintf("pid %d", k.PID), "the running kubelet has no --%s: it runs no credential provider", kubeletproc.ConfigFlag)
			return false
		case cfg == "":
			cfg = kc
		case kc != "" && filepath.Clean(kc) != filepath.Clean(cfg):
			c.add(Warn, StepKubelet, fmt.Sprintf("pid %d", k.PID), "the running kubelet reads %s, not %s", kc, cfg)
		case kc == "":
			c.add(Warn, StepKubelet, fmt.Sprintf("pid %d", k.PID), "the running kubelet has no --%s: it does not read %s", kubeletproc.ConfigFlag, cfg)
		}
		switch {
		case kb == "" && bin == "" && kc != "":
			c.add(Fail, StepKubelet, fmt.Sprintf("pid %d", k.PID), "the running kubelet has --%s but no --%s: it fails to start with them", kubeletproc.ConfigFlag, kubeletproc.BinDirFlag)
		case bin == "":
			bin = kb
		case kb != "" && filepath.Clean(kb) != filepath.Clean(bin):
			c.add(Warn, StepKubelet, fmt.Sprintf("pid %d", k.PID), "the running kubelet runs plugins from %s, not %s", kb, bin)
		}
		if kc != "" && filepath.Clean(kc) == filepath.Clean(cfg) {
			c.add(OK, StepKubelet, fmt.Sprintf("pid %d", k.PID), "the running kubelet reads %s and runs plugins from %s (it reads the configuration at start only)", cfg, orNone(bin))
		}
	}
	unread := errors.Is(err, kubeletproc.ErrUnsupported)
	if cfg == "" {
		if unread {
			c.add(Fail, StepKubelet, "", "no --kubelet-config given, and %v: give --kubelet-config and --bin-dir", err)
		} else {
			c.add(Fail, StepKubelet, "", "no --kubelet-config given, and no running kubelet to take it from")
		}
		return false
	}
	if unread {
		c.add(Warn, StepKubelet, "", "%v: check that the kubelet runs with --%s=%s --%s=%s, which are the files checked", err, kubeletproc.ConfigFlag, cfg, kubeletproc.BinDirFlag, orNone(bin))
	}
	c.r.KubeletConfig, c.r.BinDir = cfg, bin
	return true
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// readConfig is step 1.
func (c *run) readConfig() {
	set, err := kubeletconfig.Read(c.r.KubeletConfig)
	if set == nil {
		c.add(Fail, StepConfig, c.r.KubeletConfig, "cannot read it: %v; the kubelet fails to start", err)
		return
	}
	c.set = set
	var errs kubeletconfig.Errors
	if err != nil {
		errors.As(err, &errs)
	} else {
		// Validated once every file decodes: the kubelet stops at the first that does not.
		errs = kubeletconfig.Validate(set, c.validation())
	}
	for _, e := range errs {
		c.add(Fail, StepConfig, e.File, "%s", strings.TrimPrefix(e.Error(), e.File+": "))
	}
	if len(errs) > 0 {
		c.add(Fail, StepConfig, c.r.KubeletConfig, "the kubelet refuses this configuration (%s above): it fails to start", plural(len(errs), "error"))
		return
	}
	var names []string
	for _, p := range set.Providers() {
		names = append(names, p.Name)
	}
	what := c.r.KubeletConfig
	if set.Dir {
		what = fmt.Sprintf("%s (%d files)", what, len(set.Files))
	}
	c.add(OK, StepConfig, what, "%s (%s), valid as the kubelet reads them", plural(len(names), "provider"), strings.Join(names, ", "))
}

func (c *run) validation() kubeletconfig.Options {
	var o kubeletconfig.Options
	if c.kubelet != nil {
		if on, set := c.kubelet.FeatureGate("KubeletServiceAccountTokenForCredentialProviders"); set && !on {
			o.NoServiceAccountTokens = true
		}
	}
	return o
}

// checkBinaries is step 2.
func (c *run) checkBinaries() {
	if c.set == nil {
		return
	}
	bin := c.r.BinDir
	if bin == "" {
		c.add(Fail, StepBinary, "", "no --bin-dir given and none known from the running kubelet: cannot check the binaries")
		return
	}
	if fi, err := os.Stat(bin); err != nil || !fi.IsDir() {
		c.add(Fail, StepBinary, bin, "the bin dir does not exist or is not a directory: the kubelet fails to start")
		return
	}
	uid, gids, who := c.identity()
	for _, p := range c.set.Providers() {
		if strings.ContainsAny(p.Name, "/ ") || p.Name == "" || p.Name == "." || p.Name == ".." {
			continue // refused in step 1
		}
		path, err := lookPath(filepath.Join(bin, p.Name))
		if err != nil {
			c.add(Fail, StepBinary, p.Name, "%s: %v: the kubelet fails to start", filepath.Join(bin, p.Name), err)
			continue
		}
		if err := canExec(path, uid, gids); err != nil {
			c.add(Fail, StepBinary, p.Name, "%s is not executable by %s: %v", path, who, err)
			continue
		}
		c.bins[p.Name] = path
		c.add(OK, StepBinary, p.Name, "%s, executable by %s", path, who)
	}
}

// identity is who the kubelet runs plugins as: its own user, else this process's. On
// Windows, where a program runs by its extension, no user is checked.
func (c *run) identity() (uid int, gids []int, who string) {
	if runtime.GOOS == "windows" {
		return -1, nil, "the kubelet (Windows runs a program by its extension)"
	}
	if k := c.kubelet; k != nil && k.UID >= 0 {
		return k.UID, k.GIDs, fmt.Sprintf("the kubelet's user (uid %d)", k.UID)
	}
	uid = os.Getuid()
	gids, _ = os.Getgroups()
	gids = append([]int{os.Getgid()}, gids...)
	return uid, gids, fmt.Sprintf("this user (uid %d; the kubelet's is unknown)", uid)
}

// lookPath finds the plugin binary as the kubelet does (exec.LookPath, which adds
// ".exe" and the like on Windows). On Windows a file of that very name that is no
// program is returned, for canExec to say why it does not run.
func lookPath(path string) (string, error) {
	if runtime.GOOS == "windows" {
		found, err := exec.LookPath(path)
		if err == nil {
			return found, nil
		}
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() {
			return path, nil
		}
		if errors.Is(err, exec.ErrNotFound) {
			return "", errors.New("missing (with each extension of PATHEXT too)")
		}
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errors.New("missing")
		}
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	return path, nil
}

// pluginEnv is the environment the kubelet gives a provider's plugin: its own, then
// the provider's env. Without the kubelet's, this process's stands in.
func (c *run) pluginEnv(p *kubeletconfig.Provider) []string {
	var env []string
	if c.kubelet != nil && c.kubelet.Env != nil {
		env = append(env, c.kubelet.Env...)
	} else {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, handoff.HandedOverBy+"=") {
				env = append(env, kv)
			}
		}
	}
	for _, e := range p.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

// workDir is the plugin's working directory: the kubelet's.
func (c *run) workDir() string {
	if c.kubelet != nil && c.kubelet.Cwd != "" {
		if fi, err := os.Stat(c.kubelet.Cwd); err == nil && fi.IsDir() {
			return c.kubelet.Cwd
		}
	}
	return ""
}

// q quotes user input for messages.
func q(s string) string { return quote.String(s) }
