//go:build unix

package filestate

import (
	"io/fs"
	"strconv"
	"syscall"
)

// owner is the file's owner and group, which decide who else may change it.
func owner(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "?"
	}
	return strconv.FormatUint(uint64(st.Uid), 10) + ":" + strconv.FormatUint(uint64(st.Gid), 10)
}
