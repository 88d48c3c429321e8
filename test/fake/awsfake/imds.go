package awsfake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// IMDS is a fake EC2 instance metadata service that gives the session credentials of
// one role to the SDK's EC2 role credential provider (the last link of its default
// chain). Credentials it hands out are session credentials of its Server, so the
// Server accepts calls signed with them and records their identity as the role.
type IMDS struct {
	// URL is the endpoint (the value for AWS_EC2_METADATA_SERVICE_ENDPOINT).
	URL string

	srv    *httptest.Server
	s      *Server
	name   string
	roleID string
	v1Only bool

	mu          sync.Mutex
	tokenPuts   int
	credentials int
}

// StartIMDS starts an instance metadata fake on a free loopback port for the role
// roleARN (named by its last path element). With v1Only it refuses IMDSv2 session
// tokens (PUT /latest/api/token answers 403, as when an instance's metadata options
// disable them), so the SDK falls back to IMDSv1.
func (s *Server) StartIMDS(roleARN string, v1Only bool) (*IMDS, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &IMDS{s: s, name: roleARN[strings.LastIndex(roleARN, "/")+1:], roleID: roleARN, v1Only: v1Only}
	m.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(m.serve), ReadHeaderTimeout: 10 * time.Second}}
	m.srv.Start()
	m.URL = m.srv.URL
	return m, nil
}

// Close stops the fake.
func (m *IMDS) Close() { m.srv.Close() }

// Env points the SDK at the fake.
func (m *IMDS) Env() []string {
	return []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + m.URL}
}

// Calls returns how many session tokens were asked for and how many times credentials
// were handed out.
func (m *IMDS) Calls() (tokenPuts, credentials int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokenPuts, m.credentials
}

func (m *IMDS) serve(w http.ResponseWriter, r *http.Request) {
	const creds = "/latest/meta-data/iam/security-credentials/"
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
		m.mu.Lock()
		m.tokenPuts++
		m.mu.Unlock()
		if m.v1Only {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		fmt.Fprint(w, "fake-imds-session-token")
	case r.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case !m.v1Only && r.Header.Get("X-Aws-Ec2-Metadata-Token") != "fake-imds-session-token":
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	case r.URL.Path == creds:
		fmt.Fprintln(w, m.name)
	case r.URL.Path == creds+m.name:
		akid, p := m.s.newSession(m.roleID)
		m.mu.Lock()
		m.credentials++
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": akid, "SecretAccessKey": p.secret, "Token": p.sessionToken,
			"Expiration": p.expires.UTC().Format(time.RFC3339), "LastUpdated": time.Now().UTC().Format(time.RFC3339),
		})
	default:
		http.NotFound(w, r)
	}
}
