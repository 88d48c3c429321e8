package dockercfg

// InputFiles lists the docker config files the static backend's answers depend on,
// present or not: the configured files, else every file of the kubelet's search (a
// file appearing earlier in the search changes which one is read). home and cwd are
// the user's home and the working directory.
func (c Config) InputFiles(home, cwd string) []string {
	if len(c.Files) > 0 {
		return append([]string(nil), c.Files...)
	}
	root := c.KubeletRootDir
	if root == "" {
		root = DefaultKubeletRootDir
	}
	return DefaultSearchPaths(root, cwd, home)
}
