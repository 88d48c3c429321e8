// Package shim records every execution of a credential provider plugin by the kubelet
// code without changing what the kubelet sees.
//
// Install writes, for each provider name, a tiny script into a fresh bin dir that
// re-executes the harness binary in shim mode (Main). The shim reads the request the
// kubelet wrote on stdin, runs the real plugin with the same arguments, environment and
// stdin, passes its stdout, stderr and exit code through unchanged, and appends one JSON
// line per execution to a log: the request (service account token masked), the response
// summary (passwords masked), the exit code and the duration. Secrets never reach the log.
package shim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/imagecred/image-credential-provider/test/harness/internal/mask"
)

// Subcommand is the first argument that puts the harness binary in shim mode.
const Subcommand = "__credential-provider-shim"

// Exec is one recorded plugin execution.
type Exec struct {
	Provider string    `json:"provider"`
	Args     []string  `json:"args,omitempty"`
	Started  time.Time `json:"started"`
	Millis   int64     `json:"millis"`
	ExitCode int       `json:"exitCode"`
	// Request is what the kubelet sent, with the token masked.
	Request Request `json:"request"`
	// Response is what the plugin answered (nil when stdout was not a JSON object).
	Response *Response `json:"response,omitempty"`
	// ResponseError says why stdout could not be read as a response.
	ResponseError string `json:"responseError,omitempty"`
	// Stderr is the plugin's stderr (at most 4 KiB).
	Stderr string `json:"stderr,omitempty"`
	// StderrLeaksSecret is true when stderr contains the token or a returned password.
	StderrLeaksSecret bool `json:"stderrLeaksSecret,omitempty"`
	// StdoutBytes is the size of the raw stdout.
	StdoutBytes int `json:"stdoutBytes"`
}

// Request is the kubelet's CredentialProviderRequest as sent, token masked.
type Request struct {
	APIVersion  string            `json:"apiVersion"`
	Kind        string            `json:"kind"`
	Image       string            `json:"image"`
	Token       string            `json:"serviceAccountToken,omitempty"` // masked
	Annotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
	// Fields lists every top-level field name present, to spot unexpected ones.
	Fields []string `json:"fields"`
}

// Response summarises the plugin's CredentialProviderResponse, passwords masked.
type Response struct {
	APIVersion    string          `json:"apiVersion"`
	Kind          string          `json:"kind"`
	CacheKeyType  string          `json:"cacheKeyType"`
	CacheDuration *string         `json:"cacheDuration,omitempty"`
	Auth          map[string]Auth `json:"auth"`
}

// Auth is one returned credential, password masked (see mask.Secret).
type Auth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Install creates dir/<name> for each provider name that exists as an executable in
// realBinDir: a script running `self Subcommand <log> <real binary> args...`. Names that
// do not exist in realBinDir get no shim, so the kubelet code fails registration exactly
// as it would on the real bin dir.
func Install(dir, realBinDir, self, logPath string, names []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		real := filepath.Join(realBinDir, n)
		if fi, err := os.Stat(real); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		script := fmt.Sprintf("#!/bin/sh\nexec %s %s %s %s \"$@\"\n",
			shellQuote(self), Subcommand, shellQuote(logPath), shellQuote(real))
		if err := os.WriteFile(filepath.Join(dir, n), []byte(script), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Main runs shim mode. args are what follows Subcommand: <log> <real binary> [args...].
// It returns the exit code to use.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "credential provider shim: usage: <log> <binary> [args...]")
		return 2
	}
	logPath, real, pluginArgs := args[0], args[1], args[2:]
	in, err := io.ReadAll(io.LimitReader(stdin, 4<<20))
	if err != nil {
		fmt.Fprintf(stderr, "credential provider shim: reading stdin: %v\n", err)
		return 2
	}
	rec := Exec{Provider: filepath.Base(real), Args: pluginArgs, Started: time.Now()}
	var out, errb bytes.Buffer
	cmd := exec.Command(real, pluginArgs...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(stderr, &limited{buf: &errb, max: 4096})
	runErr := cmd.Run()
	rec.Millis = time.Since(rec.Started).Milliseconds()
	_, _ = stdout.Write(out.Bytes())

	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exitErr):
		rec.ExitCode = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			rec.ExitCode = 128 + int(ws.Signal())
		}
	default:
		rec.ExitCode = 127
		fmt.Fprintf(stderr, "credential provider shim: %v\n", runErr)
	}

	token := ""
	rec.Request, token = summarizeRequest(in)
	secrets := []string{}
	if token != "" {
		secrets = append(secrets, token)
	}
	rec.Response, secrets, err = summarizeResponse(out.Bytes(), secrets)
	if err != nil {
		rec.ResponseError = err.Error()
	}
	rec.StdoutBytes = out.Len()
	rec.Stderr = errb.String()
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(rec.Stderr, s) {
			rec.StderrLeaksSecret = true
		}
		rec.Stderr = strings.ReplaceAll(rec.Stderr, s, mask.Secret(s))
	}
	if err := appendRecord(logPath, rec); err != nil {
		fmt.Fprintf(stderr, "credential provider shim: writing log: %v\n", err)
	}
	if rec.ExitCode != 0 {
		return rec.ExitCode
	}
	return 0
}

func summarizeRequest(in []byte) (Request, string) {
	var raw map[string]json.RawMessage
	var r Request
	if err := json.Unmarshal(in, &raw); err != nil {
		r.Image = "<unparseable request>"
		return r, ""
	}
	for k := range raw {
		r.Fields = append(r.Fields, k)
	}
	sort.Strings(r.Fields)
	var full struct {
		APIVersion  string            `json:"apiVersion"`
		Kind        string            `json:"kind"`
		Image       string            `json:"image"`
		Token       string            `json:"serviceAccountToken"`
		Annotations map[string]string `json:"serviceAccountAnnotations"`
	}
	_ = json.Unmarshal(in, &full)
	r.APIVersion, r.Kind, r.Image, r.Annotations = full.APIVersion, full.Kind, full.Image, full.Annotations
	if full.Token != "" {
		r.Token = mask.Secret(full.Token)
	}
	return r, full.Token
}

func summarizeResponse(out []byte, secrets []string) (*Response, []string, error) {
	var full struct {
		APIVersion    string  `json:"apiVersion"`
		Kind          string  `json:"kind"`
		CacheKeyType  string  `json:"cacheKeyType"`
		CacheDuration *string `json:"cacheDuration"`
		Auth          map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auth"`
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, secrets, errors.New("empty stdout")
	}
	if err := json.Unmarshal(out, &full); err != nil {
		return nil, secrets, fmt.Errorf("stdout is not one JSON response object: %v", err)
	}
	r := &Response{
		APIVersion: full.APIVersion, Kind: full.Kind, CacheKeyType: full.CacheKeyType,
		CacheDuration: full.CacheDuration, Auth: map[string]Auth{},
	}
	for k, a := range full.Auth {
		r.Auth[k] = Auth{Username: a.Username, Password: mask.Secret(a.Password)}
		if a.Password != "" {
			secrets = append(secrets, a.Password)
		}
	}
	return r, secrets, nil
}

func appendRecord(path string, rec Exec) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadLog returns the records in the log (none if it does not exist yet).
func ReadLog(path string) ([]Exec, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Exec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e Exec
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("exec log %s: %w", path, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

type limited struct {
	buf *bytes.Buffer
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}
