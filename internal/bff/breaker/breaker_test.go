package breaker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/restclient"
)

// upstream is a test server whose answer status can be switched and which
// counts the requests it receives.
type upstream struct {
	*httptest.Server
	status atomic.Int32
	hits   atomic.Int32
	hold   atomic.Pointer[chan struct{}] // when set, requests wait on it (or their cancellation)
}

// holdRequests makes requests wait until the returned channel is closed.
func (u *upstream) holdRequests() chan struct{} {
	ch := make(chan struct{})
	u.hold.Store(&ch)
	return ch
}

func newUpstream(t *testing.T, status int) *upstream {
	t.Helper()
	u := &upstream{}
	u.status.Store(int32(status))
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if hold := u.hold.Load(); hold != nil {
			select {
			case <-*hold:
			case <-r.Context().Done():
				return
			}
		}
		s := int(u.status.Load())
		if s >= 400 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(s)
			_, _ = io.WriteString(w, `{"type":"urn:bff-gateway:problem:unavailable","title":"Unavailable","status":503,"code":"unavailable","detail":"database down"}`)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func get(t *testing.T, tr http.RoundTripper, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.RoundTrip(req)
}

// getErr is get for a call expected to fail: it returns the error only,
// closing the body of an answer if one came back all the same.
func getErr(t *testing.T, tr http.RoundTripper, ctx context.Context, url string) error {
	t.Helper()
	resp, err := get(t, tr, ctx, url)
	if resp != nil {
		resp.Body.Close()
	}
	return err
}

func mustState(t *testing.T, tr *breaker.Transport, want breaker.State) {
	t.Helper()
	if got := tr.State(); got != want {
		t.Fatalf("state %q, want %q", got, want)
	}
}

func settings(failures uint32, open time.Duration) breaker.Settings {
	return breaker.Settings{ConsecutiveFailures: failures, OpenTimeout: open, MaxRequests: 1, Interval: time.Hour}
}

func mustNew(t *testing.T, name string, s breaker.Settings, next http.RoundTripper) *breaker.Transport {
	t.Helper()
	tr, err := breaker.New(name, s, next)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestNewRefusesSettingsThatAreNotPositive(t *testing.T) {
	_, err := breaker.New("order", breaker.Settings{}, nil)
	for _, name := range []string{"MaxRequests", "Interval", "OpenTimeout", "ConsecutiveFailures"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("zero settings: error %v does not name %s", err, name)
		}
	}
	if _, err := breaker.New("order", settings(5, time.Second), nil); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}

func TestTripsAfterConsecutiveFailures(t *testing.T) {
	up := newUpstream(t, 500)
	tr := mustNew(t, "order", settings(5, time.Hour), nil)
	for i := range 5 {
		mustState(t, tr, breaker.StateClosed)
		resp, err := get(t, tr, context.Background(), up.URL)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		resp.Body.Close()
	}
	mustState(t, tr, breaker.StateOpen)
}

func TestServerErrorsTripItAndTheAnswerIsStillReturned(t *testing.T) {
	up := newUpstream(t, http.StatusServiceUnavailable)
	var changes []string
	s := settings(3, time.Hour)
	s.OnStateChange = func(name, from, to string) { changes = append(changes, name+":"+from+">"+to) }
	tr := mustNew(t, "order", s, http.DefaultTransport)

	for i := range 3 {
		resp, err := get(t, tr, context.Background(), up.URL)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "database down") {
			t.Errorf("call %d: %d %s, want the 503 answer with its body", i, resp.StatusCode, body)
		}
	}
	mustState(t, tr, breaker.StateOpen)
	if len(changes) != 1 || changes[0] != "order:closed>open" {
		t.Errorf("state changes %v", changes)
	}

	// Open: nothing is sent, the answer is immediate.
	start := time.Now()
	resp, err := get(t, tr, context.Background(), up.URL)
	if resp != nil {
		resp.Body.Close() // there must be none: checked below
	}
	if resp != nil || !apperr.Is(err, apperr.Unavailable) || !errors.Is(err, gobreaker.ErrOpenState) || !breaker.Rejected(err) {
		t.Fatalf("open: %v, %v", resp, err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("a rejected call took %v", d)
	}
	if n := up.hits.Load(); n != 3 {
		t.Errorf("server saw %d requests, want 3", n)
	}
}

// A problem answer is decoded through the breaker, and the refusal of an
// open breaker reaches restclient's callers as Unavailable through the
// *url.Error of http.Client.
func TestThroughRestclient(t *testing.T) {
	up := newUpstream(t, http.StatusServiceUnavailable)
	tr := mustNew(t, "product", settings(2, time.Hour), nil)
	c, err := restclient.New("product", up.URL, restclient.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		err := c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: "/"}, nil)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unavailable || e.Message != "database down" {
			t.Fatalf("problem answer: %v", err)
		}
	}
	err = c.Do(context.Background(), restclient.Request{Method: http.MethodGet, Path: "/"}, nil)
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Unavailable || !breaker.Rejected(err) || !strings.Contains(e.Message, "circuit open") {
		t.Fatalf("open breaker through restclient: %v", err)
	}
	if n := up.hits.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

type failingTransport struct{ calls atomic.Int32 }

func (f *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.calls.Add(1)
	return nil, errors.New("connection refused")
}

func TestTransportErrorsTripIt(t *testing.T) {
	next := &failingTransport{}
	tr := mustNew(t, "user", settings(4, time.Hour), next)
	for i := range 4 {
		if err := getErr(t, tr, context.Background(), "http://user.invalid/"); err == nil || breaker.Rejected(err) {
			t.Fatalf("call %d: %v, want the transport's error", i, err)
		}
	}
	mustState(t, tr, breaker.StateOpen)
	if err := getErr(t, tr, context.Background(), "http://user.invalid/"); !breaker.Rejected(err) {
		t.Fatalf("open: %v", err)
	}
	if n := next.calls.Load(); n != 4 {
		t.Errorf("%d calls reached the transport, want 4", n)
	}
}

func TestOnlyConsecutiveFailuresTripIt(t *testing.T) {
	up := newUpstream(t, 500)
	tr := mustNew(t, "order", settings(3, time.Hour), nil)
	for range 5 {
		for _, status := range []int{500, 500, 200} {
			up.status.Store(int32(status))
			resp, err := get(t, tr, context.Background(), up.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	mustState(t, tr, breaker.StateClosed)
}

func TestClientErrorsAndCancellationsDoNotTripIt(t *testing.T) {
	up := newUpstream(t, http.StatusNotFound)
	tr := mustNew(t, "order", settings(2, time.Hour), nil)
	for _, status := range []int{400, 401, 403, 404, 409, 422, 429} {
		up.status.Store(int32(status))
		resp, err := get(t, tr, context.Background(), up.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mustState(t, tr, breaker.StateClosed)

	defer close(up.holdRequests())
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(5*time.Millisecond, cancel)
		if err := getErr(t, tr, ctx, up.URL); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
	}
	// Already cancelled before it is sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := getErr(t, tr, ctx, up.URL); err == nil {
		t.Fatal("a cancelled call succeeded")
	}
	mustState(t, tr, breaker.StateClosed)
}

func TestDeadlinesAreFailures(t *testing.T) {
	up := newUpstream(t, 200)
	defer close(up.holdRequests())
	tr := mustNew(t, "order", settings(2, time.Hour), nil)
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		err := getErr(t, tr, ctx, up.URL)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("slow call: %v", err)
		}
	}
	mustState(t, tr, breaker.StateOpen)
}

func trip(t *testing.T, tr *breaker.Transport, up *upstream, n int) {
	t.Helper()
	up.status.Store(500)
	for range n {
		resp, err := get(t, tr, context.Background(), up.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mustState(t, tr, breaker.StateOpen)
}

func TestHalfOpenProbe(t *testing.T) {
	const openFor = 30 * time.Millisecond
	t.Run("success closes it", func(t *testing.T) {
		up := newUpstream(t, 500)
		tr := mustNew(t, "order", settings(2, openFor), nil)
		trip(t, tr, up, 2)
		time.Sleep(openFor + 10*time.Millisecond)
		mustState(t, tr, breaker.StateHalfOpen)
		up.status.Store(200)
		resp, err := get(t, tr, context.Background(), up.URL)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("probe: %v %v", resp, err)
		}
		resp.Body.Close()
		mustState(t, tr, breaker.StateClosed)
	})
	t.Run("failure opens it again", func(t *testing.T) {
		up := newUpstream(t, 500)
		tr := mustNew(t, "order", settings(2, openFor), nil)
		trip(t, tr, up, 2)
		time.Sleep(openFor + 10*time.Millisecond)
		mustState(t, tr, breaker.StateHalfOpen)
		resp, err := get(t, tr, context.Background(), up.URL)
		if err != nil || resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("probe: %v %v", resp, err)
		}
		resp.Body.Close()
		mustState(t, tr, breaker.StateOpen)
		if err := getErr(t, tr, context.Background(), up.URL); !breaker.Rejected(err) {
			t.Fatalf("after a failed probe: %v", err)
		}
	})
	t.Run("calls beyond the probes are refused", func(t *testing.T) {
		up := newUpstream(t, 500)
		tr := mustNew(t, "order", settings(2, openFor), nil)
		trip(t, tr, up, 2)
		time.Sleep(openFor + 10*time.Millisecond)
		up.status.Store(200)
		hold := up.holdRequests()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the probe, held by the server
			defer wg.Done()
			resp, err := get(t, tr, context.Background(), up.URL)
			if err == nil {
				resp.Body.Close()
			}
		}()
		for up.hits.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		err := getErr(t, tr, context.Background(), up.URL)
		if !apperr.Is(err, apperr.Unavailable) || !errors.Is(err, gobreaker.ErrTooManyRequests) {
			t.Errorf("second call while probing: %v", err)
		}
		close(hold)
		wg.Wait()
		mustState(t, tr, breaker.StateClosed)
	})
	t.Run("a cancelled probe frees its slot", func(t *testing.T) {
		up := newUpstream(t, 500)
		tr := mustNew(t, "order", settings(2, openFor), nil)
		trip(t, tr, up, 2)
		time.Sleep(openFor + 10*time.Millisecond)
		up.status.Store(200)
		hold := up.holdRequests()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(5*time.Millisecond, cancel)
		if err := getErr(t, tr, ctx, up.URL); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled probe: %v", err)
		}
		mustState(t, tr, breaker.StateHalfOpen)
		close(hold)
		resp, err := get(t, tr, context.Background(), up.URL)
		if err != nil {
			t.Fatalf("next probe: %v", err)
		}
		resp.Body.Close()
		mustState(t, tr, breaker.StateClosed)
	})
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestRefusedRequestBodyIsClosed(t *testing.T) {
	up := newUpstream(t, 500)
	tr := mustNew(t, "order", settings(1, time.Hour), nil)
	trip(t, tr, up, 1)
	body := &closeRecorder{Reader: strings.NewReader(`{}`)}
	req, _ := http.NewRequest(http.MethodPost, up.URL, body)
	resp, err := tr.RoundTrip(req)
	if resp != nil {
		resp.Body.Close() // a refused call has none
	}
	if !breaker.Rejected(err) {
		t.Fatalf("open: %v", err)
	}
	if !body.closed {
		t.Error("the body of a refused request was not closed")
	}
	if tr.Name() != "order" {
		t.Errorf("Name() = %q", tr.Name())
	}
}

type panickyTransport struct{}

func (panickyTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }

func TestPanicCountsAsFailureAndFreesTheProbe(t *testing.T) {
	tr := mustNew(t, "order", settings(1, time.Hour), panickyTransport{})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		_ = getErr(t, tr, context.Background(), "http://order.invalid/") // panics
	}()
	mustState(t, tr, breaker.StateOpen)
}
