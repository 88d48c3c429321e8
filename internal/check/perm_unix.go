//go:build unix

package check

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
)

// canExec reports whether a process of user uid in groups gids may execute path (after
// symbolic links): root needs one execute bit, others the bit of the owner, the group
// or everyone, whichever applies to them.
func canExec(path string, uid int, gids []int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		if fi.Mode().Perm()&0o111 == 0 {
			return errors.New("no execute permission")
		}
		return nil
	}
	mode := fi.Mode().Perm()
	var bit os.FileMode
	switch {
	case uid == 0:
		if mode&0o111 == 0 {
			return fmt.Errorf("mode %04o has no execute bit", mode)
		}
		return nil
	case int(st.Uid) == uid:
		bit = 0o100
	case slices.Contains(gids, int(st.Gid)):
		bit = 0o010
	default:
		bit = 0o001
	}
	if mode&bit == 0 {
		return fmt.Errorf("mode %04o, owner uid %d gid %d", mode, st.Uid, st.Gid)
	}
	return nil
}
