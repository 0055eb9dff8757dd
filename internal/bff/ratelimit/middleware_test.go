package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/requestctx"
)

type costKey struct{}

func withCost(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, costKey{}, n)
}

func costFromContext(ctx context.Context) int {
	n, _ := ctx.Value(costKey{}).(int)
	return n
}

// limited returns a handler behind Middleware over a frozen store, and a
// counter of the requests that reached it.
func limited(t *testing.T, store Store, ops Limit) (http.Handler, *int) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Operations = ops
	calls := new(int)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*calls++
		w.WriteHeader(http.StatusOK)
	})
	return Middleware(store, cfg, costFromContext, nil)(next), calls
}

func serve(h http.Handler, ctx context.Context) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(ctx, "POST", "/graphql", nil)
	r.RemoteAddr = "203.0.113.7:1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddlewareAllowsWithHeaders(t *testing.T) {
	t.Parallel()
	h, calls := limited(t, NewMemoryStore(0, newFakeClock().Now), Limit{Rate: 10, Burst: 100})
	w := serve(h, withCost(context.Background(), 30))
	if w.Code != http.StatusOK || *calls != 1 {
		t.Fatalf("status %d, calls %d; want 200 and 1", w.Code, *calls)
	}
	want := map[string]string{"RateLimit-Limit": "100", "RateLimit-Remaining": "70", "RateLimit-Reset": "3"}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := w.Header().Get("Retry-After"); got != "" {
		t.Errorf("Retry-After = %q on an allowed request", got)
	}
}

func TestMiddlewareRefuses(t *testing.T) {
	t.Parallel()
	h, calls := limited(t, NewMemoryStore(0, newFakeClock().Now), Limit{Rate: 0.5, Burst: 2})
	ctx := requestctx.NewContextWithRequestID(context.Background(), "req-1")
	serve(h, ctx)
	serve(h, ctx)
	w := serve(h, ctx)

	if *calls != 2 {
		t.Errorf("next called %d times, want 2", *calls)
	}
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", w.Code)
	}
	want := map[string]string{
		"Retry-After":         "2",
		"RateLimit-Limit":     "2",
		"RateLimit-Remaining": "0",
		"RateLimit-Reset":     "4",
		"Content-Type":        "application/json; charset=utf-8",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	var body struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if len(body.Errors) != 1 {
		t.Fatalf("body %s: want one error", w.Body)
	}
	e := body.Errors[0]
	if e.Extensions["code"] != "RATE_LIMITED" || e.Extensions["requestId"] != "req-1" {
		t.Errorf("extensions %v, want code RATE_LIMITED and requestId req-1", e.Extensions)
	}
	if e.Message != "rate limit exceeded; retry after 2 seconds" {
		t.Errorf("message %q", e.Message)
	}
}

func TestMiddlewareRetryAfterAtLeastOneSecond(t *testing.T) {
	t.Parallel()
	h, _ := limited(t, NewMemoryStore(0, newFakeClock().Now), Limit{Rate: 1000, Burst: 1})
	serve(h, context.Background())
	w := serve(h, context.Background())
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 429 and 1", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestMiddlewareCostFromContext(t *testing.T) {
	t.Parallel()
	frozen := Limit{Rate: 1e-9, Burst: 150}

	h, calls := limited(t, NewMemoryStore(0, newFakeClock().Now), frozen)
	expensive := withCost(context.Background(), 100)
	if w := serve(h, expensive); w.Code != http.StatusOK {
		t.Fatalf("first cost-100 op: status %d", w.Code)
	}
	if w := serve(h, expensive); w.Code != http.StatusTooManyRequests {
		t.Fatalf("second cost-100 op: status %d, want 429", w.Code)
	}
	if *calls != 1 {
		t.Errorf("next called %d times, want 1", *calls)
	}

	h, calls = limited(t, NewMemoryStore(0, newFakeClock().Now), frozen)
	for i := range 150 {
		if w := serve(h, withCost(context.Background(), 1)); w.Code != http.StatusOK {
			t.Fatalf("cost-1 op %d: status %d", i+1, w.Code)
		}
	}
	if *calls != 150 {
		t.Errorf("next called %d times, want 150", *calls)
	}
	// No cost in the context counts as 1.
	if w := serve(h, context.Background()); w.Code != http.StatusTooManyRequests {
		t.Errorf("op 151: status %d, want 429", w.Code)
	}
}

func TestMiddlewareKeysByPrincipal(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Operations = Limit{Rate: 1e-9, Burst: 1}
	apiKey := func(ctx context.Context) string {
		name, _ := ctx.Value(costKey{}).(string) // reuse a private key for the test
		return name
	}
	h := Middleware(NewMemoryStore(0, newFakeClock().Now), cfg, nil, apiKey)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	user := func(sub string) context.Context {
		return auth.NewContextWithPrincipal(context.Background(), auth.Principal{Subject: sub})
	}
	for _, tc := range []struct {
		ctx  context.Context
		want int
	}{
		{user("u1"), 200}, {user("u1"), 429}, {user("u2"), 200},
		{context.WithValue(context.Background(), costKey{}, "web"), 200},
		{context.WithValue(context.Background(), costKey{}, "web"), 429},
		{context.Background(), 200}, // by IP
		{context.Background(), 429},
	} {
		if w := serve(h, tc.ctx); w.Code != tc.want {
			t.Errorf("status %d, want %d", w.Code, tc.want)
		}
	}
}

type failingStore struct{}

func (failingStore) Take(context.Context, string, int, Limit) (Decision, error) {
	return Decision{}, errors.New("redis: connection refused")
}

func TestMiddlewareFailsOpen(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	ctx := requestctx.NewContextWithLogger(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	h, calls := limited(t, failingStore{}, Limit{Rate: 1, Burst: 1})
	for range 3 {
		if w := serve(h, ctx); w.Code != http.StatusOK {
			t.Fatalf("status %d, want 200", w.Code)
		}
	}
	if *calls != 3 {
		t.Errorf("next called %d times, want 3", *calls)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("store error not logged: %q", logs.String())
	}
}

func TestMiddlewareDisabled(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	cfg := Config{Enabled: false} // invalid limits do not matter when disabled
	h := Middleware(nil, cfg, nil, nil)(next)
	if reflect.ValueOf(h).Pointer() != reflect.ValueOf(next).Pointer() {
		t.Error("disabled Middleware wrapped the handler")
	}
}

func TestMiddlewarePanicsOnInvalidConfig(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	cfg := DefaultConfig()
	cfg.Operations.Rate = 0
	Middleware(NewMemoryStore(0, nil), cfg, nil, nil)
}

func TestMiddlewarePutsClientIPInContext(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	var got netip.Addr
	h := Middleware(NewMemoryStore(0, nil), cfg, nil, nil)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = ClientIPFromContext(r.Context())
	}))
	r := httptest.NewRequest("POST", "/graphql", nil)
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if want := netip.MustParseAddr("198.51.100.1"); got != want {
		t.Errorf("ClientIPFromContext = %v, want %v", got, want)
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	got := DefaultConfig()
	want := Config{
		Enabled:    true,
		Operations: Limit{Rate: 50, Burst: 2000},
		Login: LoginConfig{
			PerIP:      Limit{Rate: 10.0 / 60, Burst: 10},
			PerAccount: Limit{Rate: 5.0 / 60, Burst: 5},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	// A login burst of 10 refills in a minute.
	if d := durationFor(float64(got.Login.PerIP.Burst), got.Login.PerIP.Rate); (d - time.Minute).Abs() > time.Microsecond {
		t.Errorf("login per IP refills in %v, want 1m", d)
	}
}

func TestConfigValidateReportsEveryError(t *testing.T) {
	t.Parallel()
	cfg := Config{Enabled: true, Login: LoginConfig{PerIP: Limit{Rate: 1, Burst: 1}}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"operations: rate", "operations: burst", "login per account: rate", "login per account: burst"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "login per IP") {
		t.Errorf("error %q blames the valid per-IP limit", err)
	}
}
