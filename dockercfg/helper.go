package dockercfg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/imagecred/image-credential-provider/internal/proctree"
	"github.com/imagecred/image-credential-provider/internal/quote"
)

// helperPrefix starts the name of every docker credential helper program.
const helperPrefix = "docker-credential-"

// notFoundMessage is what docker credential helpers print, with a non-zero exit,
// when they hold nothing for the server (docker-credential-helpers' credentials package).
const notFoundMessage = "credentials not found in native keychain"

// identityTokenUser is the Username a helper returns for an identity (refresh) token.
const identityTokenUser = "<token>"

// maxHelperOutput bounds what is read from a helper.
const maxHelperOutput = 1 << 20

// dockerHubServerURL is the server URL docker hands helpers for Docker Hub.
const dockerHubServerURL = "https://index.docker.io/v1/"

// errHelperNotFound marks a helper that holds no credentials for the server.
var errHelperNotFound = errors.New("no credentials for this registry")

// helperServerURL is the server URL docker passes to a helper for a registry host.
func helperServerURL(host string) string {
	if host == "docker.io" || host == "index.docker.io" {
		return dockerHubServerURL
	}
	return host
}

// runHelper runs "docker-credential-<name> get" with serverURL on stdin (the docker
// credential-helper protocol) and returns the username and secret. It returns
// errHelperNotFound when the helper says it has nothing for serverURL. Errors name the
// helper and never contain its output, which may hold secrets.
func runHelper(ctx context.Context, name, serverURL string, timeout time.Duration) (username, secret string, err error) {
	prog := helperPrefix + name
	if err := checkHelperName(name); err != nil {
		return "", "", err
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", "", fmt.Errorf("credential helper %s not found in PATH", quote.String(prog))
	}
	limit := timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < limit {
		limit = time.Until(dl)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "get")
	cmd.Stdin = strings.NewReader(serverURL)
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxHelperOutput, maxHelperOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A helper that overruns is killed with every process it started; one that left
	// the pipes to a process out of reach (a daemon of its own) is not waited for
	// past this.
	cmd.WaitDelay = time.Second
	runErr := proctree.Run(cmd)
	if ctx.Err() != nil {
		return "", "", fmt.Errorf("credential helper %s for %s: no answer within %s", quote.String(prog), quote.String(serverURL), limit.Round(time.Millisecond))
	}
	if runErr != nil {
		if strings.TrimSpace(stdout.String()) == notFoundMessage {
			return "", "", errHelperNotFound
		}
		var exitErr *exec.ExitError
		if errors.As(runErr, &exitErr) {
			return "", "", fmt.Errorf("credential helper %s for %s failed with exit status %d%s", quote.String(prog), quote.String(serverURL), exitErr.ExitCode(), outputSummary(&stderr))
		}
		return "", "", fmt.Errorf("credential helper %s for %s could not run: %s", quote.String(prog), quote.String(serverURL), sanitizeExecError(runErr))
	}
	if stdout.overflow {
		return "", "", fmt.Errorf("credential helper %s for %s: output larger than %d bytes", quote.String(prog), quote.String(serverURL), maxHelperOutput)
	}
	var out struct {
		ServerURL string
		Username  string
		Secret    string
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return "", "", fmt.Errorf("credential helper %s for %s: output is not the helper protocol's JSON (%s)", quote.String(prog), quote.String(serverURL), describeJSONError(err, "an object"))
	}
	if out.Username == identityTokenUser {
		return "", "", fmt.Errorf("credential helper %s for %s returned an identity token, which the kubelet cannot use (it passes only a username and password); log in with a username and password or token instead", quote.String(prog), quote.String(serverURL))
	}
	if out.Username == "" && out.Secret == "" {
		return "", "", errHelperNotFound
	}
	return out.Username, out.Secret, nil
}

// outputSummary describes a failed helper's stderr without repeating it.
func outputSummary(stderr *limitedBuffer) string {
	if stderr.Len() == 0 {
		return ""
	}
	return fmt.Sprintf(" (its %d bytes of stderr are not shown: they may contain secrets; run the helper by hand to see them)", stderr.Len())
}

// sanitizeExecError keeps exec's own errors (permission denied, exec format error),
// which name the program, not its output.
func sanitizeExecError(err error) string {
	var execErr *exec.Error
	if errors.As(err, &execErr) {
		return execErr.Err.Error()
	}
	return err.Error()
}

// limitedBuffer keeps at most max bytes and notes when more were written.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
