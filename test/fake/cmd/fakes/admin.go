package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/imagecred/image-credential-provider/test/fake/awsfake"
	"github.com/imagecred/image-credential-provider/test/fake/azurefake"
	"github.com/imagecred/image-credential-provider/test/fake/gcpfake"
)

// serveAdmin starts the knob endpoint on loopback: scripts break and repair fakes
// between pulls of one kubelet session (`fakes ctl URL PATH`).
//
//	POST /registry/<name>/expire-tokens       bearer tokens it issued stop working
//	POST /registry/<name>/fail?n=N            its next N requests get 503
//	POST /google/fail?endpoint=E&n=N&status=S gcpfake.FailNext (E: metadata-token, sts, ...)
//	POST /azure/fail?endpoint=E&n=N&status=S  azurefake.FailNext (E: imds, appservice, aad-token, exchange, ...)
//	POST /azure/expire-tokens                 every AAD, refresh and access token expires
//	POST /aws/fail?endpoint=E&n=N&status=S    awsfake.FailNext (E: ecr:GetAuthorizationToken, sts:AssumeRoleWithWebIdentity, ...)
//	POST /aws/throttle?endpoint=E&n=N         awsfake.ThrottleNext
//	POST /aws/expire-tokens                   every ECR and ECR Public token expires
//	POST /calls?fake=F&endpoint=E&min=N&max=M the calls fake F answered on E (412 outside [N, M])
func (f *Fakes) serveAdmin() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /registry/{name}/expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		if s := f.registries[r.PathValue("name")]; s != nil {
			s.ExpireTokens()
			return
		}
		http.NotFound(w, r)
	})
	mux.HandleFunc("POST /registry/{name}/fail", func(w http.ResponseWriter, r *http.Request) {
		s := f.registries[r.PathValue("name")]
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if s == nil || err != nil {
			http.Error(w, "unknown registry or bad n", http.StatusBadRequest)
			return
		}
		s.FailNext(n)
	})
	knob := func(w http.ResponseWriter, r *http.Request) (string, int, int, bool) {
		q := r.URL.Query()
		n, err1 := strconv.Atoi(q.Get("n"))
		status, err2 := strconv.Atoi(q.Get("status"))
		if err1 != nil || err2 != nil || q.Get("endpoint") == "" {
			http.Error(w, "want endpoint, n and status", http.StatusBadRequest)
			return "", 0, 0, false
		}
		return q.Get("endpoint"), n, status, true
	}
	mux.HandleFunc("POST /google/fail", func(w http.ResponseWriter, r *http.Request) {
		if ep, n, status, ok := knob(w, r); ok && f.google != nil {
			f.google.FailNext(gcpfake.Endpoint(ep), n, status)
		}
	})
	mux.HandleFunc("POST /azure/fail", func(w http.ResponseWriter, r *http.Request) {
		if ep, n, status, ok := knob(w, r); ok && f.azure != nil {
			f.azure.FailNext(azurefake.Endpoint(ep), n, status)
		}
	})
	mux.HandleFunc("POST /azure/expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		if f.azure != nil {
			f.azure.ExpireTokens()
		}
	})
	mux.HandleFunc("POST /aws/fail", func(w http.ResponseWriter, r *http.Request) {
		if ep, n, status, ok := knob(w, r); ok && f.aws != nil {
			f.aws.FailNext(awsfake.Op(ep), n, status)
		}
	})
	mux.HandleFunc("POST /aws/throttle", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || r.URL.Query().Get("endpoint") == "" {
			http.Error(w, "want endpoint and n", http.StatusBadRequest)
			return
		}
		if f.aws != nil {
			f.aws.ThrottleNext(awsfake.Op(r.URL.Query().Get("endpoint")), n)
		}
	})
	mux.HandleFunc("POST /aws/expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		if f.aws != nil {
			f.aws.ExpireTokens()
		}
	})
	// /calls?fake=google|azure|aws&endpoint=E[&min=N][&max=M]: the number of calls the
	// fake answered on E so far; 412 when it is below min or above max (scripts assert
	// which flow the plugin used, or that a cache spared a call). For aws, endpoint
	// "all" counts every call, and role=ARN counts only the calls made as that role
	// (sts:AssumeRoleWithWebIdentity: the calls asking for it).
	mux.HandleFunc("/calls", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		min, max := 0, -1
		var err error
		if v := q.Get("min"); v != "" {
			if min, err = strconv.Atoi(v); err != nil {
				http.Error(w, "bad min", http.StatusBadRequest)
				return
			}
		}
		if v := q.Get("max"); v != "" {
			if max, err = strconv.Atoi(v); err != nil {
				http.Error(w, "bad max", http.StatusBadRequest)
				return
			}
		}
		n := -1
		switch q.Get("fake") {
		case "google":
			if f.google != nil {
				n = f.google.Calls(gcpfake.Endpoint(q.Get("endpoint")))
			}
		case "azure":
			if f.azure != nil {
				n = f.azure.Calls(azurefake.Endpoint(q.Get("endpoint")))
			}
		case "aws":
			if f.aws != nil {
				n = awsCalls(f.aws, awsfake.Op(q.Get("endpoint")), q.Get("role"))
			}
		}
		if n < 0 {
			http.Error(w, "unknown fake", http.StatusNotFound)
			return
		}
		if n < min || (max >= 0 && n > max) {
			http.Error(w, fmt.Sprintf("%s %s: %d calls, want between %d and %d", q.Get("fake"), q.Get("endpoint"), n, min, max), http.StatusPreconditionFailed)
			return
		}
		fmt.Fprintf(w, "%d\n", n)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	f.onClose(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

// awsCalls counts the calls of op ("all": any) made as role ("": by anyone). The role
// of an sts:AssumeRoleWithWebIdentity call is the one it asked for.
func awsCalls(a *awsfake.Server, op awsfake.Op, role string) int {
	if role == "" {
		if op == "all" {
			return a.TotalCalls()
		}
		return a.Calls(op)
	}
	n := 0
	if op == awsfake.STSAssumeRoleWithWebIdentity {
		for _, r := range a.WebIdentityRequests() {
			if r.RoleARN == role {
				n++
			}
		}
		return n
	}
	for _, c := range a.CallLog() {
		if (op == "all" || c.Op == op) && c.Identity == role {
			n++
		}
	}
	return n
}

// ctl posts to the admin endpoint: fakes ctl URL PATH.
func ctl(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fakes ctl ADMIN_URL PATH")
		return 2
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Post(args[0]+args[1], "text/plain", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakes ctl:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "fakes ctl: %s: %s %s\n", args[1], resp.Status, body)
		return 1
	}
	_, _ = os.Stdout.Write(body)
	return 0
}
