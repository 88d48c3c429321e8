package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagecred/image-credential-provider/internal/kubeletproc"
	"github.com/imagecred/image-credential-provider/internal/udiff"
)

// apply writes the plan's changes (or, in a dry run, shows them) and reports.
func (p *plan) apply(w io.Writer) error {
	o := p.o
	fmt.Fprintf(w, "bin dir:        %s%s\n", o.BinDir, p.origin(o.BinDir, kubeletproc.BinDirFlag))
	fmt.Fprintf(w, "kubelet config: %s%s\n", p.kubeletConfigFile, p.origin(o.KubeletConfig, kubeletproc.ConfigFlag))
	if o.Root != "" {
		fmt.Fprintf(w, "node root:      %s\n", o.Root)
	}
	var written, unchanged int
	var kubeletConfigChanged, binariesChanged bool
	for _, c := range p.changes {
		if c.state == same {
			unchanged++
			fmt.Fprintf(w, "unchanged  %s\n", c.dest)
			continue
		}
		verb := map[state]string{absent: "new", differs: "changed"}[c.state]
		if o.DryRun {
			fmt.Fprintf(w, "would write %s (%s %s)\n", c.dest, c.what, verb)
			if c.src == "" && !c.secret {
				fmt.Fprint(w, indent(udiff.Diff(c.dest, c.dest+" (after install)", c.old, c.data)))
			}
			if c.secret {
				fmt.Fprintf(w, "  (contents not shown: it may hold secrets)\n")
			}
		} else {
			if err := c.write(); err != nil {
				return fmt.Errorf("writing %s: %w (written before it: %s)", c.dest, err, p.done(c))
			}
			fmt.Fprintf(w, "wrote      %s (%s %s)\n", c.dest, c.what, verb)
		}
		written++
		switch c.what {
		case "kubelet config":
			kubeletConfigChanged = true
		case "binary":
			binariesChanged = true
		}
	}
	for _, n := range p.notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	switch {
	case written == 0:
		fmt.Fprintf(w, "nothing to change: all %d files are already installed\n", unchanged)
	case o.DryRun:
		fmt.Fprintf(w, "dry run: %s would be written, %d unchanged; nothing was written\n", files(written), unchanged)
	default:
		fmt.Fprintf(w, "installed: %s written, %d unchanged\n", files(written), unchanged)
	}
	p.reportKubelet(w, kubeletConfigChanged, binariesChanged)
	return nil
}

// done lists the changes written before c.
func (p *plan) done(c *change) string {
	var out []string
	for _, d := range p.changes {
		if d == c {
			break
		}
		if d.state != same {
			out = append(out, d.dest)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return fmt.Sprint(out)
}

// origin says where a default came from.
func (p *plan) origin(value, flag string) string {
	if p.kubelet != nil && value != "" && (p.flagValue(flag) == value) {
		return "  (the running kubelet's --" + flag + ")"
	}
	return ""
}

func (p *plan) flagValue(flag string) string {
	if p.kubelet == nil {
		return ""
	}
	v, _ := kubeletproc.Flag(p.kubelet.Args[1:], flag)
	return v
}

// reportKubelet says whether the running kubelet uses these files, and what to do.
func (p *plan) reportKubelet(w io.Writer, configChanged, binariesChanged bool) {
	o := p.o
	flags := fmt.Sprintf("--%s=%s --%s=%s", kubeletproc.ConfigFlag, o.KubeletConfig, kubeletproc.BinDirFlag, o.BinDir)
	switch {
	case p.kubelets == 0 && errors.Is(p.findErr, kubeletproc.ErrUnsupported):
		fmt.Fprintf(w, "kubelet: %v; it needs the flags\n  %s\n", p.findErr, flags)
		return
	case p.kubelets == 0:
		fmt.Fprintf(w, "kubelet: no running kubelet found (in a container, the host's processes are visible with hostPID: true); it needs the flags\n  %s\n", flags)
		return
	case p.kubelets > 1:
		fmt.Fprintf(w, "kubelet: %d kubelets are running here; each needs the flags\n  %s\n", p.kubelets, flags)
		return
	}
	k := p.kubelet
	cfg, bin := k.Config(), k.BinDir()
	if samePath(cfg, o.KubeletConfig) && samePath(bin, o.BinDir) {
		fmt.Fprintf(w, "kubelet: the running kubelet (pid %d) uses these files", k.PID)
		switch {
		case configChanged && o.DryRun:
			fmt.Fprint(w, "; it reads its credential provider configuration at start only, so the new one would apply once it restarts (install never restarts it)")
		case configChanged:
			fmt.Fprint(w, "; it reads its credential provider configuration at start only: restart it to apply the new one (install never restarts it)")
		case binariesChanged:
			fmt.Fprint(w, "; it runs the new binaries from its next pull")
		}
		fmt.Fprintln(w)
		return
	}
	now := "without the credential provider flags"
	if cfg != "" || bin != "" {
		now = fmt.Sprintf("with --%s=%s --%s=%s", kubeletproc.ConfigFlag, orNone(cfg), kubeletproc.BinDirFlag, orNone(bin))
	}
	fmt.Fprintf(w, "kubelet: the running kubelet (pid %d) does not use these files: it runs %s; to use them, restart it with\n  %s\n", k.PID, now, flags)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func samePath(a, b string) bool {
	return a != "" && filepath.Clean(a) == filepath.Clean(b)
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	var b bytes.Buffer
	for _, l := range bytes.SplitAfter([]byte(s), []byte("\n")) {
		if len(l) > 0 {
			b.WriteString("  ")
			b.Write(l)
		}
	}
	return b.String()
}

// write puts the change in place, atomically.
func (c *change) write() error {
	if c.src == "" {
		return writeFile(c.local, bytes.NewReader(c.data), c.perm)
	}
	f, err := os.Open(c.src)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFile(c.local, f, c.perm)
}

func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
