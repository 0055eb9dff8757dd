package faultproxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/testutil/faultproxy"
)

// service is the upstream of the tests: it answers a JSON document of a
// few kilobytes and counts what it did.
type service struct {
	*httptest.Server
	done atomic.Int64 // requests it answered
}

// answer is the service's JSON answer.
var answer = func() []byte {
	items := make([]map[string]any, 40)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("prd_%016d", i), "name": "A product with a name"}
	}
	b, _ := json.Marshal(map[string]any{"products": items})
	return b
}()

func startService(t *testing.T) *service {
	t.Helper()
	s := &service{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Path", r.URL.Path)
		w.Header().Set("X-Query", r.URL.RawQuery)
		w.Header().Set("X-Body", string(body))
		w.Header().Set("X-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Idempotency-Key-Seen", r.Header.Get("Idempotency-Key"))
		s.done.Add(1)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(s.Close)
	return s
}

// fresh returns a client that never reuses a connection of another test
// and gives up after d.
func fresh(t *testing.T, d time.Duration) *http.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: d}
}

// got is an answer of the proxy, its body read as far as it went.
type got struct {
	status int
	header http.Header
	length int64 // Content-Length, -1 when unknown
	body   []byte
}

// get GETs url; err is the error of the request or of reading the body
// (then got has what came before it, status 0 when nothing did).
func get(t *testing.T, c *http.Client, url string) (got, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return got{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return got{status: resp.StatusCode, header: resp.Header, length: resp.ContentLength, body: body}, err
}

func mustGet(t *testing.T, c *http.Client, url string) got {
	t.Helper()
	g, err := get(t, c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return g
}

func TestPassesRequestsAndAnswersThrough(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	c := fresh(t, 5*time.Second)

	req, _ := http.NewRequest(http.MethodPost, p.URL+"/v1/orders/a%2Fb?x=1&y=2", strings.NewReader(`{"a":1}`))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Idempotency-Key", "k1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != string(answer) {
		t.Fatalf("status %d, body %.100s", resp.StatusCode, body)
	}
	for h, want := range map[string]string{
		"X-Method": http.MethodPost, "X-Path": "/v1/orders/a/b", "X-Query": "x=1&y=2", "X-Body": `{"a":1}`,
		"X-Auth": "Bearer tok", "X-Idempotency-Key-Seen": "k1", "Content-Type": "application/json",
	} {
		if v := resp.Header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	if p.Requests() != 1 || p.Faulted() != 0 {
		t.Errorf("requests %d, faulted %d; want 1, 0", p.Requests(), p.Faulted())
	}
}

func TestLatencyDelaysWithJitter(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	c := fresh(t, 5*time.Second)
	p.Set(faultproxy.Latency(50*time.Millisecond, 25*time.Millisecond))
	var lo, hi time.Duration
	for i := range 6 {
		start := time.Now()
		g := mustGet(t, c, p.URL+"/v1/products")
		d := time.Since(start)
		if g.status != http.StatusOK || string(g.body) != string(answer) {
			t.Fatalf("status %d body %.100s", g.status, g.body)
		}
		if i == 0 || d < lo {
			lo = d
		}
		hi = max(hi, d)
	}
	if lo < 25*time.Millisecond || hi > 75*time.Millisecond+500*time.Millisecond {
		t.Errorf("delays from %s to %s, want 50ms±25ms (plus the round trip)", lo, hi)
	}
	if p.Faulted() != 6 {
		t.Errorf("faulted %d, want 6", p.Faulted())
	}
}

func TestResetMidBody(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.ResetMidBody())
	for range 3 {
		c := fresh(t, 5*time.Second)
		g, err := get(t, c, p.URL+"/v1/products")
		if err == nil {
			t.Fatalf("no error; status %d, %d bytes", g.status, len(g.body))
		}
		if g.status != 0 {
			// The headers came: they declare the whole body, which never came.
			if g.status != http.StatusOK || g.length != int64(len(answer)) || len(g.body) >= len(answer) {
				t.Errorf("status %d, Content-Length %d, read %d of %d", g.status, g.length, len(g.body), len(answer))
			}
		}
	}
	if got := svc.done.Load(); got != 3 {
		t.Errorf("the service did %d requests, want 3: the fault strikes after it answered", got)
	}
	waitIdle(t, p)
}

// TestResetMidBodyIsAReset reads the raw connection: the headers and half
// of the body come, then the connection is reset, not closed.
func TestResetMidBodyIsAReset(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.ResetMidBody())
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /v1/products HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(conn)
	if err == nil || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read error %v, want a connection reset", err)
	}
	head, body, ok := strings.Cut(string(got), "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK") || !strings.Contains(head, "Content-Length: "+strconv.Itoa(len(answer))) {
		t.Fatalf("head %q", head)
	}
	if len(body) != len(answer)/2 {
		t.Errorf("%d bytes of body, want %d", len(body), len(answer)/2)
	}
}

func TestUnavailableBurstThenPass(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	c := fresh(t, 5*time.Second)
	p.Set(faultproxy.Unavailable().Times(2))
	for i, want := range []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK, http.StatusOK} {
		g := mustGet(t, c, p.URL+"/v1/products")
		if g.status != want {
			t.Fatalf("request %d: status %d, want %d", i, g.status, want)
		}
		if want == http.StatusServiceUnavailable {
			if ct := g.header.Get("Content-Type"); ct != "application/problem+json" || !json.Valid(g.body) {
				t.Errorf("503 answer %q %s", ct, g.body)
			}
		}
	}
	if svc.done.Load() != 2 || p.Faulted() != 2 || p.Requests() != 4 {
		t.Errorf("service did %d, faulted %d, requests %d; want 2, 2, 4", svc.done.Load(), p.Faulted(), p.Requests())
	}
	// Set again: the count starts afresh.
	p.Set(faultproxy.Unavailable().Times(1))
	if g := mustGet(t, c, p.URL+"/v1/products"); g.status != http.StatusServiceUnavailable {
		t.Errorf("after Set again: %d, want 503", g.status)
	}
}

func TestTooManyRequestsWithRetryAfter(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	c := fresh(t, 5*time.Second)
	p.Set(faultproxy.TooManyRequests("").Times(1))
	g := mustGet(t, c, p.URL+"/v1/products")
	if g.status != http.StatusTooManyRequests || g.header.Get("Retry-After") != "1" || !json.Valid(g.body) {
		t.Fatalf("status %d, Retry-After %q, body %s", g.status, g.header.Get("Retry-After"), g.body)
	}
	if g := mustGet(t, c, p.URL+"/v1/products"); g.status != http.StatusOK {
		t.Errorf("second request: %d, want 200", g.status)
	}
}

func TestHTMLPage(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.HTMLPage())
	g := mustGet(t, fresh(t, 5*time.Second), p.URL+"/v1/products")
	if g.status != http.StatusOK || !strings.HasPrefix(g.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(g.body), "<html>") || json.Valid(g.body) {
		t.Errorf("status %d, type %q, body %q", g.status, g.header.Get("Content-Type"), g.body)
	}
	if svc.done.Load() != 0 {
		t.Errorf("the service was called")
	}
}

func TestGarbage(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.Garbage())
	g := mustGet(t, fresh(t, 5*time.Second), p.URL+"/v1/products")
	if g.status != http.StatusOK || g.header.Get("Content-Type") != "application/json" || json.Valid(g.body) || len(g.body) == 0 {
		t.Errorf("status %d, type %q, body %q", g.status, g.header.Get("Content-Type"), g.body)
	}
}

func TestTruncatedJSON(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.Truncated())
	g, err := get(t, fresh(t, 5*time.Second), p.URL+"/v1/products")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read error %v, want unexpected EOF", err)
	}
	if g.status != http.StatusOK || g.length != int64(len(answer)) {
		t.Errorf("status %d, Content-Length %d, want 200 and %d", g.status, g.length, len(answer))
	}
	if string(g.body) != string(answer[:len(answer)/2]) {
		t.Errorf("body %q, want the first half of the answer", g.body)
	}
	if svc.done.Load() != 1 {
		t.Errorf("the service did %d requests, want 1", svc.done.Load())
	}
	waitIdle(t, p)
}

func TestEndlessBodyEndsWhenTheClientGoes(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.Endless())
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/v1/products", nil)
	resp, err := fresh(t, 0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || resp.ContentLength != -1 {
		t.Errorf("status %d, type %q, length %d", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength)
	}
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read ended with %v, want the client's deadline", err)
	}
	if len(body) < 100 || !strings.HasPrefix(string(body), `{"products":[`) {
		t.Errorf("%d bytes: %.80q", len(body), body)
	}
	if !p.WaitIdle(2 * time.Second) {
		t.Errorf("the endless answer goes on after the client went")
	}
}

func TestFloodSendsAsFastAsTheClientReads(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.Flood())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/v1/products", nil)
	resp, err := fresh(t, 0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	const want = 16 << 20
	n, err := io.CopyN(io.Discard, resp.Body, want)
	resp.Body.Close()
	if err != nil || n != want {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if !p.WaitIdle(2 * time.Second) {
		t.Errorf("the flood goes on after the client went")
	}
}

func TestHangEndsWhenTheClientGoes(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.Hang())
	start := time.Now()
	_, err := get(t, fresh(t, 100*time.Millisecond), p.URL+"/v1/products")
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %s, want the client's timeout", err, time.Since(start))
	}
	if !p.WaitIdle(2 * time.Second) {
		t.Errorf("the hung request goes on after the client went")
	}
	if svc.done.Load() != 0 {
		t.Errorf("a hung request reached the service")
	}
	waitIdle(t, p)
}

func TestDropAfterUpstream(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	p.Set(faultproxy.DropAfterUpstream().Only(faultproxy.Method(http.MethodPost)))
	c := fresh(t, 5*time.Second)
	resp, err := c.Post(p.URL+"/v1/orders", "application/json", strings.NewReader(`{}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("an answer came: %d", resp.StatusCode)
	}
	if svc.done.Load() != 1 {
		t.Errorf("the service did %d requests, want 1: the drop comes after it answered", svc.done.Load())
	}
	// Only POSTs: a GET passes, and does not count.
	if g := mustGet(t, c, p.URL+"/v1/products"); g.status != http.StatusOK {
		t.Errorf("GET: %d", g.status)
	}
	if p.Faulted() != 1 || p.Requests() != 2 {
		t.Errorf("faulted %d, requests %d; want 1, 2", p.Faulted(), p.Requests())
	}
	waitIdle(t, p)
}

func TestClearPassesAgain(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	c := fresh(t, 5*time.Second)
	p.Set(faultproxy.Unavailable())
	if g := mustGet(t, c, p.URL+"/"); g.status != http.StatusServiceUnavailable {
		t.Fatalf("%d", g.status)
	}
	p.Clear()
	if p.Fault().Kind != faultproxy.KindNone {
		t.Errorf("fault %v after Clear", p.Fault())
	}
	if g := mustGet(t, c, p.URL+"/"); g.status != http.StatusOK {
		t.Fatalf("after Clear: %d", g.status)
	}
}

// TestSwitchingUnderLoad sets and clears faults while requests flow (run
// with -race): every answer is one a fault or the service gives.
func TestSwitchingUnderLoad(t *testing.T) {
	svc := startService(t)
	p := faultproxy.Start(t, svc.URL)
	faults := []faultproxy.Fault{
		faultproxy.None(), faultproxy.Unavailable().Times(3), faultproxy.TooManyRequests("2"),
		faultproxy.Latency(time.Millisecond, time.Millisecond), faultproxy.HTMLPage(), faultproxy.Garbage(),
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.Set(faults[i%len(faults)])
			_ = p.Fault().String()
			_ = p.Faulted()
			time.Sleep(time.Millisecond)
		}
	})
	var n atomic.Int64
	for range 4 {
		wg.Go(func() {
			c := fresh(t, 5*time.Second)
			for range 30 {
				g, err := get(t, c, p.URL+"/v1/products")
				if err != nil {
					t.Errorf("GET: %v", err)
					return
				}
				switch g.status {
				case http.StatusOK, http.StatusTooManyRequests, http.StatusServiceUnavailable:
					n.Add(1)
				default:
					t.Errorf("status %d", g.status)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if got := p.Requests(); got != int(n.Load()) {
		t.Errorf("counted %d requests, sent %d", got, n.Load())
	}
}

// TestCloseEndsEverything closes a proxy with requests hanging, endless
// answers being sent and connections idle: Close returns at once, every
// client gets an error, and no goroutine is left.
func TestCloseEndsEverything(t *testing.T) {
	svc := startService(t)
	before := runtime.NumGoroutine()
	p, err := faultproxy.New(svc.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := fresh(t, 0)
	if g := mustGet(t, c, p.URL+"/"); g.status != http.StatusOK {
		t.Fatal(g.status)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		if i%2 == 0 {
			p.Set(faultproxy.Hang())
		} else {
			p.Set(faultproxy.Endless())
		}
		wg.Go(func() {
			_, err := get(t, fresh(t, 0), p.URL+"/v1/products")
			errs <- err
		})
		for p.InFlight() <= i {
			time.Sleep(time.Millisecond)
		}
	}
	if p.Open() < 7 {
		t.Errorf("%d open connections, want at least 7", p.Open())
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s", d)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil {
			t.Errorf("a client got a whole answer from a closed proxy")
		}
	}
	if p.InFlight() != 0 || p.Open() != 0 {
		t.Errorf("after Close: %d in flight, %d open", p.InFlight(), p.Open())
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	c.CloseIdleConnections()
	svc.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestFaultNames(t *testing.T) {
	for f, want := range map[*faultproxy.Fault]string{
		ptr(faultproxy.Latency(50*time.Millisecond, 25*time.Millisecond)):                   "latency 50ms±25ms",
		ptr(faultproxy.Unavailable().Times(2)):                                              "503 ×2",
		ptr(faultproxy.TooManyRequests("").Times(1)):                                        "429 retry-after 1 ×1",
		ptr(faultproxy.DropAfterUpstream().Only(faultproxy.Method(http.MethodPost))):        "drop after upstream on POST",
		ptr(faultproxy.ResetMidBody().Times(1).Only(faultproxy.PathPrefix("/v1/products"))): "reset mid-body ×1 on /v1/products*",
		ptr(faultproxy.None()):  "none",
		ptr(faultproxy.Flood()): "endless body flood",
	} {
		if got := f.String(); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// waitIdle fails t unless the proxy is soon busy with no request.
func waitIdle(t *testing.T, p *faultproxy.Proxy) {
	t.Helper()
	if !p.WaitIdle(2 * time.Second) {
		t.Errorf("%d requests still in flight", p.InFlight())
	}
}
