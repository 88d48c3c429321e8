// Package wirelog logs a backend's HTTP calls to its cloud: at loglevel.Decision one
// line per call with the method, the URL, the status and the duration; at
// loglevel.Wire also the shape of the exchange (content types and lengths, header
// names). It never logs a body, a header value, or a query value that is not on a
// short list of harmless parameters (api-version, resource, client_id, ...), so no
// token, password or assertion reaches the log whatever the request carries.
package wirelog

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/imagecred/image-credential-provider/internal/loglevel"
)

// Transport logs every call through next (http.DefaultTransport when nil).
func Transport(backend string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return transport{backend: backend, next: next}
}

type transport struct {
	backend string
	next    http.RoundTripper
}

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	Log(t.backend, "", req, resp, err, time.Since(start))
	return resp, err
}

// Log logs one call that took d: req, and resp or err; operation, when not empty,
// names the API operation. For clients whose transport cannot be wrapped (the AWS
// SDK's, which adjusts its own), from a middleware.
func Log(backend, operation string, req *http.Request, resp *http.Response, err error, d time.Duration) {
	logCall(backend, operation, req, resp, err, d)
}

func logCall(backend, operation string, req *http.Request, resp *http.Response, err error, d time.Duration) {
	if !klog.V(loglevel.Decision).Enabled() {
		return
	}
	u := SafeURL(req.URL)
	kv := []any{"backend", backend}
	if operation != "" {
		kv = append(kv, "operation", operation)
	}
	kv = append(kv, "method", req.Method, "url", u)
	if err != nil {
		// Transport errors quote the URL, query included: show the safe one.
		msg := strings.ReplaceAll(err.Error(), req.URL.String(), u)
		kv = append(kv, "err", msg)
	} else if resp != nil {
		kv = append(kv, "status", resp.StatusCode)
	}
	kv = append(kv, "duration", d.Round(10*time.Microsecond).String())
	if klog.V(loglevel.Wire).Enabled() {
		kv = append(kv, "request", shape(req.Header, req.ContentLength))
		if resp != nil {
			kv = append(kv, "response", shape(resp.Header, resp.ContentLength))
		}
	}
	klog.V(loglevel.Decision).InfoS("HTTP call", kv...)
}

// shownQuery are the query parameters whose values are shown; any other value is
// replaced by "…".
var shownQuery = []string{"api-version", "resource", "client_id", "mi_res_id", "msi_res_id", "object_id", "recursive", "alt", "scopes"}

// SafeURL is u without user info and fragment, and with the values of query
// parameters outside a short harmless list replaced by "…".
func SafeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User, c.Fragment, c.RawFragment = nil, "", ""
	c.RawQuery = ""
	s := c.String()
	q := u.Query()
	if len(q) == 0 {
		return s
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := "…"
		if slices.Contains(shownQuery, k) {
			v = url.QueryEscape(q.Get(k))
		}
		parts = append(parts, url.QueryEscape(k)+"="+v)
	}
	return s + "?" + strings.Join(parts, "&")
}

// shape describes a message without its content: content type and length, and the
// names of the headers.
func shape(h http.Header, length int64) string {
	var b strings.Builder
	if ct := h.Get("Content-Type"); ct != "" {
		ct, _, _ = strings.Cut(ct, ";")
		b.WriteString(ct + " ")
	}
	if length >= 0 {
		b.WriteString(strconv.FormatInt(length, 10) + " bytes")
	} else {
		b.WriteString("length unknown")
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 0 {
		b.WriteString("; headers " + strings.Join(names, ","))
	}
	return b.String()
}
