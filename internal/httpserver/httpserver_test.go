package httpserver

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// start serves h with timeouts t on a loopback port until the test ends.
func start(t *testing.T, h http.Handler, to Timeouts) *Server {
	t.Helper()
	srv, err := Listen(t.Context(), "127.0.0.1:0", h, to, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("the server did not shut down")
		}
	})
	return srv
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

// short are timeouts small enough for tests.
var short = Timeouts{ReadHeader: 200 * time.Millisecond, Read: time.Second, Write: time.Second, Idle: time.Second, Shutdown: time.Second}

func TestDefaultTimeoutsAreAllSet(t *testing.T) {
	v := reflect.ValueOf(DefaultTimeouts)
	for i := range v.NumField() {
		if d := v.Field(i).Interface().(time.Duration); d <= 0 {
			t.Errorf("DefaultTimeouts.%s = %v, want a limit", v.Type().Field(i).Name, d)
		}
	}
	if DefaultTimeouts.ReadHeader > DefaultTimeouts.Read {
		t.Errorf("ReadHeader %v is longer than Read %v", DefaultTimeouts.ReadHeader, DefaultTimeouts.Read)
	}
}

func TestZeroTimeoutsTakeTheDefaults(t *testing.T) {
	s, err := Listen(t.Context(), "127.0.0.1:0", ok, Timeouts{Read: 3 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	got := Timeouts{
		ReadHeader: s.srv.ReadHeaderTimeout, Read: s.srv.ReadTimeout, Write: s.srv.WriteTimeout,
		Idle: s.srv.IdleTimeout, Shutdown: s.shutdown,
	}
	want := DefaultTimeouts
	want.Read = 3 * time.Second
	if got != want {
		t.Errorf("timeouts %+v, want %+v", got, want)
	}
	if s.srv.MaxHeaderBytes != MaxHeaderBytes {
		t.Errorf("MaxHeaderBytes %d, want %d", s.srv.MaxHeaderBytes, MaxHeaderBytes)
	}
}

func TestSlowlorisIsDisconnected(t *testing.T) {
	t.Parallel()
	srv := start(t, ok, short)
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	// Trickle one header byte every 50 ms, never ending the headers,
	// until the server hangs up (writes then fail) or the test gives up.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		if _, err := io.WriteString(conn, "X-Slow: "); err != nil {
			return
		}
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}()

	const limit = 5 * time.Second
	if err := conn.SetReadDeadline(time.Now().Add(limit)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := io.ReadAll(conn)
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		t.Fatalf("a client trickling its headers was still connected after %v", limit)
	}
	if strings.Contains(string(got), " 200 ") {
		t.Errorf("the server answered a request whose headers never ended: %q", got)
	}
	t.Logf("dropped after %v (read: %q, %v)", time.Since(start).Round(time.Millisecond), got, err)
}

func TestOversizedHeadersGet431(t *testing.T) {
	t.Parallel()
	srv := start(t, ok, short)
	send := func(headerBytes int) (int, error) {
		req, err := http.NewRequest(http.MethodGet, srv.URL()+"/", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("X-Big", strings.Repeat("a", headerBytes))
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	// net/http allows some slack over MaxHeaderBytes; well over it is refused.
	status, err := send(MaxHeaderBytes + 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers over MaxHeaderBytes: status %d, want 431", status)
	}
	// Under the limit is served.
	if status, err := send(MaxHeaderBytes / 2); err != nil || status != http.StatusOK {
		t.Errorf("headers of half MaxHeaderBytes: status %d, %v; want 200", status, err)
	}
}

func TestServeAnswersAndShutsDownCleanly(t *testing.T) {
	t.Parallel()
	srv, err := Listen(t.Context(), "127.0.0.1:0", ok, short, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %q", srv.URL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("answer %d %q", resp.StatusCode, body)
	}

	// The idle keep-alive connection does not hold the shutdown.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
}
