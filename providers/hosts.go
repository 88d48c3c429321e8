package providers

// Hosts says which image hosts a backend serves, known from its configuration alone:
// no network, no SDK, no credentials. A backend implements it next to its Serves, with
// the same tables, so that the kubelet configuration written from MatchImages (install)
// or checked against it (check) can never disagree with what the backend answers for.
//
// The promise, for every host h that Serves accepts (Image{Host: h}, any path):
//
//   - some pattern of MatchImages matches h by the kubelet's own rules (the keyring's
//     URLsMatchStr, internal/match.Match): one '*' is one DNS label, hosts have the
//     same number of labels, ports are equal, letters are compared case-sensitively;
//   - the patterns reach as little else as those rules allow: a '*' stands for one
//     label only where Serves accepts many values there (an account id, a region, a
//     registry name), never for a fixed word, and a pattern is there only because of
//     hosts Serves accepts.
//
// No pattern can say three things, and each is met the same way by every backend:
//
//   - Letter case. Serves compares DNS names case-insensitively, the kubelet compares
//     patterns case-sensitively. Patterns are lower case and the promise is made for the
//     lower-case spelling of h: an image that spells its registry in capitals reaches
//     no plugin through them (nor through any usual kubelet configuration).
//   - Ports. The kubelet has no wildcard port. A backend that accepts its registries on
//     any port (ACR) lists them without a port and with :443, the port they really
//     listen on, plus every host:port its configuration names; the promise is made for
//     those. Backends that accept a port only where the configuration names it (ECR
//     custom hosts, mirror sources) list that host:port as it is.
//   - Every host. A backend configured to answer for whatever the kubelet sends (the
//     Google backend's docker config sources with dockerConfigAnyHost, as
//     auth-provider-gcp does) cannot be listed: it reports so through ServesAnyHost
//     (see AnyHost), MatchImages lists the registries it serves whatever the
//     configuration, and the kubelet configuration written by hand decides the rest.
type Hosts interface {
	// Serves reports whether the backend issues credentials for the image's registry.
	// It must be cheap and must not touch the network (as Provider.Serves, which it is).
	Serves(img Image) bool
	// MatchImages returns kubelet matchImages patterns that reach every host Serves
	// accepts, as stated above: lower case, without duplicates, the same list at every
	// call.
	MatchImages() []string
}

// AnyHost reports whether h accepts every image host, so that no matchImages list can
// reach all it serves. A Hosts says so by having a method ServesAnyHost() bool that
// returns true.
func AnyHost(h Hosts) bool {
	a, ok := h.(interface{ ServesAnyHost() bool })
	return ok && a.ServesAnyHost()
}
