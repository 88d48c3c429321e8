// Package kubelet drives the real kubelet credential-provider code (k8s.io/kubernetes
// v1.37.1): RegisterCredentialProviderPlugins on a CredentialProviderConfig and bin dir,
// then, per image, the keyring lookup the kubelet's image manager does
// (pkg/kubelet/images/image_manager.go makeLookupPullCredentialsFunc), with the kubelet's
// image-name normalization. Nothing of the kubelet is re-implemented here: the session
// only supplies what the kubelet would get from the API server (service accounts and
// TokenRequests, as fakes) and observes what happened (plugin executions through the
// shim, klog events, TokenRequests).
//
// The kubelet code keeps registered providers in package-level state, so there is one
// Session per process.
package kubelet

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/credentialprovider"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
	credentialprovidersecrets "k8s.io/kubernetes/pkg/credentialprovider/secrets"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/pkg/util/parsers"

	"github.com/imagecred/image-credential-provider/test/harness/internal/mask"
	"github.com/imagecred/image-credential-provider/test/harness/internal/satoken"
	"github.com/imagecred/image-credential-provider/test/harness/internal/shim"
)

// ServiceAccount is a service account the fake API server knows.
type ServiceAccount struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	UID         string            `json:"uid,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Pod is the pod an image is pulled for.
type Pod struct {
	Namespace      string `json:"namespace,omitempty"`
	Name           string `json:"name,omitempty"`
	UID            string `json:"uid,omitempty"`
	ServiceAccount string `json:"serviceAccount,omitempty"`
}

// Options configure a Session.
type Options struct {
	// ConfigPath is the kubelet's --image-credential-provider-config (file or dir).
	ConfigPath string
	// BinDir is the kubelet's --image-credential-provider-bin-dir.
	BinDir string
	// WorkDir receives the shim bin dir and the exec log. Required unless NoShim.
	WorkDir string
	// Self is the harness binary the shims re-execute (os.Executable()).
	Self string
	// NoShim hands the kubelet code BinDir itself; executions are then known only
	// from klog events, without the requests.
	NoShim bool
	// ServiceAccounts the fake API server serves.
	ServiceAccounts []ServiceAccount
	// TokenIssuer is the iss of minted tokens (default satoken.DefaultIssuer).
	TokenIssuer string
	// FeatureGates is a kubelet --feature-gates value ("A=true,B=false").
	FeatureGates string
	// KlogEcho, when set, receives every kubelet klog event as a line.
	KlogEcho io.Writer
	// KlogVerbosity is klog's -v (default 5: the level of the exec and skip messages).
	KlogVerbosity int
}

// Session is one kubelet's credential-provider state.
type Session struct {
	opts      Options
	execLog   string
	providers []ProviderConfig
	events    *eventLog
	minter    *satoken.Minter

	mu            sync.Mutex
	sas           map[string]ServiceAccount
	tokenRequests []TokenRequest
	saGets        int
	// seen maps a masked username/password to where a plugin returned it.
	seen map[string][]string
}

// TokenRequest records one call of the fake TokenRequest API.
type TokenRequest struct {
	Namespace      string   `json:"namespace"`
	ServiceAccount string   `json:"serviceAccount"`
	Audiences      []string `json:"audiences"`
	BoundPod       string   `json:"boundPod,omitempty"`
	Token          string   `json:"token"` // masked
	Error          string   `json:"error,omitempty"`
}

var started atomic.Bool

// Start registers the plugins of the config with the kubelet code.
func Start(o Options) (*Session, error) {
	if !started.CompareAndSwap(false, true) {
		return nil, errors.New("kubelet session: only one per process (the kubelet code registers providers globally)")
	}
	if o.KlogVerbosity == 0 {
		o.KlogVerbosity = 5
	}
	s := &Session{opts: o, events: &eventLog{echo: o.KlogEcho}, sas: map[string]ServiceAccount{}, seen: map[string][]string{}}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", fmt.Sprint(o.KlogVerbosity))
	klog.SetLogger(s.events.logger())
	if o.FeatureGates != "" {
		if err := utilfeature.DefaultMutableFeatureGate.Set(o.FeatureGates); err != nil {
			return nil, fmt.Errorf("feature gates: %w", err)
		}
	}
	for _, sa := range o.ServiceAccounts {
		if sa.UID == "" {
			sa.UID = "uid-" + sa.Namespace + "-" + sa.Name
		}
		s.sas[sa.Namespace+"/"+sa.Name] = sa
	}
	var err error
	if s.minter, err = satoken.NewMinter(o.TokenIssuer); err != nil {
		return nil, err
	}
	s.providers, _ = ReadProviderConfig(o.ConfigPath) // the kubelet reports config errors below
	binDir := o.BinDir
	if !o.NoShim {
		if o.WorkDir == "" || o.Self == "" {
			return nil, errors.New("kubelet session: WorkDir and Self are required with the shim")
		}
		s.execLog = filepath.Join(o.WorkDir, "plugin-execs.jsonl")
		if _, err := os.Stat(o.BinDir); err == nil {
			binDir = filepath.Join(o.WorkDir, "shim-bin")
			names := make([]string, len(s.providers))
			for i, p := range s.providers {
				names[i] = p.Name
			}
			if err := shim.Install(binDir, o.BinDir, o.Self, s.execLog, names); err != nil {
				return nil, fmt.Errorf("installing the exec shim: %w", err)
			}
		}
	}
	if err := plugin.RegisterCredentialProviderPlugins(o.ConfigPath, binDir, s.getServiceAccountToken, s.getServiceAccount); err != nil {
		return nil, fmt.Errorf("kubelet RegisterCredentialProviderPlugins: %w", err)
	}
	return s, nil
}

// Providers returns the providers of the config, in config order.
func (s *Session) Providers() []ProviderConfig { return s.providers }

// ServiceAccountTokenGate reports whether KubeletServiceAccountTokenForCredentialProviders is on.
func ServiceAccountTokenGate() bool {
	return utilfeature.DefaultFeatureGate.Enabled(features.KubeletServiceAccountTokenForCredentialProviders)
}

func (s *Session) getServiceAccount(namespace, name string) (*corev1.ServiceAccount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saGets++
	sa, ok := s.sas[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("serviceaccounts"), name)
	}
	return &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Namespace: sa.Namespace, Name: sa.Name, UID: types.UID(sa.UID), Annotations: sa.Annotations},
	}, nil
}

func (s *Session) getServiceAccountToken(namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := TokenRequest{Namespace: namespace, ServiceAccount: name, Audiences: tr.Spec.Audiences}
	var pod, podUID string
	if ref := tr.Spec.BoundObjectRef; ref != nil {
		pod, podUID = ref.Name, string(ref.UID)
		rec.BoundPod = ref.Kind + " " + namespace + "/" + ref.Name
	}
	sa, ok := s.sas[namespace+"/"+name]
	fail := func(err error) (*authenticationv1.TokenRequest, error) {
		rec.Error = err.Error()
		s.tokenRequests = append(s.tokenRequests, rec)
		return nil, err
	}
	if !ok {
		return fail(apierrors.NewNotFound(corev1.Resource("serviceaccounts"), name))
	}
	if tr.UID != "" && string(tr.UID) != sa.UID {
		return fail(apierrors.NewConflict(corev1.Resource("serviceaccounts"), name, errors.New("the UID precondition failed")))
	}
	ttl := time.Hour
	if tr.Spec.ExpirationSeconds != nil {
		ttl = time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	}
	tok, exp, err := s.minter.Mint(satoken.Claims{
		Namespace: namespace, ServiceAccount: name, ServiceAccountUID: sa.UID,
		PodName: pod, PodUID: podUID, Audiences: tr.Spec.Audiences, TTL: ttl,
	}, time.Now())
	if err != nil {
		return fail(err)
	}
	rec.Token = mask.Secret(tok)
	s.tokenRequests = append(s.tokenRequests, rec)
	out := tr.DeepCopy()
	out.Status = authenticationv1.TokenRequestStatus{Token: tok, ExpirationTimestamp: metav1.NewTime(exp)}
	return out, nil
}

// Credential is one credential of a lookup, in the kubelet's order.
type Credential struct {
	Username string `json:"username"`
	Password string `json:"-"`
	// PasswordMasked identifies the password without revealing it.
	PasswordMasked string `json:"password"`
	// Source is the kubelet's CredentialSource ("secret ns/name", "serviceaccount ns/name"),
	// empty for node and plugin credentials without a service account.
	Source string `json:"source,omitempty"`
	// From lists "provider[key]" of the plugin responses this credential came from.
	From []string `json:"from,omitempty"`
}

// ProviderActivity is what one provider did during one lookup.
type ProviderActivity struct {
	Name string `json:"name"`
	// Matched is true when one of the provider's matchImages matches the image
	// (credentialprovider.URLsMatchStr, the kubelet's own gate).
	Matched bool `json:"matched"`
	// Execs are the plugin executions (from the shim).
	Execs []shim.Exec `json:"execs,omitempty"`
	// ExecCount is the executions the kubelet code logged.
	ExecCount int `json:"execCount"`
	// CacheHit: matched, not executed, not skipped, no error: served from the kubelet's cache.
	CacheHit bool `json:"cacheHit"`
	// Skipped says why the kubelet did not call the plugin (service account rules).
	Skipped string `json:"skipped,omitempty"`
	// Errors the kubelet logged for this provider.
	Errors []string `json:"errors,omitempty"`
}

// Lookup is the result of one image's credential lookup.
type Lookup struct {
	Image      string `json:"image"`
	RepoToPull string `json:"repoToPull"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
	// PullRef is the reference handed to the runtime.
	PullRef       string             `json:"pullRef"`
	Credentials   []Credential       `json:"credentials"`
	Providers     []ProviderActivity `json:"providers"`
	TokenRequests []TokenRequest     `json:"tokenRequests,omitempty"`
	Events        []Event            `json:"events,omitempty"`
}

// Lookup does what the image manager does before a pull: normalize the image, build
// the plugin keyring for the pod, union it with the pull secrets' keyring, and look up
// the repository to pull.
func (s *Session) Lookup(image string, pod Pod, pullSecrets []corev1.Secret) (*Lookup, error) {
	repoToPull, tag, digest, err := parsers.ParseImageName(image)
	if err != nil {
		return nil, err
	}
	out := &Lookup{Image: image, RepoToPull: repoToPull, Tag: tag, Digest: digest}
	execsBefore, err := shim.ReadLog(s.execLog)
	if err != nil && s.execLog != "" {
		return nil, err
	}
	evBefore := s.events.len()
	s.mu.Lock()
	trBefore := len(s.tokenRequests)
	s.mu.Unlock()

	// As makeLookupPullCredentialsFunc: pod coordinates only with the SA-token gate on.
	var podName, podNamespace, podUID string
	if ServiceAccountTokenGate() {
		podName, podNamespace, podUID = pod.Name, pod.Namespace, pod.UID
	}
	external := plugin.NewExternalCredentialProviderDockerKeyring(podNamespace, podName, podUID, pod.ServiceAccount)
	node := &credentialprovider.BasicDockerKeyring{} // hermetic: no node docker config
	keyring, err := credentialprovidersecrets.MakeDockerKeyring(pullSecrets, credentialprovider.UnionDockerKeyring{node, external})
	if err != nil {
		return nil, err
	}
	creds, _ := keyring.Lookup(repoToPull)

	var execs []shim.Exec
	if s.execLog != "" {
		all, err := shim.ReadLog(s.execLog)
		if err != nil {
			return nil, err
		}
		execs = all[len(execsBefore):]
	}
	events := s.events.since(evBefore)
	s.mu.Lock()
	out.TokenRequests = append([]TokenRequest(nil), s.tokenRequests[trBefore:]...)
	for _, e := range execs {
		if e.Response == nil {
			continue
		}
		for key, a := range e.Response.Auth {
			k := a.Username + "\x00" + a.Password
			s.seen[k] = appendUnique(s.seen[k], e.Provider+"["+key+"]")
		}
	}
	for _, c := range creds {
		cred := Credential{Username: c.Username, Password: c.Password, PasswordMasked: mask.Secret(c.Password)}
		if c.Source != nil && c.Source.Secret != nil {
			cred.Source = "secret " + c.Source.Secret.Namespace + "/" + c.Source.Secret.Name
		}
		if c.Source != nil && c.Source.ServiceAccount != nil {
			cred.Source = "serviceaccount " + c.Source.ServiceAccount.Namespace + "/" + c.Source.ServiceAccount.Name
		}
		cred.From = s.seen[cred.Username+"\x00"+cred.PasswordMasked]
		out.Credentials = append(out.Credentials, cred)
	}
	s.mu.Unlock()

	for _, p := range s.providers {
		act := ProviderActivity{Name: p.Name}
		for _, m := range p.MatchImages {
			if ok, _ := credentialprovider.URLsMatchStr(m, repoToPull); ok {
				act.Matched = true
				break
			}
		}
		for _, e := range execs {
			if e.Provider == p.Name {
				act.Execs = append(act.Execs, e)
			}
		}
		for _, ev := range events {
			if ev.Provider != p.Name {
				continue
			}
			switch {
			case ev.Msg == msgExec:
				act.ExecCount++
			case ev.Msg == msgNoSA:
				act.Skipped = "pod has no service account and requireServiceAccount is true"
			case ev.Msg == msgSADataFailed && strings.Contains(ev.Err, requiredAnnotation):
				act.Skipped = ev.Err
			case ev.Level < 0:
				act.Errors = append(act.Errors, ev.Msg+": "+ev.Err)
			}
		}
		act.CacheHit = act.Matched && act.ExecCount == 0 && len(act.Execs) == 0 && act.Skipped == "" && len(act.Errors) == 0
		out.Providers = append(out.Providers, act)
	}
	out.Events = events
	return out, nil
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	list = append(list, v)
	sort.Strings(list)
	return list
}
