package cache

import "fmt"

// The Windows counterpart of "mode 0700 / 0600, owned by the running user" is an
// access list (DACL) that grants nobody but trusted accounts any right to read or
// change the file. This part decides it, over a plain description of the entries, so
// that it is tested on every platform; file_windows.go reads the real lists.

// ace is one entry of a Windows access list, as the check sees it.
type ace struct {
	kind        aceKind
	inheritOnly bool   // applies to what is created inside a directory, not to it
	mask        uint32 // the rights it grants or denies
	sid         string // whom it is for, S-1-...; "" when the entry's layout hides it
}

type aceKind int

const (
	aceAllow   aceKind = iota // grants mask
	aceDeny                   // takes mask away; never makes a list looser
	aceUnknown                // a type the check does not know: assumed to grant
)

// Access rights (winnt.h) that let someone read a file's content or list a directory.
const (
	rightReadData    = 0x00000001 // FILE_READ_DATA, FILE_LIST_DIRECTORY
	rightGenericRead = 0x80000000
	rightGenericAll  = 0x10000000
	readRights       = rightReadData | rightGenericRead | rightGenericAll
)

// Access rights that let someone change a file, its attributes or its access list, or
// add, remove or rename what a directory holds.
const (
	rightWriteData       = 0x00000002 // FILE_WRITE_DATA, FILE_ADD_FILE
	rightAppendData      = 0x00000004 // FILE_APPEND_DATA, FILE_ADD_SUBDIRECTORY
	rightWriteEA         = 0x00000010
	rightDeleteChild     = 0x00000040
	rightWriteAttributes = 0x00000100
	rightDelete          = 0x00010000
	rightWriteDAC        = 0x00040000
	rightWriteOwner      = 0x00080000
	rightGenericWrite    = 0x40000000
	writeRights          = rightWriteData | rightAppendData | rightWriteEA | rightDeleteChild | rightWriteAttributes |
		rightDelete | rightWriteDAC | rightWriteOwner | rightGenericWrite | rightGenericAll
)

// Well-known SIDs.
const (
	sidSystem         = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
	sidOwnerRights    = "S-1-3-4" // the owner, whoever it is (the owner is checked first)
	sidCreatorOwner   = "S-1-3-0" // only a placeholder in inheritable entries
)

// sidNames names the SIDs a loose list usually grants, for the operator reading the
// error.
var sidNames = map[string]string{
	"S-1-1-0":      "Everyone",
	"S-1-5-11":     "Authenticated Users",
	"S-1-5-32-545": "Users",
	"S-1-5-32-546": "Guests",
	"S-1-5-4":      "INTERACTIVE",
	"S-1-5-7":      "ANONYMOUS LOGON",
}

// trustedOwner reports whether sid may own the cache directory and its files: the
// running user, SYSTEM or Administrators (Windows makes Administrators the owner of
// what an elevated administrator creates). All of them can read the cache anyway.
func trustedOwner(sid, user string) bool {
	return sid == user || sid == sidSystem || sid == sidAdministrators
}

// trustedGrantee reports whether an allow entry for sid keeps the file private.
func trustedGrantee(sid, user string) bool {
	return trustedOwner(sid, user) || sid == sidOwnerRights || sid == sidCreatorOwner
}

// looseACL says why a file with this owner and access list is not private to user,
// or "" when it is: an owner outside trustedOwner, no access list (everyone may do
// anything), or an entry that lets anyone else read or change it. Entries that only
// apply to what is created inside a directory are skipped: the cache creates its files
// with their own list, and every file it reads is checked by itself.
func looseACL(owner string, present bool, dacl []ace, user string) string {
	if !trustedOwner(owner, user) {
		return fmt.Sprintf("owned by %s, not by the running user (%s), SYSTEM or Administrators", sidName(owner), user)
	}
	if !present {
		return "it has no access list, so everyone may read and change it"
	}
	for _, a := range dacl {
		if a.kind == aceDeny || a.inheritOnly || trustedGrantee(a.sid, user) {
			continue
		}
		who := sidName(a.sid)
		if a.kind == aceUnknown {
			who = "an access entry of a kind not understood here"
			if a.mask&(readRights|writeRights) == 0 {
				continue
			}
		}
		switch {
		case a.mask&writeRights != 0:
			return fmt.Sprintf("its access list lets %s change it (rights %#x)", who, a.mask)
		case a.mask&readRights != 0:
			return fmt.Sprintf("its access list lets %s read it (rights %#x)", who, a.mask)
		}
	}
	return ""
}

func sidName(sid string) string {
	if sid == "" {
		return "an unknown account"
	}
	if n, ok := sidNames[sid]; ok {
		return n + " (" + sid + ")"
	}
	return sid
}

// privateSDDL is the security descriptor the cache creates its directory (dir set) and
// files with, in SDDL: a protected access list (nothing inherited from the parent)
// granting full control to SYSTEM, Administrators and user, inherited by what is
// created in the directory.
func privateSDDL(user string, dir bool) string {
	inherit := ""
	if dir {
		inherit = "OICI"
	}
	sddl := "D:P(A;" + inherit + ";FA;;;" + sidSystem + ")(A;" + inherit + ";FA;;;" + sidAdministrators + ")"
	if user != sidSystem && user != sidAdministrators {
		sddl += "(A;" + inherit + ";FA;;;" + user + ")"
	}
	return sddl
}
