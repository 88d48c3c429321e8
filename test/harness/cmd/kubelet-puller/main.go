// Command kubelet-puller plays a kubelet and a container runtime around a credential
// provider plugin, on the real kubelet code (k8s.io/kubernetes v1.37.1).
//
// It registers the plugins of a kubelet CredentialProviderConfig and bin dir, then for
// each image does the image manager's keyring lookup (plugin execution, kubelet cache,
// service-account tokens) and pulls the image — manifest, config and layers, digests
// verified — trying the credentials in the kubelet's order. It reports, per pull, the
// plugin executions with the requests sent, kubelet cache hits, the credential that
// worked (password masked), and bytes and digests pulled, as a table and as JSON.
//
//	kubelet-puller -config cred.yaml -bin-dir ./bin -fakes fakes.json -image reg.example/app:v1 -repeat 2
//	kubelet-puller -config cred.yaml -bin-dir ./bin -fakes fakes.json -scenario case.yaml -json out.json
//
// The exit code is 0 when every check passes (without a scenario: every pull succeeds),
// 1 when a check fails, 2 on a setup error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/test/harness/internal/kubelet"
	"github.com/imagecred/image-credential-provider/test/harness/internal/pull"
	"github.com/imagecred/image-credential-provider/test/harness/internal/report"
	"github.com/imagecred/image-credential-provider/test/harness/internal/scenario"
	"github.com/imagecred/image-credential-provider/test/harness/internal/shim"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// fakesEnv is the part of the fakes program's JSON file the harness uses.
type fakesEnv struct {
	CAFile  string            `json:"caFile"`
	Resolve map[string]string `json:"resolve"`
	Vars    map[string]string `json:"vars"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == shim.Subcommand {
		os.Exit(shim.Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kubelet-puller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configPath   = fs.String("config", "", "kubelet CredentialProviderConfig file or directory (--image-credential-provider-config)")
		binDir       = fs.String("bin-dir", "", "plugin bin dir (--image-credential-provider-bin-dir)")
		scenarioPath = fs.String("scenario", "", "scenario file (YAML/JSON): pulls, pods, service accounts, pull secrets, expectations")
		fakesPath    = fs.String("fakes", "", "JSON file written by the fakes program: CA, name resolution, ${VARS} for scenarios")
		jsonOut      = fs.String("json", "", "write the JSON report to this file ('-' for stdout)")
		noTable      = fs.Bool("no-table", false, "do not print the table")
		workDir      = fs.String("work-dir", "", "directory for the exec shim and its log (default: a temporary directory)")
		noShim       = fs.Bool("no-shim", false, "run the plugins directly (executions then come from klog, without requests)")
		featureGates = fs.String("feature-gates", "", "kubelet feature gates, e.g. KubeletServiceAccountTokenForCredentialProviders=false")
		klogEcho     = fs.Bool("klog", false, "echo the kubelet code's klog events to stderr")
		repeat       = fs.Int("repeat", 1, "with -image: pull each image this many times")
		podFlag      = fs.String("pod", "default/harness-pod", "with -image: namespace/name of the pod")
		saFlag       = fs.String("service-account", "", "with -image: the pod's service account (created in the fake API)")
		timeout      = fs.Duration("timeout", 30*time.Second, "timeout of each pull attempt")
		images       listFlag
		resolves     listFlag
		caFiles      listFlag
		saAnnots     listFlag
	)
	fs.Var(&images, "image", "image to pull (repeatable)")
	fs.Var(&resolves, "resolve", "host:port=ip:port: dial ip:port for host:port (repeatable)")
	fs.Var(&caFiles, "ca-file", "PEM CA the puller trusts (repeatable)")
	fs.Var(&saAnnots, "sa-annotation", "with -service-account: key=value annotation (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "kubelet-puller: "+format+"\n", a...)
		return 2
	}
	if *configPath == "" || *binDir == "" {
		return fail("-config and -bin-dir are required")
	}
	if (*scenarioPath == "") == (len(images) == 0) {
		return fail("give either -scenario or -image")
	}

	env := fakesEnv{Resolve: map[string]string{}, Vars: map[string]string{}}
	if *fakesPath != "" {
		data, err := os.ReadFile(*fakesPath)
		if err != nil {
			return fail("%v", err)
		}
		if err := json.Unmarshal(data, &env); err != nil {
			return fail("fakes file %s: %v", *fakesPath, err)
		}
		if env.CAFile != "" {
			caFiles = append(caFiles, env.CAFile)
		}
	}
	if env.Resolve == nil {
		env.Resolve = map[string]string{}
	}
	for _, r := range resolves {
		k, v, ok := strings.Cut(r, "=")
		if !ok {
			return fail("-resolve %q: want host:port=ip:port", r)
		}
		env.Resolve[k] = v
	}

	var sc *scenario.Scenario
	if *scenarioPath != "" {
		var err error
		if sc, err = scenario.Load(*scenarioPath, env.Vars); err != nil {
			return fail("%v", err)
		}
	} else {
		sc = &scenario.Scenario{Name: "command line"}
		ns, name, _ := strings.Cut(*podFlag, "/")
		if name == "" {
			ns, name = "default", *podFlag
		}
		pod := kubelet.Pod{Namespace: ns, Name: name, UID: "uid-pod-" + name, ServiceAccount: *saFlag}
		if *saFlag != "" {
			sa := kubelet.ServiceAccount{Namespace: ns, Name: *saFlag, Annotations: map[string]string{}}
			for _, a := range saAnnots {
				k, v, _ := strings.Cut(a, "=")
				sa.Annotations[k] = v
			}
			sc.ServiceAccounts = append(sc.ServiceAccounts, sa)
		}
		for _, im := range images {
			sc.Pulls = append(sc.Pulls, scenario.Pull{Image: im, Pod: pod, Repeat: *repeat})
		}
	}

	self, err := os.Executable()
	if err != nil {
		return fail("%v", err)
	}
	if *workDir == "" {
		d, err := os.MkdirTemp("", "kubelet-puller-")
		if err != nil {
			return fail("%v", err)
		}
		defer os.RemoveAll(d)
		*workDir = d
	} else if err := os.MkdirAll(*workDir, 0o755); err != nil {
		return fail("%v", err)
	}
	var echo io.Writer
	if *klogEcho {
		echo = stderr
	}
	absConfig, _ := filepath.Abs(*configPath)
	absBin, _ := filepath.Abs(*binDir)
	sess, err := kubelet.Start(kubelet.Options{
		ConfigPath: absConfig, BinDir: absBin, WorkDir: *workDir, Self: self, NoShim: *noShim,
		ServiceAccounts: sc.ServiceAccounts, FeatureGates: *featureGates, KlogEcho: echo,
	})
	if err != nil {
		return fail("%v", err)
	}
	puller, err := pull.New(pull.Options{Resolve: env.Resolve, CAFiles: caFiles, Timeout: *timeout})
	if err != nil {
		return fail("%v", err)
	}

	rep := &report.Report{Scenario: sc.Name, Config: absConfig, BinDir: absBin, SAGate: kubelet.ServiceAccountTokenGate(), Providers: sess.Providers()}
	idx := 0
	for pi, p := range sc.Pulls {
		n := max(p.Repeat, 1)
		pod := p.Pod
		if pod.Namespace == "" {
			pod.Namespace = "default"
		}
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("pod-%d", pi+1)
		}
		if pod.UID == "" {
			pod.UID = "uid-" + pod.Namespace + "-" + pod.Name
		}
		secrets, err := sc.Secrets(p.PullSecrets, pod.Namespace)
		if err != nil {
			return fail("pull %d: %v", pi+1, err)
		}
		for r := 0; r < n; r++ {
			if r == 0 && p.SleepMillis > 0 {
				time.Sleep(time.Duration(p.SleepMillis) * time.Millisecond)
			}
			if r == 0 && len(p.Run) > 0 {
				cmd := exec.Command(p.Run[0], p.Run[1:]...)
				cmd.Stdout, cmd.Stderr = stderr, stderr
				if err := cmd.Run(); err != nil {
					return fail("pull %d: run %q: %v", idx+1, p.Run, err)
				}
			}
			idx++
			lk, err := sess.Lookup(p.Image, pod, secrets)
			if err != nil {
				return fail("pull %d: kubelet lookup of %q: %v", idx, p.Image, err)
			}
			lk.PullRef = pull.PullRef(p.Image, lk.Tag, lk.Digest)
			creds := make([]pull.Credential, len(lk.Credentials))
			for i, c := range lk.Credentials {
				creds[i] = pull.Credential{Username: c.Username, Password: c.Password}
			}
			res := puller.Pull(context.Background(), lk.PullRef, creds)
			exp := p.Expect
			if r > 0 && p.ExpectRepeat != nil {
				exp = p.ExpectRepeat
			}
			out := scenario.Outcome{Lookup: lk, Pull: res}
			checks := scenario.Evaluate(exp, out)
			if len(p.RunAfter) > 0 {
				cmd := exec.Command(p.RunAfter[0], p.RunAfter[1:]...)
				msg, err := cmd.CombinedOutput()
				checks = append(checks, scenario.Check{Name: "runAfter", OK: err == nil,
					Detail: strings.TrimSpace(fmt.Sprintf("%q: %v %s", p.RunAfter, err, msg))})
			}
			passed := true
			for _, c := range checks {
				passed = passed && c.OK
			}
			rep.Pulls = append(rep.Pulls, report.Pull{
				Index: idx, Pod: pod, Lookup: lk, Result: res, Execs: out.Execs(), Cache: out.CacheHit(),
				Checks: checks, Passed: passed,
			})
		}
	}
	rep.Finish()
	if !*noTable {
		rep.WriteTable(stdout)
	}
	switch *jsonOut {
	case "":
	case "-":
		_ = rep.WriteJSON(stdout)
	default:
		f, err := os.Create(*jsonOut)
		if err != nil {
			return fail("%v", err)
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return fail("%v", err)
		}
		if err := f.Close(); err != nil {
			return fail("%v", err)
		}
	}
	if !rep.Summary.Passed {
		return 1
	}
	return 0
}
