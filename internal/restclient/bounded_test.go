package restclient_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/restclient"
)

// countingTransport counts the bytes of answer bodies the client read.
type countingTransport struct {
	read atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// endless writes a JSON array that never ends (or ends after limit bytes
// when limit > 0), counting the bytes written into served, and closes done
// when the handler returns.
func endless(served *atomic.Int64, limit int64, done chan<- struct{}) http.HandlerFunc {
	chunk := []byte(strings.Repeat(`"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",`, 1024)) // 32 KiB
	return func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "application/json")
		if limit > 0 {
			w.Header().Set("Content-Length", strconv.FormatInt(limit, 10))
		}
		n, err := w.Write([]byte("["))
		served.Add(int64(n))
		for err == nil && (limit == 0 || served.Load()+int64(len(chunk)) <= limit) {
			n, err = w.Write(chunk)
			served.Add(int64(n))
		}
	}
}

func TestAnAnswerOverTheBoundIsRefusedWhileItIsRead(t *testing.T) {
	const answer = 64 << 20
	var served atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(endless(&served, answer, done))
	defer srv.Close()
	tr := &countingTransport{}
	c, _ := restclient.New("product", srv.URL, restclient.WithHTTPClient(&http.Client{Transport: tr}),
		restclient.WithCallTimeout(5*time.Second))
	start := time.Now()
	var out []string
	err := c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: "/"}, &out)
	elapsed := time.Since(start)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Unavailable || e.Message != "product service sent an answer too large to read" {
		t.Fatalf("64 MiB answer: %v, want Unavailable, too large", err)
	}
	<-done
	read, sent := tr.read.Load(), served.Load()
	t.Logf("64 MiB answer refused in %v: %d bytes read by the client, %d written by the server (bound %d)",
		elapsed, read, sent, restclient.DefaultMaxAnswerBytes)
	// The bound, its one byte more, and what is drained before closing.
	if max := int64(restclient.DefaultMaxAnswerBytes + 1 + 64<<10 + 32<<10); read > max {
		t.Errorf("the client read %d bytes, want at most %d", read, max)
	}
	// What the server could write is the bound plus the sockets' buffers.
	if sent >= answer/4 {
		t.Errorf("the server wrote %d of %d bytes: the answer was not refused early", sent, answer)
	}
}

func TestTheBoundIsTheClients(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "application/json")
		// A JSON string of exactly n bytes, quotes included.
		_, _ = w.Write([]byte(`"` + strings.Repeat("x", n-2) + `"`))
	}))
	defer srv.Close()
	c, _ := restclient.New("user", srv.URL, restclient.WithMaxAnswerBytes(1024))
	for n, ok := range map[int]bool{1000: true, 1024: true, 1025: false, 100000: false} {
		var out string
		err := c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: "/",
			Query: map[string][]string{"n": {strconv.Itoa(n)}}}, &out)
		switch {
		case ok && (err != nil || len(out) != n-2):
			t.Errorf("%d bytes under a bound of 1024: %v", n, err)
		case !ok && !apperr.Is(err, apperr.Unavailable):
			t.Errorf("%d bytes over a bound of 1024: %v, want Unavailable", n, err)
		}
	}
}

func TestAnswersThatAreNotJSONAreRefused(t *testing.T) {
	var decodedHTML atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// Valid JSON behind an HTML type: it must not even be decoded.
			_, _ = w.Write([]byte(`{"id":"from-a-proxy"}`))
			decodedHTML.Store(true)
		case "/no-type":
			w.Header()["Content-Type"] = nil
			_, _ = w.Write([]byte(`{"id":"x"}`))
		case "/malformed":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"x",}`))
		case "/garbage":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"x"} <html>`))
		case "/duplicate-name":
			// encoding/json took the last; which one the service meant
			// is a guess.
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"x","id":"y"}`))
		case "/invalid-utf8":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{\"id\":\"x\xff\"}"))
		case "/two-values":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"x"} {"id":"y"}`))
		case "/truncated":
			// Announced longer than sent, then the connection closes.
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte(`{"id":"x`))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
		case "/reset":
			// The headers and half the body, then a reset.
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"x`))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		case "/json-utf8", "/problem-type":
			ct := "application/json; charset=utf-8"
			if r.URL.Path == "/problem-type" {
				ct = "application/vnd.acme+json"
			}
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write([]byte(`{"id":"x"}` + "\n\n"))
		}
	}))
	defer srv.Close()
	c, _ := restclient.New("order", srv.URL)
	for path, wantMsg := range map[string]string{
		"/html":           "order service sent an answer that is not JSON",
		"/no-type":        "order service sent an answer that is not JSON",
		"/malformed":      "order service sent an unreadable answer",
		"/garbage":        "order service sent an unreadable answer",
		"/two-values":     "order service sent an unreadable answer",
		"/duplicate-name": "order service sent an unreadable answer",
		"/invalid-utf8":   "order service sent an unreadable answer",
		"/truncated":      "order service sent an unreadable answer",
		"/reset":          "order service sent an unreadable answer",
		"/json-utf8":      "",
		"/problem-type":   "",
	} {
		var out struct {
			ID string `json:"id"`
		}
		err := c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: path}, &out)
		if wantMsg == "" {
			if err != nil || out.ID != "x" {
				t.Errorf("%s: %v %+v", path, err, out)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.Unavailable || e.Message != wantMsg {
			t.Errorf("%s: %v, want Unavailable %q", path, err, wantMsg)
		}
		if strings.HasSuffix(wantMsg, "not JSON") && out.ID != "" {
			t.Errorf("%s: decoded %+v", path, out)
		}
	}
	if !decodedHTML.Load() {
		t.Error("the HTML answer was not sent")
	}
}

func TestSlowAndEndlessAnswersEndAtTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/problem" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(`[`))
		// A byte every 10 ms, for ever: always coming, never enough.
		for {
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := w.Write([]byte(` `)); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	const timeout = 150 * time.Millisecond
	c, _ := restclient.New("product", srv.URL, restclient.WithCallTimeout(timeout))
	for _, path := range []string{"/answer", "/problem"} {
		start := time.Now()
		var out []int
		err := c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: path}, &out)
		d := time.Since(start)
		if !apperr.Is(err, apperr.Timeout) {
			t.Errorf("%s trickling: %v, want Timeout", path, err)
		}
		t.Logf("%s trickling for ever: %v after %v (call timeout %v)", path, err, d, timeout)
		if d < timeout || d > timeout+200*time.Millisecond {
			t.Errorf("%s trickling: returned after %v, want at the %v deadline", path, d, timeout)
		}
	}
}

func TestProblemAnswersAreBounded(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusConflict)
		// A problem with a member of 8 MiB: not a problem this client reads.
		n, _ := w.Write([]byte(`{"code":"not_cancellable","detail":"`))
		served.Add(int64(n))
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 256 {
			n, err := w.Write(chunk)
			served.Add(int64(n))
			if err != nil {
				return
			}
		}
		_, _ = w.Write([]byte(`"}`))
	}))
	defer srv.Close()
	tr := &countingTransport{}
	c, _ := restclient.New("order", srv.URL, restclient.WithHTTPClient(&http.Client{Transport: tr}))
	err := c.Do(context.Background(), restclient.Request{Method: http.MethodPost, Path: "/"}, nil)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Conflict || e.Message != "order service answered 409" {
		t.Fatalf("an 8 MiB problem: %v, want the status's code", err)
	}
	if read := tr.read.Load(); read > 64<<10+1+64<<10+32<<10 {
		t.Errorf("the client read %d bytes of an 8 MiB problem", read)
	}
}

func TestProblemsThatBreakOffAreUnreadableAnd429IsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/broken":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"code":"not_cancel`))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		case "/html-404":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<html>Not Found</html>"))
		case "/429":
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code":"rate_limited","detail":"slow down"}`))
		}
	}))
	defer srv.Close()
	c, _ := restclient.New("order", srv.URL)
	for path, want := range map[string]apperr.Code{
		"/broken":   apperr.Unavailable, // its code is unknown: not "conflict"
		"/html-404": apperr.NotFound,    // whole, but not a problem: the status's code
		"/429":      apperr.Unavailable, // the service's rate, not the caller's
	} {
		err := c.Do(context.Background(), restclient.Request{Method: http.MethodPost, Path: path}, nil)
		if e, ok := apperr.As(err); !ok || e.Code != want {
			t.Errorf("%s: %v, want %s", path, err, want)
		}
	}
}
