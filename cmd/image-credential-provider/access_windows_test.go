//go:build windows

package main

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows a cache directory and its entries are private by their access list
// (DACL): nobody but the running user, SYSTEM and Administrators may read or change
// them. wine keeps an access list as Unix mode bits: the owner's and Everyone's rights
// survive, other accounts' do not, so the cases here grant Everyone.

// unsafeDirCases are the ways a cache directory can be unsafe here.
func unsafeDirCases() []unsafeDirCase {
	return []unsafeDirCase{
		{"Everyone may write (access list)", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			setLooseDACL(t, dir, true)
		}, "lets Everyone (S-1-1-0) change it"},
	}
}

// Well-known SIDs (winnt.h).
const (
	sidEveryone       = "S-1-1-0"
	sidSystem         = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
	sidOwnerRights    = "S-1-3-4"
	sidCreatorOwner   = "S-1-3-0"
)

// writeRights are the rights that let someone change a file or what a directory holds.
const writeRights = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x40000000 | 0x10000000

// loosen lets Everyone change the cache entry at path.
func loosen(t *testing.T, path string) {
	t.Helper()
	setLooseDACL(t, path, false)
}

// setLooseDACL gives path a protected access list granting full control to the running
// user, SYSTEM and Administrators, and write access to Everyone, then reads it back: a
// file system that does not keep the grant cannot run the case, which is skipped.
func setLooseDACL(t *testing.T, path string, dir bool) {
	t.Helper()
	user := currentUser(t)
	inherit := ""
	if dir {
		inherit = "OICI"
	}
	sddl := "D:P(A;" + inherit + ";FA;;;SY)(A;" + inherit + ";FA;;;BA)(A;" + inherit + ";FA;;;" + user + ")(A;" + inherit + ";FW;;;WD)"
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatalf("setting %s on %s: %v", sddl, path, err)
	}
	for _, a := range allowed(t, path) {
		if a.sid == sidEveryone && a.mask&writeRights != 0 {
			return
		}
	}
	t.Skipf("the file system did not keep Everyone's write access to %s: this case needs real Windows", path)
}

func currentUser(t *testing.T) string {
	t.Helper()
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	return u.User.Sid.String()
}

type grant struct {
	sid  string
	mask uint32
}

// allowed lists the access list's allow entries that apply to path itself.
func allowed(t *testing.T, path string) []grant {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("%s: no access list (%v): everyone may open it", path, err)
	}
	var out []grant
	for i := range uint32(dacl.AceCount) {
		var p *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &p); err != nil {
			t.Fatal(err)
		}
		if p.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || p.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue
		}
		out = append(out, grant{sid: (*windows.SID)(unsafe.Pointer(&p.SidStart)).String(), mask: uint32(p.Mask)})
	}
	return out
}

// checkPrivate fails t unless the access list of path (a cache directory or entry)
// grants nothing to anyone but the running user, SYSTEM and Administrators.
func checkPrivate(t *testing.T, path string) {
	t.Helper()
	user := currentUser(t)
	for _, a := range allowed(t, path) {
		switch a.sid {
		case user, sidSystem, sidAdministrators, sidOwnerRights, sidCreatorOwner:
			continue
		}
		t.Fatalf("%s: its access list grants %s rights %#x", path, a.sid, a.mask)
	}
}
