// Package scenario describes a harness run (the pulls of one kubelet session, with the
// pods, service accounts and pull secrets they use) and the expectations checked on
// each pull.
package scenario

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/imagecred/image-credential-provider/test/harness/internal/kubelet"
)

// Scenario is one kubelet session's worth of pulls.
type Scenario struct {
	Name            string                   `json:"name,omitempty"`
	ServiceAccounts []kubelet.ServiceAccount `json:"serviceAccounts,omitempty"`
	PullSecrets     map[string]PullSecret    `json:"pullSecrets,omitempty"`
	Pulls           []Pull                   `json:"pulls"`
}

// PullSecret is a kubernetes.io/dockerconfigjson secret.
type PullSecret struct {
	Namespace string `json:"namespace,omitempty"`
	// Auths is the "auths" map of the .dockerconfigjson; each entry has "auth" or
	// "username"/"password".
	Auths map[string]map[string]string `json:"auths"`
}

// Pull is one image pull, optionally repeated.
type Pull struct {
	Image       string      `json:"image"`
	Pod         kubelet.Pod `json:"pod,omitempty"`
	PullSecrets []string    `json:"pullSecrets,omitempty"`
	// Repeat pulls the image this many times in a row (default 1); Expect applies to
	// the first, ExpectRepeat (if set) to the others.
	Repeat       int     `json:"repeat,omitempty"`
	Expect       *Expect `json:"expect,omitempty"`
	ExpectRepeat *Expect `json:"expectRepeat,omitempty"`
	// SleepMillis waits before this pull (to let cache entries expire).
	SleepMillis int `json:"sleepMillis,omitempty"`
	// Run is a command (argv) run before this pull, e.g. to break or repair a backend
	// between pulls of one kubelet session. A failing command stops the run.
	Run []string `json:"run,omitempty"`
	// RunAfter is a command (argv) run after each pull; a failure is a failed check
	// (e.g. asking a fake whether the plugin used the expected flow).
	RunAfter []string `json:"runAfter,omitempty"`
}

// Expect lists what must hold after a pull. Unset fields are not checked; with no
// Expect at all, the pull must succeed.
type Expect struct {
	OK            *bool           `json:"ok,omitempty"`
	Execs         *int            `json:"execs,omitempty"`
	CacheHit      *bool           `json:"cacheHit,omitempty"`
	Credentials   *int            `json:"credentials,omitempty"`
	Attempts      *int            `json:"attempts,omitempty"`
	User          *string         `json:"user,omitempty"`
	UsedIndex     *int            `json:"usedIndex,omitempty"`
	Anonymous     *bool           `json:"anonymous,omitempty"`
	TokenRequests *int            `json:"tokenRequests,omitempty"`
	Skipped       *bool           `json:"skipped,omitempty"`
	ErrorContains string          `json:"errorContains,omitempty"`
	Request       *ExpectRequest  `json:"request,omitempty"`
	Response      *ExpectResponse `json:"response,omitempty"`
}

// ExpectRequest checks the request of the pull's first plugin execution.
type ExpectRequest struct {
	APIVersion  string            `json:"apiVersion,omitempty"`
	Image       string            `json:"image,omitempty"`
	HasToken    *bool             `json:"hasToken,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ExpectResponse checks the response of the pull's first plugin execution.
type ExpectResponse struct {
	APIVersion   string   `json:"apiVersion,omitempty"`
	CacheKeyType string   `json:"cacheKeyType,omitempty"`
	AuthKeys     []string `json:"authKeys,omitempty"`
}

// Load reads a scenario (YAML or JSON). ${NAME} in the file is replaced by vars[NAME]
// (the fakes' addresses, for example); an unknown ${NAME} is an error.
func Load(path string, vars map[string]string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text, err := Expand(string(data), vars)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	var s Scenario
	if err := yaml.UnmarshalStrict([]byte(text), &s); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	if len(s.Pulls) == 0 {
		return nil, fmt.Errorf("scenario %s: no pulls", path)
	}
	return &s, nil
}

// Expand replaces ${NAME} by vars[NAME].
func Expand(text string, vars map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		j := strings.Index(text[i:], "}")
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ at %q", text[i:min(len(text), i+20)])
		}
		key := text[i+2 : i+j]
		v, ok := vars[key]
		if !ok {
			known := make([]string, 0, len(vars))
			for k := range vars {
				known = append(known, k)
			}
			sort.Strings(known)
			return "", fmt.Errorf("unknown variable ${%s} (known: %s)", key, strings.Join(known, ", "))
		}
		b.WriteString(text[:i])
		b.WriteString(v)
		text = text[i+j+1:]
	}
}

// Secrets returns the pull's secrets as the kubelet would receive them.
func (s *Scenario) Secrets(names []string, namespace string) ([]corev1.Secret, error) {
	var out []corev1.Secret
	for _, n := range names {
		ps, ok := s.PullSecrets[n]
		if !ok {
			return nil, fmt.Errorf("pull secret %q is not defined", n)
		}
		ns := ps.Namespace
		if ns == "" {
			ns = namespace
		}
		doc := map[string]any{"auths": ps.Auths}
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n, UID: types.UID("uid-secret-" + n)},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: raw},
		})
	}
	return out, nil
}

// BasicAuth returns the base64 "auth" value of a docker config entry.
func BasicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
