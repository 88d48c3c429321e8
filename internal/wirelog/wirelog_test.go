package wirelog

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

func TestSafeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://myacr.azurecr.io/oauth2/exchange", "https://myacr.azurecr.io/oauth2/exchange"},
		{"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcontainerregistry.azure.net&client_id=abc",
			"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&client_id=abc&resource=https%3A%2F%2Fcontainerregistry.azure.net"},
		{"https://user:pa55@registry.example/v2/?access_token=s3cr3t&scope=repo#frag", "https://registry.example/v2/?access_token=…&scope=…"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := SafeURL(u); got != tt.want {
			t.Errorf("SafeURL(%s)\n = %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

// A call is one line at -v=2, with its shape at -v=4; never a header value, a body or
// a query value off the list.
func TestTransportLogs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"response-s3cr3t"}`))
	}))
	defer srv.Close()
	var buf bytes.Buffer
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	klog.LogToStderr(false)
	klog.SetOutput(&buf)
	defer func() {
		klog.LogToStderr(true)
		_ = fs.Set("v", "0")
	}()
	c := &http.Client{Transport: Transport("gcr", nil)}
	for _, v := range []string{"0", "2", "4"} {
		buf.Reset()
		_ = fs.Set("v", v)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token?assertion=query-s3cr3t&api-version=1", strings.NewReader("subject_token=body-s3cr3t"))
		req.Header.Set("Authorization", "Bearer header-s3cr3t")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		klog.Flush()
		out := buf.String()
		switch v {
		case "0":
			if out != "" {
				t.Errorf("-v=0 logged %q", out)
			}
		case "2":
			if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"HTTP call" backend="gcr" method="POST" url="`+srv.URL+`/token?api-version=1&assertion=…" status=200`) || strings.Contains(out, "request=") {
				t.Errorf("-v=2: %q", out)
			}
		case "4":
			if !strings.Contains(out, `request="25 bytes; headers Authorization"`) || !strings.Contains(out, `response="application/json 34 bytes; headers Content-Length,Content-Type,Date"`) {
				t.Errorf("-v=4: %q", out)
			}
		}
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("-v=%s logged a secret: %q", v, out)
		}
	}
}
