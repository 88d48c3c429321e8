package cache

import (
	"strings"
	"testing"
)

const testUser = "S-1-5-21-1-2-3-1001"

// The Windows privacy rule, on every platform: a file or directory is private when a
// trusted account owns it and no access entry lets anyone else read or change it.
func TestLooseACL(t *testing.T) {
	full := uint32(0x1f01ff) // FILE_ALL_ACCESS
	allow := func(sid string, mask uint32) ace { return ace{kind: aceAllow, sid: sid, mask: mask} }
	private := []ace{allow(sidSystem, full), allow(sidAdministrators, full), allow(testUser, full)}
	with := func(more ...ace) []ace { return append(append([]ace{}, private...), more...) }
	tests := []struct {
		name    string
		owner   string
		present bool
		dacl    []ace
		want    string // "" = private; else a part of the reason
	}{
		{"the cache's own list", testUser, true, private, ""},
		{"owned by SYSTEM", sidSystem, true, private, ""},
		{"owned by Administrators", sidAdministrators, true, private, ""},
		{"owner rights and creator owner", testUser, true, with(allow(sidOwnerRights, full), allow(sidCreatorOwner, full)), ""},
		{"empty list: nobody", testUser, true, nil, ""},
		{"owned by another user", "S-1-5-21-1-2-3-1002", true, private, "owned by S-1-5-21-1-2-3-1002, not by the running user"},
		{"owned by Users", "S-1-5-32-545", true, private, "owned by Users (S-1-5-32-545)"},
		{"no list at all", testUser, false, nil, "no access list"},
		{"Everyone may write", testUser, true, with(allow("S-1-1-0", rightWriteData)), "lets Everyone (S-1-1-0) change it"},
		{"Everyone full control", testUser, true, with(allow("S-1-1-0", full)), "lets Everyone (S-1-1-0) change it"},
		{"Users may read", testUser, true, with(allow("S-1-5-32-545", 0x1200a9)), "lets Users (S-1-5-32-545) read it"},
		{"Authenticated Users generic read", testUser, true, with(allow("S-1-5-11", rightGenericRead)), "lets Authenticated Users (S-1-5-11) read it"},
		{"another user generic all", testUser, true, with(allow("S-1-5-21-1-2-3-1002", rightGenericAll)), "lets S-1-5-21-1-2-3-1002 change it"},
		{"others may change the list", testUser, true, with(allow("S-1-5-32-545", rightWriteDAC)), "change it"},
		{"others may take ownership", testUser, true, with(allow("S-1-5-32-545", rightWriteOwner)), "change it"},
		{"others may delete", testUser, true, with(allow("S-1-5-32-545", rightDelete)), "change it"},
		{"others may add files to the directory", testUser, true, with(allow("S-1-5-32-545", rightAppendData)), "change it"},
		{"others may delete children", testUser, true, with(allow("S-1-5-32-545", rightDeleteChild)), "change it"},
		{"others may change attributes", testUser, true, with(allow("S-1-5-32-545", rightWriteAttributes)), "change it"},
		{"others may only see attributes and sync", testUser, true, with(allow("S-1-1-0", 0x100080)), ""},
		{"others may traverse", testUser, true, with(allow("S-1-1-0", 0x20)), ""},
		{"deny entries never loosen", testUser, true, with(ace{kind: aceDeny, sid: "S-1-1-0", mask: full}), ""},
		{"inherit-only entries are for children", testUser, true, with(ace{kind: aceAllow, sid: "S-1-1-0", mask: full, inheritOnly: true}), ""},
		{"unknown entry granting read", testUser, true, with(ace{kind: aceUnknown, mask: rightReadData}), "not understood"},
		{"unknown entry granting nothing that matters", testUser, true, with(ace{kind: aceUnknown, mask: 0x100000}), ""},
		{"allow entry with a hidden SID", testUser, true, with(allow("", rightWriteData)), "an unknown account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := looseACL(tt.owner, tt.present, tt.dacl, testUser)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("looseACL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrivateSDDL(t *testing.T) {
	tests := []struct {
		user string
		dir  bool
		want string
	}{
		{testUser, false, "D:P(A;;FA;;;S-1-5-18)(A;;FA;;;S-1-5-32-544)(A;;FA;;;" + testUser + ")"},
		{testUser, true, "D:P(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)(A;OICI;FA;;;" + testUser + ")"},
		{sidSystem, false, "D:P(A;;FA;;;S-1-5-18)(A;;FA;;;S-1-5-32-544)"},
		{sidAdministrators, true, "D:P(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)"},
	}
	for _, tt := range tests {
		if got := privateSDDL(tt.user, tt.dir); got != tt.want {
			t.Errorf("privateSDDL(%s, dir=%v) = %s, want %s", tt.user, tt.dir, got, tt.want)
		}
	}
}
