// Package connectproxy is a loopback HTTP CONNECT proxy for binary-level tests.
//
// Set HTTPS_PROXY to its URL in a child process and every TLS connection the child
// opens, whatever host name it asked for ("myacr.azurecr.io:443",
// "login.microsoftonline.com:443"), is spliced to one loopback target: the fake that
// plays those hosts. Combined with SSL_CERT_FILE naming a test CA (package testca) the
// child runs its real name-based code paths with verified TLS, and no DNS or /etc/hosts
// change is needed. The proxy never connects anywhere but the configured loopback
// target, so a test cannot reach the internet through it.
//
// Go clients never send requests for 127.0.0.1 or localhost through a proxy, so
// loopback endpoints (a managed identity endpoint on http://127.0.0.1:port) keep
// working directly.
package connectproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Proxy is a running CONNECT proxy.
type Proxy struct {
	// URL is "http://127.0.0.1:port", the value for HTTPS_PROXY.
	URL string
	// Target is the loopback address every allowed tunnel is spliced to.
	Target string

	ln      net.Listener
	allowed map[string]bool // host names or host:port; empty allows any

	mu       sync.Mutex
	connects map[string]int // CONNECT authority → tunnels opened
	refused  map[string]int
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	closed   bool
}

// Start listens on 127.0.0.1 and splices every CONNECT to target, which must be a
// loopback host:port. When hosts is not empty only those CONNECT authorities
// ("myacr.azurecr.io" for any port, or "myacr.azurecr.io:443") are spliced; the
// others get 403 Forbidden.
func Start(target string, hosts ...string) (*Proxy, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return nil, fmt.Errorf("connectproxy: target %q: %w", target, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("connectproxy: target %q is not a loopback IP address", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("connectproxy: listen: %w", err)
	}
	p := &Proxy{
		URL:      "http://" + ln.Addr().String(),
		Target:   target,
		ln:       ln,
		allowed:  map[string]bool{},
		connects: map[string]int{},
		refused:  map[string]int{},
		conns:    map[net.Conn]struct{}{},
	}
	for _, h := range hosts {
		p.allowed[strings.ToLower(h)] = true
	}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Connects returns how many tunnels were opened per CONNECT authority (host:port).
func (p *Proxy) Connects() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.connects))
	for k, v := range p.connects {
		out[k] = v
	}
	return out
}

// Refused returns how many CONNECTs were refused per authority (not allowed).
func (p *Proxy) Refused() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.refused))
	for k, v := range p.refused {
		out[k] = v
	}
	return out
}

// Close stops listening, closes open tunnels and waits for them to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.handle(c)
		}()
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) allow(authority string) bool {
	if len(p.allowed) == 0 {
		return true
	}
	a := strings.ToLower(authority)
	if p.allowed[a] {
		return true
	}
	host, _, err := net.SplitHostPort(a)
	return err == nil && p.allowed[host]
}

func (p *Proxy) handle(client net.Conn) {
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(client)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	_ = client.SetReadDeadline(time.Time{})
	if req.Method != http.MethodConnect {
		writeStatus(client, http.StatusMethodNotAllowed, "only CONNECT is supported")
		return
	}
	authority := req.Host
	if !p.allow(authority) {
		p.count(p.refused, authority)
		writeStatus(client, http.StatusForbidden, "host not allowed by the test proxy")
		return
	}
	upstream, err := net.DialTimeout("tcp", p.Target, 5*time.Second)
	if err != nil {
		writeStatus(client, http.StatusBadGateway, "target unreachable")
		return
	}
	defer upstream.Close()
	if !p.track(upstream) {
		return
	}
	defer p.untrack(upstream)
	p.count(p.connects, authority)
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// Bytes the client sent after the CONNECT header (normally none) go first.
	if n := br.Buffered(); n > 0 {
		buf, _ := br.Peek(n)
		if _, err := upstream.Write(buf); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, client); closeWrite(upstream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, upstream); closeWrite(client); done <- struct{}{} }()
	<-done
	<-done
}

func (p *Proxy) count(m map[string]int, authority string) {
	p.mu.Lock()
	m[authority]++
	p.mu.Unlock()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

func writeStatus(c net.Conn, code int, msg string) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(msg), msg)
}
