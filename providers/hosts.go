package providers

// Hosts says which image hosts a backend serves, known from its configuration alone:
// no network, no SDK, no credentials. A backend implements it next to its Serves, from
// the same tables, so that a kubelet configuration written from MatchImages (install)
// or checked against it (check) cannot disagree with what the backend answers for.
//
// The promise, for every host h that Serves accepts (Image{Host: h}, whatever the path):
//
//   - some pattern of MatchImages sends an image on h to the plugin by the kubelet's
//     own rules (the keyring's URLsMatchStr, internal/match.Match): a '*' matches
//     within one DNS label, pattern and host have the same number of labels, the ports
//     are equal (no port matches no port only), letters are compared as they are;
//   - the patterns reach as little else as those rules allow: a '*' stands where Serves
//     accepts many values (an account id, a region, a registry name), never for a
//     fixed word, and a pattern is listed only because of hosts Serves accepts. What a
//     '*' cannot say is left to Serves ("*.dkr.ecr.*.amazonaws.com" also reaches a
//     China region or an 11-digit account, which the ECR backend refuses).
//
// Three things no pattern can say, met the same way by every backend:
//
//   - Letter case. Serves compares DNS names case-insensitively, the kubelet compares
//     patterns case-sensitively. Patterns are lower case and the promise is made for the
//     lower-case spelling of h; an image that spells its registry in capitals reaches
//     no plugin through them.
//   - Ports. The kubelet has no wildcard port. A backend that accepts its registries on
//     any port (ACR) lists them without a port and with :443, the port they listen on,
//     plus every host:port its configuration names; the promise is made for those
//     ports. The other backends accept a port only where it is listed (GCR's :443, ECR
//     custom hosts, ACR mirror sources).
//   - Every host. A backend configured to answer for whatever host the kubelet sends
//     (the Google backend's docker config sources with dockerConfigAnyHost, as
//     auth-provider-gcp does) cannot be listed: it says so with a method
//     ServesAnyHost() bool (see AnyHost), MatchImages lists the registries it serves
//     whatever the configuration, and a kubelet configuration written by hand decides
//     the rest.
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
