package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

const (
	sha  = "0123456789abcdef0123456789abcdef01234567"
	sha2 = "fedcba9876543210fedcba9876543210fedcba98"
)

func buildInfo(mainVersion string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/imagecred/image-credential-provider", Version: mainVersion}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

func TestGet(t *testing.T) {
	plat := runtime.GOOS + "/" + runtime.GOARCH
	for _, c := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"release build: linker values win over build info",
			"v1.2.3", sha, "2025-06-01T12:00:00Z",
			buildInfo("(devel)", "vcs.revision", sha2, "vcs.time", "2020-01-01T00:00:00Z", "vcs.modified", "true"),
			Info{Version: "v1.2.3", Commit: sha, Date: "2025-06-01T12:00:00Z", GoVersion: "go1.99.1", Platform: plat}},
		{"go install module@v1.2.3: the module version, no VCS",
			"", "", "", buildInfo("v1.2.3"),
			Info{Version: "v1.2.3", GoVersion: "go1.99.1", Platform: plat}},
		{"checkout build: revision, commit time, modified",
			"", "", "", buildInfo("v0.0.0-20250601120000-0123456789ab+dirty", "vcs", "git", "vcs.revision", sha, "vcs.time", "2025-06-01T12:00:00Z", "vcs.modified", "true"),
			Info{Version: "v0.0.0-20250601120000-0123456789ab+dirty", Commit: sha, Modified: true, Date: "2025-06-01T12:00:00Z", GoVersion: "go1.99.1", Platform: plat}},
		{"checkout build without VCS stamping: nothing known",
			"", "", "", buildInfo("(devel)"),
			Info{GoVersion: "go1.99.1", Platform: plat}},
		{"version alone from the linker: VCS fills commit and date",
			"v1.2.3", "", "", buildInfo("(devel)", "vcs.revision", sha, "vcs.time", "2025-06-01T12:00:00Z", "vcs.modified", "false"),
			Info{Version: "v1.2.3", Commit: sha, Date: "2025-06-01T12:00:00Z", GoVersion: "go1.99.1", Platform: plat}},
		{"no build info: the runtime's Go version",
			"", "", "", nil,
			Info{GoVersion: runtime.Version(), Platform: plat}},
	} {
		if got := get(c.version, c.commit, c.date, c.bi); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct {
		info Info
		want string
	}{
		{Info{Version: "v1.2.3", Commit: sha, Date: "2025-06-01T12:00:00Z", GoVersion: "go1.26.8", Platform: "linux/arm64"},
			"prog v1.2.3 (commit " + sha + ", 2025-06-01T12:00:00Z) go1.26.8 linux/arm64"},
		{Info{Commit: sha, Modified: true, Date: "2025-06-01T12:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			"prog devel (commit " + sha + " with uncommitted changes, 2025-06-01T12:00:00Z) go1.26.8 linux/amd64"},
		{Info{Version: "v1.2.3", GoVersion: "go1.26.8", Platform: "windows/amd64"},
			"prog v1.2.3 go1.26.8 windows/amd64"},
		{Info{GoVersion: "go1.26.8", Platform: "linux/amd64"},
			"prog devel go1.26.8 linux/amd64"},
	} {
		if got := c.info.String("prog"); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.info, got, c.want)
		}
	}
}

// The two ways a real binary learns its version: the release build's -ldflags -X, and the
// Go toolchain's VCS stamping of a checkout build.
func TestBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	gover := runtime.Version()
	plat := runtime.GOOS + "/" + runtime.GOARCH
	pkg := "github.com/imagecred/image-credential-provider/internal/version"
	dir := t.TempDir()

	t.Run("release ldflags", func(t *testing.T) {
		ldflags := "-X " + pkg + ".version=v9.8.7 -X " + pkg + ".commit=" + sha + " -X " + pkg + ".date=2025-06-01T12:00:00Z"
		out := buildAndRun(t, ".", filepath.Join(dir, "rel"), "-buildvcs=false", "-ldflags="+ldflags, "./testdata/printversion")
		want := "printversion v9.8.7 (commit " + sha + ", 2025-06-01T12:00:00Z) " + gover + " " + plat
		if out != want {
			t.Errorf("got  %q\nwant %q", out, want)
		}
	})

	t.Run("plain build, no VCS", func(t *testing.T) {
		out := buildAndRun(t, ".", filepath.Join(dir, "plain"), "-buildvcs=false", "./testdata/printversion")
		if want := "printversion devel " + gover + " " + plat; out != want {
			t.Errorf("got  %q\nwant %q", out, want)
		}
	})

	t.Run("checkout build, VCS stamped", func(t *testing.T) {
		if _, err := exec.LookPath("git"); err != nil {
			t.Skip("no git")
		}
		// A throwaway module in a fresh git repository holding a copy of this package, with
		// a commit at a known time, then an uncommitted change.
		mod := t.TempDir()
		write(t, filepath.Join(mod, "go.mod"), "module example.test/m\n\ngo 1.22\n")
		src, err := os.ReadFile("version.go")
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(mod, "version", "version.go"), string(src))
		write(t, filepath.Join(mod, "main.go"), "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.test/m/version\"\n)\n\nfunc main() { fmt.Println(version.Line(\"m\")) }\n")
		env := []string{"GIT_AUTHOR_DATE=2025-06-01T12:00:00Z", "GIT_COMMITTER_DATE=2025-06-01T12:00:00Z",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.test", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.test"}
		git := func(args ...string) string {
			cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
			cmd.Dir, cmd.Env = mod, append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		git("init", "-q")
		git("add", ".")
		git("commit", "-q", "-m", "x")
		rev := git("rev-parse", "HEAD")

		out := buildAndRun(t, mod, filepath.Join(dir, "vcs"), "-buildvcs=true", ".")
		if want := "(commit " + rev + ", 2025-06-01T12:00:00Z) " + gover + " " + plat; !strings.HasSuffix(out, want) || !strings.HasPrefix(out, "m ") {
			t.Errorf("clean checkout: got %q, want m <version> %s", out, want)
		}
		write(t, filepath.Join(mod, "extra.go"), "package main\n")
		out = buildAndRun(t, mod, filepath.Join(dir, "vcs-dirty"), "-buildvcs=true", ".")
		if want := "(commit " + rev + " with uncommitted changes, 2025-06-01T12:00:00Z)"; !strings.Contains(out, want) {
			t.Errorf("modified checkout: got %q, want it to contain %q", out, want)
		}
	})
}

func buildAndRun(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build", "-o", bin}, args...)...)
	cmd.Dir = dir
	// GOFLAGS may carry -buildvcs or -mod from the caller's environment; the cases set their own.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, out)
	}
	// ICP_TEST_EXEC, when set, is the emulator that runs binaries of the platform
	// under test (test/platforms.sh).
	argv := append(strings.Fields(os.Getenv("ICP_TEST_EXEC")), bin)
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
