package check

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/internal/backends"
	"github.com/imagecred/image-credential-provider/internal/binaries"
	"github.com/imagecred/image-credential-provider/internal/kubeletconfig"
)

// versionTimeout bounds `<plugin> version`.
const versionTimeout = 10 * time.Second

// checkOurs is step 3: which providers run this plugin, whether their args and env
// make a valid configuration, and whether their matchImages fit what it serves.
func (c *run) checkOurs() {
	if c.set == nil {
		return
	}
	for _, p := range c.set.Providers() {
		path, ok := c.bins[p.Name]
		if !ok {
			continue
		}
		env := c.pluginEnv(p.Provider)
		v, ok := ourVersion(path, env, c.workDir())
		if !ok {
			continue
		}
		o := &ours{p: p, bin: path, version: v, env: env}
		c.ours = append(c.ours, o)
		cfg, err := c.o.ParseArgs(p.Args)
		if err != nil {
			c.add(Fail, StepPlugin, p.Name, "%s; its args %q do not make a valid configuration: %v", v, p.Args, oneLine(err.Error()))
			continue
		}
		node := backends.Node{LookupEnv: func(name string) (string, bool) { return lookup(env, name) }, Cwd: c.workDir()}
		node.Home, _ = lookup(env, backends.HomeVar())
		pats, err := backends.MatchImages(cfg, node)
		if err != nil {
			c.add(Fail, StepPlugin, p.Name, "%s; its configuration is not valid: %v", v, oneLine(err.Error()))
			continue
		}
		o.cfg, o.patterns = cfg, pats
		where := "no configuration file"
		if cfg.Path != "" {
			where = "configuration " + cfg.Path
		}
		c.add(OK, StepPlugin, p.Name, "%s; %s; backends %s", v, where, strings.Join(pats.Backends, ", "))
		c.lint(o)
	}
	if len(c.ours) == 0 && len(c.set.Providers()) > 0 {
		c.add(Warn, StepPlugin, "", "no provider runs %s (a provider is recognised by its binary's `version`)", binaries.FrontEnd)
	}
}

// ourVersion runs `<path> version` and reports whether it is this plugin, and its
// version line.
func ourVersion(path string, env []string, dir string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), versionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdin = bytes.NewReader(nil)
	out, err := cmd.Output()
	if err != nil {
		return "", false
	}
	line, _, _ := strings.Cut(string(out), "\n")
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], binaries.FrontEnd) || !strings.HasPrefix(f[len(f)-2], "go") || !strings.Contains(f[len(f)-1], "/") {
		return "", false
	}
	return line, true
}

// lint is step 3's matchImages part for one of this plugin's providers.
func (c *run) lint(o *ours) {
	mine := o.p.MatchImages
	pats := o.patterns
	name := o.p.Name
	missing := 0
	for _, b := range pats.Backends {
		for _, fam := range pats.Of[b] {
			reached := false
			for _, m := range mine {
				if covers(m, fam) {
					reached = true
					break
				}
			}
			if reached {
				continue
			}
			missing++
			partly := false
			for _, m := range mine {
				if overlaps(m, fam) {
					partly = true
				}
			}
			how := "no matchImages pattern reaches it: the kubelet never runs the plugin for those images"
			if partly {
				how = "the matchImages patterns reach only part of it: the kubelet runs the plugin for those images only"
			}
			f := c.add(Warn, StepMatch, name, "%s serves %s, and %s", b, fam, how)
			if e := backends.ExampleHost(fam, pats.Hosts[b]); e != "" {
				f.Details = append(f.Details, "e.g. "+e)
			}
		}
	}
	for _, b := range pats.AnyHost {
		c.add(OK, StepMatch, name, "%s answers for any registry host: the patterns alone decide which images reach it", b)
	}
	unserved := 0
	if len(pats.AnyHost) == 0 {
		for i, m := range mine {
			served := false
			for _, b := range pats.Backends {
				for _, fam := range pats.Of[b] {
					served = served || overlaps(m, fam)
				}
			}
			if !served {
				unserved++
				c.add(Warn, StepMatch, name, "matchImages[%d] %s: no enabled backend serves these hosts; the plugin answers them with no credentials", i, q(m))
			}
		}
	}
	// Other providers listed before this one that match the same images: the kubelet
	// tries their credentials first.
	for _, other := range c.set.Providers() {
		if other.Provider == o.p.Provider {
			break
		}
		for _, m := range mine {
			hit := ""
			for _, om := range other.MatchImages {
				if overlaps(om, m) {
					hit = om
					break
				}
			}
			if hit != "" {
				c.add(Warn, StepMatch, name, "provider %s, listed before it, matches %s too (its pattern %s): the kubelet runs both for those images and, for the same registry, tries %s's credentials first", other.Name, q(m), q(hit), other.Name)
			}
		}
	}
	if missing == 0 && unserved == 0 {
		c.add(OK, StepMatch, name, "%d patterns reach every host family the enabled backends serve, and only those", len(mine))
	}
}

// lookup reads name in an environment list; the last setting wins, as for exec.
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

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// isOurs reports whether the located provider runs this plugin.
func (c *run) isOurs(p *kubeletconfig.Provider) *ours {
	for _, o := range c.ours {
		if o.p.Provider == p {
			return o
		}
	}
	return nil
}
