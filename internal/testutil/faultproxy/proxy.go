// Package faultproxy is an HTTP reverse proxy for tests that stands in
// front of one service and does to the requests it forwards what its
// current Fault says: delay them, answer 503 or 429 for a while, answer an
// HTML page, garbage, a truncated or an endless body, reset the
// connection mid-body, hang, or let the service do the request and drop
// the answer. The fault can be switched at any time from any goroutine
// (Set, Clear); the proxy counts the requests it sees, the connections
// open to it and the requests it is still busy with, and Close stops it
// without leaving a goroutine behind: a hung or endless answer ends when
// its client goes or the proxy closes.
//
// Only the standard library: a test can put it between any HTTP client and
// any server on loopback.
package faultproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy is a fault-injecting reverse proxy listening on 127.0.0.1.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:<port>: give it to
	// the client in place of the service's.
	URL string

	target    *url.URL
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport
	served    chan struct{} // closed when Serve has returned
	// closing is cancelled by Close: it ends the waiting handlers and
	// the calls to the service.
	closing   context.Context
	close     context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	handlers  sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	fault    Fault
	left     int // requests the fault still applies to, when fault.Count > 0
	faulted  int
	requests int
	inFlight int
	conns    map[net.Conn]struct{}
}

// New starts a proxy in front of the service at target (http://host:port).
// Close stops it.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q: want http://host[:port]", target)
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	// The client's Accept-Encoding goes to the service as it was sent,
	// and the answer comes back as the service encoded it.
	tr.DisableCompression = true
	p := &Proxy{
		URL:       "http://" + ln.Addr().String(),
		target:    u,
		ln:        ln,
		transport: tr,
		served:    make(chan struct{}),
		conns:     map[net.Conn]struct{}{},
	}
	p.closing, p.close = context.WithCancel(context.Background())
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         p.connState,
		// Resets and short answers are what the proxy is for.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// Start starts a proxy in front of target and closes it when t ends,
// failing t if it cannot.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// Set makes f the fault of the requests from now on, its Count starting
// afresh.
func (p *Proxy) Set(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.left, p.faulted = f, f.Count, 0
}

// Clear passes every request on from now on (Set(None())).
func (p *Proxy) Clear() { p.Set(None()) }

// Fault returns the current fault.
func (p *Proxy) Fault() Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault
}

// Requests returns how many requests the proxy has seen since it started.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Faulted returns how many requests the current fault was applied to since
// it was Set.
func (p *Proxy) Faulted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faulted
}

// InFlight returns how many requests the proxy is busy with: forwarding,
// delaying, hanging or sending an endless body.
func (p *Proxy) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight
}

// Open returns how many client connections to the proxy are open.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// WaitIdle waits until the proxy is busy with no request, for at most d,
// and reports whether it is.
func (p *Proxy) WaitIdle(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.InFlight() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Close stops the proxy: it stops listening, closes every client
// connection, ends the requests hanging or sending an endless body, waits
// for every handler and connection to end (an error if one has not after
// 10 s), and closes its connections to the service. It is safe to call more than
// once.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		// The connections first, so that no client gets an empty answer
		// from a handler ended by the closing.
		_ = p.srv.Close()
		<-p.served
		p.close()
		// Connections hijacked by a handler are the handler's to close;
		// the handlers end now that closing is done.
		deadline := time.Now().Add(10 * time.Second)
		ended := make(chan struct{})
		go func() { p.handlers.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(time.Until(deadline)):
			p.closeErr = fmt.Errorf("faultproxy: %d requests still being handled 10s after Close", p.InFlight())
		}
		// Each connection's goroutine ends (and says so) just after its
		// handler.
		for p.Open() > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := p.Open(); n > 0 && p.closeErr == nil {
			p.closeErr = fmt.Errorf("faultproxy: %d connections still open 10s after Close", n)
		}
		p.transport.CloseIdleConnections()
	})
	return p.closeErr
}

func (p *Proxy) connState(c net.Conn, s http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch s {
	case http.StateNew:
		p.conns[c] = struct{}{}
	case http.StateClosed:
		delete(p.conns, c)
	case http.StateHijacked:
		// Still open: the handler that hijacked it closes it (closeConn).
	}
}

// closeConn closes a hijacked connection; reset sends an RST instead of
// a FIN.
func (p *Proxy) closeConn(c net.Conn, reset bool) {
	if tc, ok := c.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// begin counts a request and returns the fault to apply to it (None when
// it passes); ok is false when the proxy is closing.
func (p *Proxy) begin(r *http.Request) (f Fault, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Fault{}, false
	}
	p.requests++
	p.inFlight++
	p.handlers.Add(1)
	f = p.fault
	if f.Kind == KindNone || (f.Filter.Match != nil && !f.Filter.Match(r)) {
		return Fault{}, true
	}
	if f.Count > 0 {
		if p.left == 0 {
			return Fault{}, true
		}
		p.left--
	}
	p.faulted++
	return f, true
}

func (p *Proxy) end() {
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
	p.handlers.Done()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := p.begin(r)
	if !ok {
		http.Error(w, "faultproxy: closing", http.StatusServiceUnavailable)
		return
	}
	defer p.end()
	switch f.Kind {
	case KindLatency:
		if !p.sleep(r.Context(), f.delay()) {
			return
		}
		p.pass(w, r)
	case KindReset:
		p.cut(w, r, true)
	case KindTruncated:
		p.cut(w, r, false)
	case KindDropAfterUpstream:
		p.drop(w, r)
	case KindUnavailable:
		drain(r)
		problem(w, http.StatusServiceUnavailable, "unavailable", "the service is unavailable (injected fault)")
	case KindTooManyRequests:
		drain(r)
		w.Header().Set("Retry-After", f.retryAfter())
		problem(w, http.StatusTooManyRequests, "rate_limited", "too many requests (injected fault)")
	case KindHTML:
		drain(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, htmlPage)
	case KindGarbage:
		drain(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(garbage)
	case KindEndless:
		p.endless(w, r, f.interval())
	case KindHang:
		drain(r)
		p.wait(r.Context())
	default:
		p.pass(w, r)
	}
}

// delay returns Latency ± Jitter, never negative.
func (f Fault) delay() time.Duration {
	d := f.Latency
	if f.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*f.Jitter)+1)) - f.Jitter
	}
	return max(d, 0)
}

// sleep waits d, and reports false if the client went or the proxy
// closed first.
func (p *Proxy) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-p.closing.Done():
	}
	return false
}

// wait returns when the client goes or the proxy closes.
func (p *Proxy) wait(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-p.closing.Done():
	}
}

// drain reads the request's body, so that the server notices when the
// client goes.
func drain(r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }

// hopHeaders are the headers of one connection, not passed on.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// forward sends r to the service, bound to r's context (the call ends
// when the client goes) and to the proxy's closing.
func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(p.closing, cancel)
	release := func() { stop(); cancel() }
	out := r.Clone(ctx)
	out.RequestURI = ""
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	if prefix := strings.TrimRight(p.target.Path, "/"); prefix != "" {
		out.URL.Path = prefix + r.URL.Path
		if r.URL.RawPath != "" {
			out.URL.RawPath = prefix + r.URL.RawPath
		}
	}
	out.Host = ""
	if r.ContentLength == 0 {
		out.Body = nil
	}
	out.Header = r.Header.Clone()
	removeHop(out.Header)
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseOnClose{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releaseOnClose ends a forwarded call's context when its body is closed.
type releaseOnClose struct {
	io.ReadCloser
	release func()
}

func (c *releaseOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.release()
	return err
}

// pass forwards r and streams the service's answer back.
func (p *Proxy) pass(w http.ResponseWriter, r *http.Request) {
	resp, err := p.forward(r)
	if err != nil {
		badGateway(w, r, err)
		return
	}
	defer resp.Body.Close()
	h := resp.Header.Clone()
	removeHop(h)
	for k, vs := range h {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// answer is a service's answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// upstream forwards r and reads the whole answer.
func (p *Proxy) upstream(r *http.Request) (answer, error) {
	resp, err := p.forward(r)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// cut forwards r, then sends the answer's status, its headers with the
// Content-Length of the whole body and the first half of the body, and
// closes the connection: with an RST when reset, else with a FIN.
func (p *Proxy) cut(w http.ResponseWriter, r *http.Request, reset bool) {
	a, err := p.upstream(r)
	if err != nil {
		badGateway(w, r, err)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		badGateway(w, r, err)
		return
	}
	h := a.header.Clone()
	removeHop(h)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	writeHead(brw.Writer, a.status, h)
	_, _ = brw.Write(a.body[:len(a.body)/2])
	_ = brw.Flush()
	if reset {
		// Give the client a moment to read what was sent before the RST
		// makes its kernel drop it.
		p.sleep(r.Context(), 5*time.Millisecond)
	}
	p.closeConn(conn, reset)
}

// drop forwards r, reads the whole answer (the service has done the
// request), then closes the client's connection without a byte of it.
func (p *Proxy) drop(w http.ResponseWriter, r *http.Request) {
	if _, err := p.upstream(r); err != nil {
		badGateway(w, r, err)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		badGateway(w, r, err)
		return
	}
	p.closeConn(conn, false)
}

// endless answers a JSON array that never ends: an element every
// interval, or with a negative interval blocks of them as fast as the
// client reads.
func (p *Proxy) endless(w http.ResponseWriter, r *http.Request, every time.Duration) {
	drain(r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := io.WriteString(w, `{"products":[`); err != nil {
		return
	}
	_ = rc.Flush()
	chunk := []byte(endlessElement)
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	} else {
		chunk = []byte(strings.Repeat(endlessElement, 32<<10/len(endlessElement)))
	}
	for {
		if tick != nil {
			select {
			case <-tick:
			case <-r.Context().Done():
				return
			case <-p.closing.Done():
				return
			}
		} else if r.Context().Err() != nil || p.closing.Err() != nil {
			return
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func writeHead(w *bufio.Writer, status int, h http.Header) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(w)
	_, _ = w.WriteString("\r\n")
}

// badGateway answers 502 when the service could not be reached, unless
// the client has gone.
func badGateway(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	problem(w, http.StatusBadGateway, "unavailable", "faultproxy: the service could not be reached")
}

// problem writes an RFC 9457 problem answer of the shape the services
// write.
func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"urn:bff-gateway:problem:%s","title":%q,"status":%d,"detail":%q,"code":%q}`,
		code, http.StatusText(status), status, detail, code)
}

const htmlPage = `<!DOCTYPE html>
<html><head><title>Welcome</title></head>
<body><h1>It works!</h1><p>This is not the service you are looking for.</p></body>
</html>
`

// garbage is what KindGarbage answers: not JSON in any way.
var garbage = []byte("\x00\x1f\x8b garbage <<< not json >>> \xff\xfe{{{")

// endlessElement is what KindEndless sends every interval.
const endlessElement = `{"id":"prd_0000000000000000","name":"endless"},`
