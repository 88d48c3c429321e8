// Package install puts the plugin on a node: its binaries into the kubelet's credential
// provider bin dir, its configuration into place, and its provider into the kubelet's
// CredentialProviderConfig, with matchImages generated from the enabled backends' own
// host tables (internal/backends).
//
// Guarantees:
//   - Nothing is written unless everything is valid: the plugin configuration is loaded
//     as the plugin loads it, and the kubelet configuration that would result is read
//     back and validated as the kubelet reads it, before the first write.
//   - Every file is replaced atomically (a temporary file in the same directory, then a
//     rename): the kubelet, which may run a plugin at any moment, never finds a partial
//     binary or configuration at a final path, even when the installer is killed.
//   - A file whose content is already right is not rewritten, so a second run changes
//     nothing and says so.
//   - An existing kubelet configuration keeps its other providers, unchanged and in
//     their order; this provider replaces its earlier entry where it stands. A YAML
//     file keeps every byte outside this provider's entry (comments, the other
//     providers as written); one whose layout does not allow that (a providers list
//     in flow style, an entry of this provider's with YAML aliases) is written
//     anew, and the report says so. A JSON file, which has no comments, is written
//     anew.
//   - The kubelet is never restarted; the report says whether it uses these files and
//     what to do when it does not.
package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/internal/backends"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/config"
	"github.com/imagecred/image-credential-provider/internal/duration"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
	"github.com/imagecred/image-credential-provider/internal/kubeletproc"
	"github.com/imagecred/image-credential-provider/internal/quote"
)

// DefaultCacheDuration is the provider's defaultCacheDuration unless told otherwise.
// The default paths, for a node whose kubelet does not say, are per platform
// (DefaultBinDir, DefaultKubeletConfig, DefaultConfigDest).
const DefaultCacheDuration = 5 * time.Minute

// Options describe one installation. Paths named "on the node" are as the kubelet sees
// them; Root is prefixed to each for this process to reach them.
type Options struct {
	// Root is the node's root directory as this process sees it ("" for "/"); on
	// Windows, the root of the node's drive (backends.Rooted).
	Root string
	// BinDir and KubeletConfig are the kubelet's --image-credential-provider-bin-dir and
	// --image-credential-provider-config, on the node; empty means the running
	// kubelet's, else DefaultBinDir and DefaultKubeletConfig.
	BinDir, KubeletConfig string
	// Plugin is the plugin's configuration as it will run: the file ConfigSource with
	// PluginArgs applied.
	Plugin *config.Config
	// ConfigSource is the plugin configuration file to install (a path in this
	// process's file system), copied to ConfigDest on the node; "" for none.
	ConfigSource, ConfigDest string
	// PluginArgs are plugin flags ("--backends=static,ecr") passed on to the plugin in
	// the provider's args, after --config.
	PluginArgs []string
	// Files are further files to copy onto the node (mode 0600).
	Files []Copy
	// Name is the provider's name (its binary in the bin dir); default
	// binaries.FrontEnd.
	Name string
	// APIVersion is the request apiVersion; default kubeletconfig.RequestV1.
	APIVersion string
	// DefaultCacheDuration is the provider's defaultCacheDuration; nil means
	// DefaultCacheDuration.
	DefaultCacheDuration *time.Duration
	// MatchImages are patterns added to the generated ones.
	MatchImages []string
	// ServiceAccount, when set, turns on per-pod identity (tokenAttributes).
	ServiceAccount *ServiceAccount
	// DryRun shows what would change and changes nothing.
	DryRun bool
	// SourceDir holds the binaries to install; default the running binary's directory.
	SourceDir string
	// Proc is where processes are listed (default "/proc"; not read on Windows).
	Proc string
}

// Copy is one file copied onto the node.
type Copy struct {
	// Source is a path in this process's file system; Dest a path on the node.
	Source, Dest string
}

// ServiceAccount is the provider's service account token settings.
type ServiceAccount struct {
	Audience  string
	Require   bool
	CacheType string // default kubeletconfig.CacheTypeServiceAccount
}

// change is one file the installation writes.
type change struct {
	dest   string // on the node
	local  string // where this process writes it
	what   string // "binary", "plugin config", ...
	src    string // a file to copy, or
	data   []byte // the content
	perm   os.FileMode
	state  state
	old    []byte // the current content of a text file shown as a diff
	secret bool   // contents never shown
}

// plan is everything an installation would do.
type plan struct {
	o        Options
	changes  []*change
	provider kubeletconfig.Provider
	patterns *backends.Patterns
	kubelet  *kubeletproc.Kubelet
	kubelets int
	// findErr says why no kubelet was read (kubelets is 0).
	findErr error
	notes   []string
	// kubeletConfigFile is the file the provider goes into (on the node).
	kubeletConfigFile string
}

// Run installs as o says and reports to w. It returns an error (one line) when
// anything is invalid or cannot be written; nothing is written then unless the error
// says so.
func Run(o Options, w io.Writer) error {
	p, err := newPlan(o)
	if err != nil {
		return err
	}
	return p.apply(w)
}

func (o *Options) local(nodePath string) string { return backends.Rooted(o.Root, nodePath) }

// checkAbs refuses a path on the node that is not absolute (on Windows: with its
// drive), which the kubelet would take from its own working directory.
func checkAbs(what, path string) error {
	if filepath.IsAbs(path) {
		return nil
	}
	if runtime.GOOS == "windows" {
		return fmt.Errorf("%s%s: a path on the node must be absolute, with its drive (C:\\...)", what, path)
	}
	return fmt.Errorf("%s%s: a path on the node must be absolute", what, path)
}

func newPlan(o Options) (*plan, error) {
	p := &plan{o: o}
	if p.o.Proc == "" {
		p.o.Proc = "/proc"
	}
	if ks, err := kubeletproc.Find(p.o.Proc); err == nil {
		p.kubelets = len(ks)
		if len(ks) == 1 {
			p.kubelet = ks[0]
		}
	} else {
		p.findErr = err
	}
	o = p.o
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir
		if p.kubelet != nil && p.kubelet.BinDir() != "" {
			o.BinDir = p.kubelet.BinDir()
		}
	}
	if o.KubeletConfig == "" {
		o.KubeletConfig = DefaultKubeletConfig
		if p.kubelet != nil && p.kubelet.Config() != "" {
			o.KubeletConfig = p.kubelet.Config()
		}
	}
	if o.ConfigSource != "" && o.ConfigDest == "" {
		o.ConfigDest = DefaultConfigDest
	}
	if o.Name == "" {
		o.Name = binaries.FrontEnd
	}
	if err := checkName(o.Name); err != nil {
		return nil, err
	}
	if o.APIVersion == "" {
		o.APIVersion = kubeletconfig.RequestV1
	}
	if o.Plugin == nil {
		o.Plugin = &config.Config{}
	}
	for _, path := range []string{o.BinDir, o.KubeletConfig, o.ConfigDest} {
		if path != "" {
			if err := checkAbs("", path); err != nil {
				return nil, err
			}
		}
	}
	p.o = o

	if err := p.planBinaries(); err != nil {
		return nil, err
	}
	staged := map[string]string{}
	for _, c := range o.Files {
		if err := checkAbs("--file "+c.Source+":", c.Dest); err != nil {
			return nil, err
		}
		if err := p.planCopy(c.Source, c.Dest, "file", 0o600, true); err != nil {
			return nil, err
		}
		staged[filepath.Clean(c.Dest)] = c.Source
	}
	if o.ConfigSource != "" {
		if err := p.planCopy(o.ConfigSource, o.ConfigDest, "plugin config", 0o644, false); err != nil {
			return nil, err
		}
	}
	if err := p.planProvider(staged); err != nil {
		return nil, err
	}
	if err := p.planKubeletConfig(); err != nil {
		return nil, err
	}
	return p, nil
}

// planBinaries compares every binary of the installation, found beside the running
// one, with what the bin dir holds.
func (p *plan) planBinaries() error {
	src := p.o.SourceDir
	if src == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("cannot find the running binary, beside which the others are: %w", err)
		}
		src = filepath.Dir(self)
	}
	for _, name := range binaries.Installed() {
		file := exe(name)
		from := filepath.Join(src, file)
		fi, err := os.Stat(from)
		if err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is missing: install needs every binary of the release side by side (%s)", from, strings.Join(exeNames(), ", "))
		}
		dest := filepath.Join(p.o.BinDir, file)
		local := p.o.local(dest)
		st, err := compareFile(local, from, 0o755)
		if err != nil {
			return fmt.Errorf("%s: %w", dest, err)
		}
		p.changes = append(p.changes, &change{dest: dest, local: local, what: "binary", src: from, perm: 0o755, state: st})
	}
	if p.o.Name != binaries.FrontEnd {
		// The kubelet runs <bin-dir>/<provider name>: the front end goes there too.
		from := filepath.Join(src, exe(binaries.FrontEnd))
		dest := filepath.Join(p.o.BinDir, exe(p.o.Name))
		local := p.o.local(dest)
		st, err := compareFile(local, from, 0o755)
		if err != nil {
			return fmt.Errorf("%s: %w", dest, err)
		}
		p.changes = append(p.changes, &change{dest: dest, local: local, what: "binary", src: from, perm: 0o755, state: st})
	}
	return nil
}

// checkName refuses provider names that would take another binary's place: the
// companions' (the front end would replace one), and the single-cloud plugins' (their
// binary takes that plugin's arguments, not the ones install writes; to stand in for
// one, link or copy the front end under its name, as the README shows).
func checkName(name string) error {
	for _, n := range binaries.Installed()[1:] {
		if name == n {
			return fmt.Errorf("--name %s: that is the name of one of the plugin's own binaries; choose another", quote.String(name))
		}
	}
	if _, ok := binaries.DropIn(name); ok {
		return fmt.Errorf("--name %s: that name takes the single-cloud plugin's arguments, not the ones install writes; keep the default name, or link the front end under that name by hand to stand in for that plugin", quote.String(name))
	}
	return nil
}

func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

func exeNames() []string {
	var out []string
	for _, n := range binaries.Installed() {
		out = append(out, exe(n))
	}
	return out
}

// planCopy compares a file to copy with what is at dest on the node.
func (p *plan) planCopy(src, dest, what string, perm os.FileMode, secret bool) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	local, err := p.resolve(dest)
	if err != nil {
		return err
	}
	old, exists, err := readIfExists(local)
	if err != nil {
		return fmt.Errorf("%s: %w", dest, err)
	}
	c := &change{dest: dest, local: local, what: what, data: data, perm: perm, old: old, secret: secret}
	switch {
	case !exists:
		c.state = absent
	case bytes.Equal(old, data) && (runtime.GOOS == "windows" || permOf(local, perm) == perm):
		c.state = same
	default:
		c.state = differs
	}
	p.changes = append(p.changes, c)
	return nil
}

// resolve is where this process writes the node's file at path: symbolic links
// followed (on the node: an absolute target is under Root), so that the file they
// point to is replaced, not the link.
func (p *plan) resolve(path string) (string, error) {
	local := p.o.local(path)
	for i := 0; i < 16; i++ {
		fi, err := os.Lstat(local)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return local, nil
		}
		target, err := os.Readlink(local)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			local = p.o.local(target)
		} else {
			local = filepath.Join(filepath.Dir(local), target)
		}
	}
	return "", fmt.Errorf("%s: too many symbolic links", path)
}

// planProvider works out this provider's kubelet configuration.
func (p *plan) planProvider(staged map[string]string) error {
	o := p.o
	node := backends.Node{Root: o.Root, Files: staged}
	if k := p.kubelet; k != nil && k.Env != nil {
		env := k.Env
		node.LookupEnv = func(name string) (string, bool) { return lookup(env, name) }
		node.Home, _ = lookup(env, backends.HomeVar())
		node.Cwd = k.Cwd
	}
	if o.Root != "" {
		// This process's home and working directory are not the kubelet's.
		if node.Home == "" {
			node.Home = kubeletHome
		}
		if node.Cwd == "" {
			node.Cwd = kubeletCwd
		}
	}
	pats, err := backends.MatchImages(o.Plugin, node)
	if err != nil {
		return fmt.Errorf("plugin configuration: %w", err)
	}
	for _, b := range pats.AnyHost {
		p.notes = append(p.notes, fmt.Sprintf("the %s backend answers for any registry host, which no matchImages list can name: add your registries with --match-image", b))
	}
	images := slices.Clone(pats.All)
	for _, m := range o.MatchImages {
		if !slices.Contains(images, m) {
			images = append(images, m)
		}
	}
	if len(images) == 0 {
		return errors.New("the enabled backends serve no registry host (a static backend whose docker config files name none?), so the kubelet would never run the plugin: check --backends and --dockercfg, or add patterns with --match-image")
	}
	d := DefaultCacheDuration
	if o.DefaultCacheDuration != nil {
		d = *o.DefaultCacheDuration
	}
	prov := kubeletconfig.Provider{
		Name:                 o.Name,
		APIVersion:           o.APIVersion,
		MatchImages:          images,
		DefaultCacheDuration: duration.Ptr(d),
	}
	if o.ConfigSource != "" {
		prov.Args = append(prov.Args, "--config="+o.ConfigDest)
	}
	prov.Args = append(prov.Args, o.PluginArgs...)
	if sa := o.ServiceAccount; sa != nil {
		req := sa.Require
		ct := sa.CacheType
		if ct == "" {
			ct = kubeletconfig.CacheTypeServiceAccount
		}
		prov.TokenAttributes = &kubeletconfig.TokenAttributes{
			ServiceAccountTokenAudience:          sa.Audience,
			RequireServiceAccount:                &req,
			CacheType:                            ct,
			OptionalServiceAccountAnnotationKeys: backends.ServiceAccountAnnotations(pats.Backends),
		}
	}
	p.provider = prov
	p.patterns = pats
	return nil
}

// lookup reads name in an environment list (the last setting wins, as for exec).
func lookup(env []string, name string) (string, bool) {
	var val string
	var found bool
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}

// planKubeletConfig merges the provider into the kubelet's configuration and checks
// the result as the kubelet will read it.
func (p *plan) planKubeletConfig() error {
	o := p.o
	local, err := p.resolve(o.KubeletConfig)
	if err != nil {
		return err
	}
	fi, statErr := os.Stat(local)
	var set *kubeletconfig.Set
	var target *kubeletconfig.File
	switch {
	case errors.Is(statErr, os.ErrNotExist):
		set = &kubeletconfig.Set{Path: o.KubeletConfig}
		p.kubeletConfigFile = o.KubeletConfig
	case statErr != nil:
		return fmt.Errorf("kubelet config %s: %w", o.KubeletConfig, statErr)
	default:
		set, err = kubeletconfig.Read(local)
		if err != nil {
			return fmt.Errorf("the kubelet config %s is not valid as it is (fix it, or move it away to start from a new one; nothing was changed): %w", o.KubeletConfig, err)
		}
		if errs := kubeletconfig.Validate(set, p.validation()); len(errs) > 0 {
			return fmt.Errorf("the kubelet config %s is not valid as it is (fix it, or move it away to start from a new one; nothing was changed): %w", o.KubeletConfig, errs)
		}
		p.kubeletConfigFile = o.KubeletConfig
		if fi.IsDir() {
			for _, f := range set.Files {
				if f.Config.Provider(o.Name) != nil {
					target = f
				}
			}
			name := o.Name + ".yaml"
			if target == nil {
				target = &kubeletconfig.File{Path: filepath.Join(local, name), Format: kubeletconfig.YAML}
				set.Files = append(set.Files, target)
				slices.SortFunc(set.Files, func(a, b *kubeletconfig.File) int { return strings.Compare(a.Path, b.Path) })
			}
			p.kubeletConfigFile = filepath.Join(o.KubeletConfig, filepath.Base(target.Path))
		} else {
			target = set.Files[0]
		}
	}
	if target == nil {
		format := kubeletconfig.YAML
		if filepath.Ext(local) == ".json" {
			format = kubeletconfig.JSON
		}
		target = &kubeletconfig.File{Path: local, Format: format}
		set.Files = append(set.Files, target)
	}
	merged, _ := kubeletconfig.Merge(target.Config, p.provider)
	notes := p.notesFor(merged)
	var data []byte
	if target.Data != nil && target.Format == kubeletconfig.YAML {
		// An existing file keeps every byte but our entry's; when its layout does not
		// allow that, it is written anew, and the report says so.
		data, err = kubeletconfig.Edit(target.Data, p.provider, notes.MatchImages[o.Name])
		if err != nil {
			p.notes = append(p.notes, fmt.Sprintf("the kubelet config %s is written anew, without its comments and layout, because %v", p.kubeletConfigFile, err))
			data = nil
		}
	}
	if data == nil {
		data = kubeletconfig.Encode(merged, target.Format, notes)
	}

	// Read back what would be written, as the kubelet will.
	back, err := kubeletconfig.Decode(data)
	if err != nil {
		return fmt.Errorf("internal error: the kubelet config written would not read back: %w", err)
	}
	old := target.Data
	target.Config, target.Data = back, data
	if errs := kubeletconfig.Validate(set, p.validation()); len(errs) > 0 {
		return fmt.Errorf("the kubelet config would not be valid; nothing was changed: %w", errs)
	}
	c := &change{dest: p.kubeletConfigFile, local: target.Path, what: "kubelet config", data: data, perm: permOf(target.Path, 0o644), old: old}
	switch {
	case old == nil:
		c.state = absent
	case bytes.Equal(old, data):
		c.state = same
	default:
		c.state = differs
	}
	p.changes = append(p.changes, c)
	return nil
}

func (p *plan) validation() kubeletconfig.Options {
	var o kubeletconfig.Options
	if p.kubelet != nil {
		if on, set := p.kubelet.FeatureGate("KubeletServiceAccountTokenForCredentialProviders"); set && !on {
			o.NoServiceAccountTokens = true
		}
	}
	return o
}

// notesFor are the comments of the kubelet config: a header, and before the patterns of
// each backend in this provider's matchImages, what they are for.
func (p *plan) notesFor(c *kubeletconfig.Config) *kubeletconfig.Notes {
	n := &kubeletconfig.Notes{
		Header: []string{
			"The kubelet's image credential providers; the kubelet runs with",
			"  --" + kubeletproc.ConfigFlag + "=" + p.o.KubeletConfig,
			"  --" + kubeletproc.BinDirFlag + "=" + p.o.BinDir,
			fmt.Sprintf("The entry %s is written by `%s install`", p.o.Name, binaries.FrontEnd),
			"from the plugin's configuration: run it again rather than editing the entry.",
		},
		MatchImages: map[string]map[int]string{},
	}
	if len(c.Providers) > 1 {
		n.Header = append(n.Header, "Other providers are kept as they are, in their order.")
	}
	at := map[int]string{}
	owner := map[string]string{}
	for _, b := range p.patterns.Backends {
		for _, m := range p.patterns.Of[b] {
			if _, ok := owner[m]; !ok {
				owner[m] = b
			}
		}
	}
	last := ""
	for i, m := range p.provider.MatchImages {
		b, ok := owner[m]
		if !ok {
			b = "extra"
		}
		if b != last {
			if b == "extra" {
				at[i] = "added with --match-image"
			} else {
				at[i] = backends.Describe(b, p.o.Plugin)
			}
			last = b
		}
	}
	n.MatchImages[p.o.Name] = at
	return n
}
