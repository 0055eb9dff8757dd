package restclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/restclient"
)

func TestCallTimeoutBoundsTheWholeCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			// The headers come at once; the body never ends in time.
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"a":`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c, err := restclient.New("order", srv.URL, restclient.WithCallTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/slow-headers", "/slow-body"} {
		start := time.Now()
		var out map[string]any
		err := c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: path}, &out)
		if !apperr.Is(err, apperr.Timeout) {
			t.Errorf("%s: %v, want timeout", path, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", path, d)
		}
	}

	// A caller's cancellation stays a cancellation, not a timeout.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	err = c.Do(ctx, restclient.Request{Method: http.MethodGet, Path: "/slow-headers"}, nil)
	if !errors.Is(err, context.Canceled) || apperr.Is(err, apperr.Timeout) || apperr.Is(err, apperr.Unavailable) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestAnswersAreReadToTheEndSoConnectionsAreReused(t *testing.T) {
	var conns atomic.Int32
	big := `{"items":["` + strings.Repeat("x", 64<<10) + `"]}` + "\n" + strings.Repeat(" ", 256<<10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Written in pieces so that the answer is chunked, without a length.
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < len(big); i += 1000 {
			_, _ = w.Write([]byte(big[i:min(i+1000, len(big))]))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, _ := restclient.New("product", srv.URL,
		restclient.WithHTTPClient(&http.Client{Transport: &http.Transport{}}))
	for range 5 {
		var out struct{ Items []string }
		if err := c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: "/"}, &out); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential calls, want 1", n)
	}
}
