//go:build windows

package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func me(t testing.TB) identity {
	t.Helper()
	id, err := currentIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// setDACL replaces the access list of path with the one in sddl (protected: nothing
// inherited).
func setDACL(t *testing.T, path, sddl string) {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatalf("%s: %v", sddl, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatalf("setting %s on %s: %v", sddl, path, err)
	}
}

// setLooseDACL sets sddl on path, which grants sid some of rights, and reads it back:
// a file system that does not keep that grant cannot run the case, which is skipped
// with the reason. (wine keeps an access list as Unix mode bits: the owner's and
// Everyone's rights survive, other accounts' do not.)
func setLooseDACL(t *testing.T, path, sddl, sid string, rights uint32) {
	t.Helper()
	setDACL(t, path, sddl)
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if dacl, _, err := sd.DACL(); err == nil && dacl != nil {
		for _, a := range aceList(dacl) {
			if a.kind == aceAllow && !a.inheritOnly && a.sid == sid && a.mask&rights != 0 {
				return
			}
		}
	}
	t.Skipf("the file system did not keep a grant to %s (set %s, read back %v): this case needs real Windows", sid, sddl, sd)
}

// privateWith is the cache's own file access list plus extra entries (SDDL).
func privateWith(t *testing.T, extra string) string {
	return privateSDDL(me(t).user, false) + extra
}

// checkPrivate fails t unless path is owned by a trusted account, grants the running
// user full control, and lets nobody else read or change it, as read back from the
// file system.
func checkPrivate(t *testing.T, path string) {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	id := me(t)
	if why := id.loose(sd); why != "" {
		t.Fatalf("%s is not private (%s): %v", path, why, sd)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("%s: no access list: %v", path, err)
	}
	for _, a := range aceList(dacl) {
		if a.kind == aceAllow && a.sid == id.user && !a.inheritOnly && a.mask&0x1f01ff == 0x1f01ff {
			return
		}
	}
	t.Fatalf("%s: the running user lacks full control: %v", path, sd)
}

// checkPrivateFile fails t unless path is a regular, private file.
func checkPrivateFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("entry not replaced by a good file: %v %v", fi, err)
	}
	checkPrivate(t, path)
}

// platformTamperCases are the ways to loosen an entry that Windows has: access lists.
func platformTamperCases() []struct {
	name   string
	tamper func(t *testing.T, s *Store, path string)
} {
	return []struct {
		name   string
		tamper func(t *testing.T, s *Store, path string)
	}{
		{"Everyone may write (access list)", func(t *testing.T, s *Store, path string) {
			setLooseDACL(t, path, privateWith(t, "(A;;FW;;;WD)"), "S-1-1-0", writeRights)
		}},
		{"Everyone has full control (access list)", func(t *testing.T, s *Store, path string) {
			setLooseDACL(t, path, privateWith(t, "(A;;FA;;;WD)"), "S-1-1-0", writeRights)
		}},
		{"Users may read (access list)", func(t *testing.T, s *Store, path string) {
			setLooseDACL(t, path, privateWith(t, "(A;;FR;;;BU)"), "S-1-5-32-545", readRights)
		}},
		{"Authenticated Users may write (access list)", func(t *testing.T, s *Store, path string) {
			setLooseDACL(t, path, privateWith(t, "(A;;FW;;;AU)"), "S-1-5-11", writeRights)
		}},
	}
}

// The checks of the directory, on Windows: created private, refused when its access
// list lets others in.
func TestOpenDirRules(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) // dir does not exist yet
		wantErr string                         // "" = accepted
		unsafe  bool
	}{
		{"missing dir and parents are created", func(t *testing.T, dir string) {}, "", false},
		{"a dir the cache made earlier", func(t *testing.T, dir string) {
			if _, err := Open(dir, Options{}); err != nil {
				t.Fatal(err)
			}
		}, "", false},
		{"Everyone may write", func(t *testing.T, dir string) {
			mkdirAll(t, dir)
			setLooseDACL(t, dir, privateSDDL(me(t).user, true)+"(A;OICI;FW;;;WD)", "S-1-1-0", writeRights)
		}, "lets Everyone (S-1-1-0) change it", true},
		{"Everyone has full control", func(t *testing.T, dir string) {
			mkdirAll(t, dir)
			setLooseDACL(t, dir, privateSDDL(me(t).user, true)+"(A;OICI;FA;;;WD)", "S-1-1-0", writeRights)
		}, "lets Everyone (S-1-1-0) change it", true},
		{"Users may list it", func(t *testing.T, dir string) {
			mkdirAll(t, dir)
			setLooseDACL(t, dir, privateSDDL(me(t).user, true)+"(A;;FR;;;BU)", "S-1-5-32-545", readRights)
		}, "Users (S-1-5-32-545)", true},
		{"Authenticated Users may add files", func(t *testing.T, dir string) {
			mkdirAll(t, dir)
			setLooseDACL(t, dir, privateSDDL(me(t).user, true)+"(A;;0x100002;;;AU)", "S-1-5-11", writeRights)
		}, "Authenticated Users (S-1-5-11)", true},
		{"regular file", func(t *testing.T, dir string) {
			mkdirAll(t, filepath.Dir(dir))
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a directory", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "parent", "cache")
			tt.setup(t, dir)
			s, err := Open(dir, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if fi, err := os.Lstat(s.Dir()); err != nil || !fi.IsDir() {
					t.Fatalf("dir %v %v", fi, err)
				}
				checkPrivate(t, s.Dir())
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Open: %v, want an error naming %s with %q", err, dir, tt.wantErr)
			}
			if errors.Is(err, ErrUnsafeDir) != tt.unsafe {
				t.Fatalf("errors.Is(%v, ErrUnsafeDir) = %v", err, !tt.unsafe)
			}
		})
	}
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func mkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", `C:\somewhere\xdg`)
	if d, err := DefaultDir(); err != nil || d != `C:\somewhere\xdg\image-credential-provider` {
		t.Errorf("with XDG_CACHE_HOME: %q %v", d, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("LOCALAPPDATA", `C:\Users\someone\AppData\Local`)
	t.Setenv("ProgramData", `D:\ProgramData`)
	tests := []struct {
		system bool
		want   string
	}{
		{false, `C:\Users\someone\AppData\Local\image-credential-provider`},
		{true, `D:\ProgramData\image-credential-provider\cache`},
	}
	for _, tt := range tests {
		if d, err := defaultDirFor(tt.system); err != nil || d != tt.want {
			t.Errorf("defaultDirFor(system=%v) = %q %v, want %q", tt.system, d, err, tt.want)
		}
	}
	if d, err := DefaultDir(); err != nil || (d != tests[0].want && d != tests[1].want) {
		t.Errorf("DefaultDir() = %q %v", d, err)
	}
	t.Setenv("ProgramData", "")
	if d, err := defaultDirFor(true); err != nil || !filepath.IsAbs(d) || !strings.HasSuffix(d, `\image-credential-provider\cache`) {
		t.Errorf("without %%ProgramData%%: %q %v", d, err)
	}
}

// The access lists of real security descriptors, as Windows encodes them, go through
// aceList and looseACL as intended.
func TestSecurityDescriptorsRead(t *testing.T) {
	user := me(t).user
	tests := []struct {
		name string
		sddl string
		want string // "" = private
	}{
		{"the cache's file list", "O:" + user + privateSDDL(user, false), ""},
		{"the cache's directory list", "O:" + user + privateSDDL(user, true), ""},
		{"owned by SYSTEM", "O:SY" + privateSDDL(user, false), ""},
		{"owned by Administrators", "O:BA" + privateSDDL(user, false), ""},
		{"owned by Users", "O:BU" + privateSDDL(user, false), "owned by Users"},
		{"Everyone may write", "O:" + user + privateSDDL(user, false) + "(A;;FW;;;WD)", "lets Everyone (S-1-1-0) change it"},
		{"Authenticated Users may read", "O:" + user + privateSDDL(user, false) + "(A;;FR;;;AU)", "lets Authenticated Users (S-1-5-11) read it"},
		{"Users generic read", "O:" + user + privateSDDL(user, false) + "(A;;GR;;;BU)", "lets Users (S-1-5-32-545) read it"},
		{"denied to Everyone", "O:" + user + "D:P(D;;FA;;;WD)(A;;FA;;;" + user + ")", ""},
		{"inherit-only grant", "O:" + user + "D:P(A;OICIIO;FA;;;WD)(A;;FA;;;" + user + ")", ""},
		{"no access list", "O:" + user, "no access list"},
	}
	id := me(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := windows.SecurityDescriptorFromString(tt.sddl)
			if err != nil {
				t.Fatalf("%s: %v", tt.sddl, err)
			}
			got := id.loose(sd)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("loose(%s) = %q, want %q", tt.sddl, got, tt.want)
			}
		})
	}
	// A NULL access list (no restriction at all), built directly: SDDL's
	// NO_ACCESS_CONTROL is not parsed alike everywhere (wine gives an empty list).
	t.Run("NULL access list", func(t *testing.T) {
		sd, err := windows.NewSecurityDescriptor()
		if err != nil {
			t.Fatal(err)
		}
		owner, err := windows.StringToSid(user)
		if err != nil {
			t.Fatal(err)
		}
		if err := sd.SetOwner(owner, false); err != nil {
			t.Fatal(err)
		}
		if err := sd.SetDACL(nil, true, false); err != nil {
			t.Fatal(err)
		}
		if got := id.loose(sd); !strings.Contains(got, "no access list") {
			t.Fatalf("loose(NULL access list) = %q", got)
		}
	})
}

// The descriptors the cache creates with are valid for Windows and say exactly what
// privateSDDL says.
func TestPrivateDescriptors(t *testing.T) {
	id := me(t)
	for _, dir := range []bool{false, true} {
		get := id.fileSD
		if dir {
			get = id.dirSD
		}
		sd, err := get()
		if err != nil {
			t.Fatal(err)
		}
		// Windows writes the well-known SIDs by their SDDL aliases.
		want := strings.NewReplacer(sidSystem, "SY", sidAdministrators, "BA").Replace(privateSDDL(id.user, dir))
		if got := sd.String(); got != want {
			t.Errorf("dir=%v: %s, want %s", dir, got, want)
		}
		ctl, _, err := sd.Control()
		if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
			t.Errorf("dir=%v: access list not protected (%#x %v)", dir, ctl, err)
		}
	}
}

// The FILE_RENAME_INFO that renameByHandle builds is the one Windows reads: checked
// with the class every Windows (and wine) has; the POSIX class takes the same layout.
func TestRenameByHandle(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from-a-longer-name"), filepath.Join(dir, "to")
	for _, f := range []struct{ path, data string }{{from, "new"}, {to, "old"}} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h, err := windows.CreateFile(windows.StringToUTF16Ptr(from), windows.DELETE|windows.SYNCHRONIZE, shareAll, nil,
		windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = renameByHandle(h, windows.FileRenameInfo, 1, to)
	windows.CloseHandle(h)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(to); err != nil || string(b) != "new" {
		t.Fatalf("%s holds %q %v after the rename", to, b, err)
	}
	if _, err := os.Lstat(from); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s still there: %v", from, err)
	}
}
