package gcrtoken

import (
	"strings"

	"github.com/imagecred/image-credential-provider/providers"
)

// workloadHint says what to change after workload identity federation failed with
// err for the service account of sa: the pool provider that refused the pod's
// token, or the IAM binding that lets the pod impersonate a Google service account.
func workloadHint(plan *wiPlan, sa *providers.ServiceAccount, err error) string {
	msg := err.Error()
	switch {
	case plan.impersonate != "" && (strings.Contains(msg, "PERMISSION_DENIED") || strings.Contains(msg, "status code 403")):
		return "; " + podPrincipal(plan.audience, sa) + " needs roles/iam.workloadIdentityUser on " + plan.impersonate +
			" (or name another service account in the iam.gke.io/gcp-service-account annotation)"
	case strings.Contains(msg, "invalid_grant"), strings.Contains(msg, "invalid_target"):
		return "; the workload identity provider " + plan.audience + " does not accept the pod's token: check that it trusts the cluster's OIDC issuer and the audience of the kubelet's service account tokens, and its attribute conditions"
	}
	return ""
}

// podPrincipal names the pod's federated identity as IAM bindings name it.
func podPrincipal(audience string, sa *providers.ServiceAccount) string {
	ns, name := "NAMESPACE", "NAME"
	if sa != nil && sa.Namespace != "" && sa.Name != "" {
		ns, name = sa.Namespace, sa.Name
	}
	// identitynamespace:PROJECT.svc.id.goog:PROVIDER (GKE)
	if rest, ok := strings.CutPrefix(audience, "identitynamespace:"); ok {
		pool, _, _ := strings.Cut(rest, ":")
		return "serviceAccount:" + pool + "[" + ns + "/" + name + "]"
	}
	// //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/providers/P
	if rest, ok := strings.CutPrefix(audience, "//iam.googleapis.com/"); ok {
		if i := strings.Index(rest, "/providers/"); i >= 0 {
			return "principal://iam.googleapis.com/" + rest[:i] + "/subject/system:serviceaccount:" + ns + ":" + name
		}
	}
	return "the pod's federated identity (system:serviceaccount:" + ns + ":" + name + ")"
}
