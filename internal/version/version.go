// Package version tells which build of the plugin is running: its release version, the
// commit it was built from, when that commit was made, and the Go toolchain and platform.
//
// A release build (make release) sets the version, commit and date with the linker:
//
//	-ldflags "-X github.com/imagecred/image-credential-provider/internal/version.version=v1.2.3
//	          -X github.com/imagecred/image-credential-provider/internal/version.commit=<sha>
//	          -X github.com/imagecred/image-credential-provider/internal/version.date=<RFC 3339>"
//
// Any other build reports what the Go toolchain recorded in the binary: the module version
// for `go install .../cmd/...@v1.2.3`, the revision and commit time for a build from a git
// checkout. What is known nowhere stays empty; nothing is invented.
//
// It imports only runtime, runtime/debug and strings, so the lightest front end can link
// it, and it does no work at start-up: the build information is read when Get is called.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the release build through -ldflags -X; empty otherwise. Nothing else writes them.
var (
	version string
	commit  string
	date    string
)

// Info describes one build. Empty fields are unknown.
type Info struct {
	// Version is the release version (v1.2.3), the module version of a `go install ...@v`
	// build, or empty for a development build.
	Version string
	// Commit is the full git commit the binary was built from.
	Commit string
	// Modified is true when the build came from a checkout with uncommitted changes.
	Modified bool
	// Date is the commit's time in RFC 3339, UTC: never the time of the build, so that
	// two builds of one commit are identical.
	Date string
	// GoVersion is the toolchain that built the binary, e.g. go1.26.8.
	GoVersion string
	// Platform is GOOS/GOARCH, e.g. linux/arm64.
	Platform string
}

// Get returns this binary's build description.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(version, commit, date, bi)
}

// get combines the linker-set values with the build info; the former win field by field.
func get(version, commit, date string, bi *debug.BuildInfo) Info {
	i := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return i
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	if i.Version == "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	if commit != "" {
		// The release build names its commit; build-info VCS fields, if any, describe the
		// same checkout and add nothing.
		return i
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			if i.Date == "" {
				i.Date = s.Value
			}
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the one line `version` prints, starting with the program's name:
//
//	image-credential-provider v1.2.3 (commit 0123abcd..., 2025-06-01T12:00:00Z) go1.26.8 linux/amd64
//
// A development build says "devel" where the version would be; unknown commit and date
// are left out.
func (i Info) String(program string) string {
	var b strings.Builder
	b.WriteString(program)
	b.WriteByte(' ')
	if i.Version != "" {
		b.WriteString(i.Version)
	} else {
		b.WriteString("devel")
	}
	var src []string
	if i.Commit != "" {
		c := "commit " + i.Commit
		if i.Modified {
			c += " with uncommitted changes"
		}
		src = append(src, c)
	}
	if i.Date != "" {
		src = append(src, i.Date)
	}
	if len(src) > 0 {
		b.WriteString(" (" + strings.Join(src, ", ") + ")")
	}
	b.WriteString(" " + i.GoVersion + " " + i.Platform)
	return b.String()
}

// Line is Get().String(program): what every binary's `version` command prints.
func Line(program string) string {
	return Get().String(program)
}
