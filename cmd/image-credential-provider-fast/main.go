// Command image-credential-provider-fast is a lean front end for image-credential-provider.
//
// Name it in the kubelet's CredentialProviderConfig instead of image-credential-provider,
// with the same args and env, and install both binaries in the kubelet's plugin bin dir.
// For each request it replays, when it can, an answer image-credential-provider gave
// earlier to the same configuration, for the rest of that answer's cacheDuration: the
// answer the kubelet itself would have served from its in-memory cache had it not
// restarted. It links no cloud SDK, no Kubernetes API machinery and no reference parser,
// so such a hit costs little more than starting a process. Everything else (a miss, a
// request it does not understand, a subcommand) runs image-credential-provider with the
// same arguments, environment and stdin, and passes its output and exit code through.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/cache"
	"github.com/imagecred/image-credential-provider/internal/answer"
	"github.com/imagecred/image-credential-provider/providers"
)

// maxRequest matches the full plugin's limit on stdin.
const maxRequest = 1 << 20

// binEnv names the full plugin binary when it is not next to this one.
const binEnv = "IMAGE_CREDENTIAL_PROVIDER_BIN"

// dropIns are the names under which the full plugin stands in for another plugin. The
// front end replays nothing under them: it runs the full plugin under the same name.
var dropIns = map[string]bool{"ecr-credential-provider": true, "auth-provider-gcp": true, "acr-credential-provider": true}

func main() {
	if prog := filepath.Base(os.Args[0]); dropIns[prog] {
		os.Exit(delegate(prog, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	data, err := io.ReadAll(io.LimitReader(stdin, maxRequest+1))
	if err == nil && len(data) <= maxRequest {
		if out, ok := replay(args, data, time.Now()); ok {
			if _, err := stdout.Write(out); err == nil {
				return 0
			}
			return 1
		}
	}
	return delegate("", args, io.MultiReader(bytes.NewReader(data), stdin), stdout, stderr)
}

// request is the part of a CredentialProviderRequest the replay needs.
type request struct {
	Kind                      string            `json:"kind"`
	APIVersion                string            `json:"apiVersion"`
	Image                     string            `json:"image"`
	ServiceAccountToken       string            `json:"serviceAccountToken"`
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations"`
}

var apiVersions = map[string]bool{
	"credentialprovider.kubelet.k8s.io/v1":       true,
	"credentialprovider.kubelet.k8s.io/v1beta1":  true,
	"credentialprovider.kubelet.k8s.io/v1alpha1": true,
}

// replay answers the request from a recorded answer; ok is false on any doubt.
func replay(args []string, data []byte, now time.Time) (out []byte, ok bool) {
	var req request
	if json.Unmarshal(data, &req) != nil || req.Kind != "CredentialProviderRequest" || !apiVersions[req.APIVersion] ||
		req.Image == "" || strings.TrimSpace(req.Image) != req.Image {
		return nil, false
	}
	areq := answer.Request{APIVersion: req.APIVersion, Image: req.Image}
	if req.ServiceAccountToken != "" {
		areq.ServiceAccount = providers.NewServiceAccount(req.ServiceAccountToken, req.ServiceAccountAnnotations)
		if !areq.ServiceAccount.Identified() {
			return nil, false
		}
	}
	config := answer.ConfigBytes(args)
	dir, ok := cacheDir(args, config)
	if !ok {
		return nil, false
	}
	if _, err := os.Lstat(dir); err != nil { // never create it: that is the full plugin's job
		return nil, false
	}
	store, err := cache.Open(dir, cache.Options{Now: func() time.Time { return now }})
	if err != nil {
		return nil, false
	}
	fp := answer.Fingerprint(args, os.Environ(), config)
	for _, key := range answer.LookupKeys(fp, areq) {
		res, hit := store.Peek(key)
		if !hit || res.CacheKeyType != key.Scope {
			continue
		}
		d := res.CacheDuration.Truncate(time.Second)
		if d < time.Second {
			continue
		}
		out, err := encode(req.APIVersion, res, d)
		if err != nil {
			return nil, false
		}
		return out, true
	}
	return nil, false
}

// response is a CredentialProviderResponse as the kubelet's strict decoder wants it.
type response struct {
	Kind          string                          `json:"kind"`
	APIVersion    string                          `json:"apiVersion"`
	CacheKeyType  string                          `json:"cacheKeyType"`
	CacheDuration string                          `json:"cacheDuration"`
	Auth          map[string]providers.AuthConfig `json:"auth,omitempty"`
}

func encode(apiVersion string, res *providers.Result, d time.Duration) ([]byte, error) {
	b, err := json.Marshal(response{
		Kind: "CredentialProviderResponse", APIVersion: apiVersion,
		CacheKeyType: string(res.CacheKeyType), CacheDuration: d.String(), Auth: res.Auth,
	})
	return append(b, '\n'), err
}

// cacheDir is the token cache directory the full plugin would use with these args:
// --cache-dir, else the config file's cache.dir, else the default; ok is false when
// the cache is disabled or the arguments cannot be read with certainty.
func cacheDir(args []string, config []byte) (dir string, ok bool) {
	var disabled bool
	if config != nil {
		var ok bool
		if dir, disabled, ok = configCache(config); !ok {
			return "", false
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "cache-dir":
			if !hasVal {
				if i+1 >= len(args) {
					return "", false
				}
				i++
				val = args[i]
			}
			dir = val
		case "no-cache":
			switch {
			case !hasVal || val == "true" || val == "1":
				disabled = true
			case val == "false" || val == "0":
				disabled = false
			default:
				return "", false
			}
		}
	}
	if disabled {
		return "", false
	}
	if dir == "" {
		d, err := cache.DefaultDir()
		if err != nil {
			return "", false
		}
		dir = d
	}
	return dir, true
}

// fullPlugin is the image-credential-provider binary to run on a miss.
func fullPlugin() (string, error) {
	if p := os.Getenv(binEnv); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(self), "image-credential-provider"), nil
}

// delegate runs the full plugin with our arguments, environment and stdin; as, when
// set, is the name it runs under (its argv[0]), which picks a drop-in mode.
func delegate(as string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	bin, err := fullPlugin()
	if err == nil {
		cmd := exec.Command(bin, args...)
		if as != "" {
			cmd.Args[0] = as
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
		cmd.SysProcAttr = childProcAttr()
		err = cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "image-credential-provider-fast: cannot run image-credential-provider (install it next to this binary or set %s): %v\n", binEnv, err)
		return 1
	}
	return 0
}
