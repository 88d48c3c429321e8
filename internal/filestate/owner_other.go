//go:build !unix

package filestate

import "io/fs"

// owner is empty where files have no Unix owner: on Windows the content and the
// attribute bits are what the state holds.
func owner(fs.FileInfo) string { return "" }
