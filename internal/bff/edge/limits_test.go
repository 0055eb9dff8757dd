package edge

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/fakeclock"
	"github.com/acme/bff-gateway/internal/requestctx"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type costKey struct{}

func withCost(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, costKey{}, n)
}

func costFromContext(ctx context.Context) int {
	n, _ := ctx.Value(costKey{}).(int)
	return n
}

// counter is a next handler that counts its calls and answers 200.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (c *counter) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// operations returns next behind LimitOperations over store, with the
// cost taken from the context.
func operations(t *testing.T, store ratelimit.Store, l ratelimit.Limit) (http.Handler, *counter) {
	t.Helper()
	c := &counter{}
	return LimitOperations(store, l, costFromContext)(c), c
}

// serveFrom sends a POST from the client at addr (the zero Addr for none)
// with ctx.
func serveFrom(t *testing.T, h http.Handler, ctx context.Context, addr string) *httptest.ResponseRecorder {
	t.Helper()
	if addr != "" {
		ctx = request.NewContextWithClientIP(ctx, netip.MustParseAddr(addr))
	}
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func checkHeaders(t *testing.T, w *httptest.ResponseRecorder, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestLimitOperationsAllowsWithHeaders(t *testing.T) {
	t.Parallel()
	h, c := operations(t, ratelimit.NewMemoryStore(10, fakeclock.New(t0).Now), ratelimit.Limit{Rate: 10, Burst: 100})
	w := serveFrom(t, h, withCost(context.Background(), 30), "203.0.113.7")
	if w.Code != http.StatusOK || c.calls() != 1 {
		t.Fatalf("status %d, calls %d; want 200 and 1", w.Code, c.calls())
	}
	checkHeaders(t, w, map[string]string{
		"RateLimit-Limit": "100", "RateLimit-Remaining": "70", "RateLimit-Reset": "3", "Retry-After": "",
	})
}

func TestLimitOperationsRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ accept, wantCT string }{
		{"", ctJSON},
		{"application/graphql-response+json", ctGRJ},
	} {
		t.Run("Accept "+tt.accept, func(t *testing.T) {
			t.Parallel()
			h, c := operations(t, ratelimit.NewMemoryStore(10, fakeclock.New(t0).Now), ratelimit.Limit{Rate: 0.5, Burst: 2})
			ctx := requestctx.NewContextWithRequestID(context.Background(), "req-1")
			var w *httptest.ResponseRecorder
			for range 3 {
				r := httptest.NewRequestWithContext(request.NewContextWithClientIP(ctx, netip.MustParseAddr("203.0.113.7")),
					http.MethodPost, "/graphql", nil)
				if tt.accept != "" {
					r.Header.Set("Accept", tt.accept)
				}
				w = httptest.NewRecorder()
				h.ServeHTTP(w, r)
			}
			if c.calls() != 2 {
				t.Errorf("next called %d times, want 2", c.calls())
			}
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("status %d, want 429", w.Code)
			}
			checkHeaders(t, w, map[string]string{
				"Retry-After": "2", "RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "4",
				"Content-Type": tt.wantCT,
			})
			e := decodeRefusal(t, w.Body.Bytes())
			if e.Code != CodeRateLimited || e.RequestID != "req-1" {
				t.Errorf("extensions %v, want code RATE_LIMITED and requestId req-1", e.Extensions)
			}
			if e.Message != "rate limit exceeded; retry after 2 seconds" {
				t.Errorf("message %q", e.Message)
			}
		})
	}
}

func TestLimitOperationsRetryAfterAtLeastOneSecond(t *testing.T) {
	t.Parallel()
	h, _ := operations(t, ratelimit.NewMemoryStore(10, fakeclock.New(t0).Now), ratelimit.Limit{Rate: 1000, Burst: 1})
	serveFrom(t, h, context.Background(), "203.0.113.7")
	w := serveFrom(t, h, context.Background(), "203.0.113.7")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 429 and 1", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestLimitOperationsRefills(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(t0)
	h, c := operations(t, ratelimit.NewMemoryStore(10, clock.Now), ratelimit.Limit{Rate: 0.5, Burst: 1})
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 200}, {0, 429}, {1999 * time.Millisecond, 429}, {time.Millisecond, 200}, {0, 429},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if w := serveFrom(t, h, context.Background(), "203.0.113.7"); w.Code != s.want {
			t.Errorf("step %d (+%v): status %d, want %d", i, s.advance, w.Code, s.want)
		}
	}
	if c.calls() != 2 {
		t.Errorf("next called %d times, want 2", c.calls())
	}
}

func TestLimitOperationsCostFromContext(t *testing.T) {
	t.Parallel()
	l := ratelimit.Limit{Rate: 1, Burst: 150} // the clock never moves

	h, c := operations(t, ratelimit.NewMemoryStore(10, fakeclock.New(t0).Now), l)
	expensive := withCost(context.Background(), 100)
	if w := serveFrom(t, h, expensive, "203.0.113.7"); w.Code != http.StatusOK || w.Header().Get("RateLimit-Remaining") != "50" {
		t.Fatalf("first cost-100 op: status %d, remaining %q; want 200, 50", w.Code, w.Header().Get("RateLimit-Remaining"))
	}
	w := serveFrom(t, h, expensive, "203.0.113.7")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "50" {
		t.Fatalf("second cost-100 op: status %d, Retry-After %q; want 429, 50", w.Code, w.Header().Get("Retry-After"))
	}
	if c.calls() != 1 {
		t.Errorf("next called %d times, want 1", c.calls())
	}

	h, c = operations(t, ratelimit.NewMemoryStore(10, fakeclock.New(t0).Now), l)
	for i := range 148 {
		if w := serveFrom(t, h, withCost(context.Background(), 1), "203.0.113.7"); w.Code != http.StatusOK {
			t.Fatalf("cost-1 op %d: status %d", i+1, w.Code)
		}
	}
	// No cost in the context, and a negative one, count as 1.
	if w := serveFrom(t, h, context.Background(), "203.0.113.7"); w.Code != http.StatusOK || w.Header().Get("RateLimit-Remaining") != "1" {
		t.Errorf("op 149 (no cost): status %d, remaining %q; want 200, 1", w.Code, w.Header().Get("RateLimit-Remaining"))
	}
	if w := serveFrom(t, h, withCost(context.Background(), -5), "203.0.113.7"); w.Code != http.StatusOK || w.Header().Get("RateLimit-Remaining") != "0" {
		t.Errorf("op 150 (cost -5): status %d, remaining %q; want 200, 0", w.Code, w.Header().Get("RateLimit-Remaining"))
	}
	if w := serveFrom(t, h, context.Background(), "203.0.113.7"); w.Code != http.StatusTooManyRequests {
		t.Errorf("op 151: status %d, want 429", w.Code)
	}
	if c.calls() != 150 {
		t.Errorf("next called %d times, want 150", c.calls())
	}
}

func TestLimitOperationsCostAboveBurst(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	ctx := requestctx.NewContextWithLogger(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	h, c := operations(t, ratelimit.NewMemoryStore(10, fakeclock.New(t0).Now), ratelimit.Limit{Rate: 10, Burst: 5})
	w := serveFrom(t, h, withCost(ctx, 50), "203.0.113.7")
	if w.Code != http.StatusTooManyRequests || c.calls() != 0 {
		t.Fatalf("status %d, calls %d; want 429 and 0", w.Code, c.calls())
	}
	// Never allowed: it is told to wait cost / rate, and nothing was spent.
	checkHeaders(t, w, map[string]string{"Retry-After": "5", "RateLimit-Limit": "5", "RateLimit-Remaining": "5"})
	if !strings.Contains(logs.String(), "can never be allowed") || !strings.Contains(logs.String(), "cost=50") {
		t.Errorf("not logged: %q", logs.String())
	}
}

// recordingStore records the keys and costs it is asked for and allows
// everything.
type recordingStore struct {
	mu    sync.Mutex
	keys  []string
	costs []int
}

func (s *recordingStore) Take(_ context.Context, key string, cost int, l ratelimit.Limit) (ratelimit.Decision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, key)
	s.costs = append(s.costs, cost)
	return ratelimit.Decision{Allowed: true, Limit: l.Burst, Remaining: l.Burst}, nil
}

func TestLimitKeys(t *testing.T) {
	t.Parallel()
	user := func(ctx context.Context, sub string) context.Context {
		return auth.NewContextWithPrincipal(ctx, auth.Principal{Subject: sub})
	}
	app := request.NewContextWithApp
	bg := context.Background()
	tests := []struct {
		name     string
		ctx      context.Context
		addr     string
		wantOps  string
		wantAddr string
	}{
		{name: "user wins over app and address", ctx: app(user(withCost(bg, 7), "u1"), "ios"), addr: "203.0.113.7", wantOps: "user:u1", wantAddr: "ip:203.0.113.7"},
		{name: "app wins over address", ctx: app(withCost(bg, 7), "ios"), addr: "203.0.113.7", wantOps: "key:ios", wantAddr: "ip:203.0.113.7"},
		{name: "principal without subject falls through", ctx: app(user(withCost(bg, 7), ""), "ios"), addr: "203.0.113.7", wantOps: "key:ios", wantAddr: "ip:203.0.113.7"},
		{name: "anonymous: address", ctx: withCost(bg, 7), addr: "203.0.113.7", wantOps: "ip:203.0.113.7", wantAddr: "ip:203.0.113.7"},
		{name: "IPv6 grouped by /64", ctx: withCost(bg, 7), addr: "2001:db8:1:2:aaaa::1", wantOps: "ip:2001:db8:1:2::/64", wantAddr: "ip:2001:db8:1:2::/64"},
		{name: "no address", ctx: withCost(bg, 7), wantOps: "ip:unknown", wantAddr: "ip:unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ops, addrs := &recordingStore{}, &recordingStore{}
			l := ratelimit.Limit{Rate: 1, Burst: 10}
			c := &counter{}
			h := LimitAddresses(addrs, l)(LimitOperations(ops, l, costFromContext)(c))
			serveFrom(t, h, tt.ctx, tt.addr)
			if c.calls() != 1 {
				t.Fatalf("next called %d times, want 1", c.calls())
			}
			if len(addrs.keys) != 1 || addrs.keys[0] != tt.wantAddr || addrs.costs[0] != 1 {
				t.Errorf("LimitAddresses took %v %v, want [%s] [1]", addrs.keys, addrs.costs, tt.wantAddr)
			}
			if len(ops.keys) != 1 || ops.keys[0] != tt.wantOps || ops.costs[0] != 7 {
				t.Errorf("LimitOperations took %v %v, want [%s] [7]", ops.keys, ops.costs, tt.wantOps)
			}
		})
	}
}

func TestLimitOperationsKeysByPrincipal(t *testing.T) {
	t.Parallel()
	h, _ := operations(t, ratelimit.NewMemoryStore(100, fakeclock.New(t0).Now), ratelimit.Limit{Rate: 1, Burst: 1})
	bg := context.Background()
	user := func(sub string) context.Context {
		return auth.NewContextWithPrincipal(bg, auth.Principal{Subject: sub})
	}
	for i, tc := range []struct {
		ctx  context.Context
		addr string
		want int
	}{
		{user("u1"), "203.0.113.7", 200},
		{user("u1"), "198.51.100.1", 429}, // the user's bucket, wherever from
		{user("u2"), "203.0.113.7", 200},
		{request.NewContextWithApp(bg, "web"), "203.0.113.7", 200},
		{request.NewContextWithApp(bg, "web"), "198.51.100.2", 429},
		{bg, "203.0.113.7", 200}, // by address
		{bg, "203.0.113.7", 429},
		{bg, "203.0.113.8", 200},
	} {
		if w := serveFrom(t, h, tc.ctx, tc.addr); w.Code != tc.want {
			t.Errorf("request %d: status %d, want %d", i, w.Code, tc.want)
		}
	}
}

func TestLimitAddressesKeysByAddressOnly(t *testing.T) {
	t.Parallel()
	c := &counter{}
	h := LimitAddresses(ratelimit.NewMemoryStore(100, fakeclock.New(t0).Now), ratelimit.Limit{Rate: 1, Burst: 1})(c)
	bg := context.Background()
	for i, tc := range []struct {
		ctx  context.Context
		addr string
		want int
	}{
		{auth.NewContextWithPrincipal(withCost(bg, 500), auth.Principal{Subject: "u1"}), "203.0.113.7", 200}, // one token, whatever the cost
		{auth.NewContextWithPrincipal(bg, auth.Principal{Subject: "u2"}), "203.0.113.7", 429},                // another user, same address
		{request.NewContextWithApp(bg, "web"), "203.0.113.7", 429},
		{bg, "203.0.113.8", 200},
		{bg, "2001:db8:1:2::1", 200},
		{bg, "2001:db8:1:2::ffff", 429}, // the same /64
		{bg, "2001:db8:1:3::1", 200},
	} {
		if w := serveFrom(t, h, tc.ctx, tc.addr); w.Code != tc.want {
			t.Errorf("request %d from %s: status %d, want %d", i, tc.addr, w.Code, tc.want)
		}
	}
	if c.calls() != 4 {
		t.Errorf("next called %d times, want 4", c.calls())
	}
}

// TestLimitAddressesBehindBegin checks that the address limit keys by the
// address Begin determined, X-Forwarded-For from a trusted proxy included.
func TestLimitAddressesBehindBegin(t *testing.T) {
	t.Parallel()
	store := &recordingStore{}
	c := &counter{}
	h := Begin(time.Minute, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})(
		LimitAddresses(store, ratelimit.Limit{Rate: 1, Burst: 5})(c))
	for _, tc := range []struct{ remote, xff, want string }{
		{"10.0.0.1:1", "198.51.100.1", "ip:198.51.100.1"},
		{"203.0.113.7:1", "198.51.100.1", "ip:203.0.113.7"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("X-Forwarded-For", tc.xff)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Header().Get("RateLimit-Limit") != "5" {
			t.Errorf("%s: status %d, RateLimit-Limit %q; want 200, 5", tc.remote, w.Code, w.Header().Get("RateLimit-Limit"))
		}
		if got := store.keys[len(store.keys)-1]; got != tc.want {
			t.Errorf("%s via %s: key %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}

type failingStore struct{}

func (failingStore) Take(context.Context, string, int, ratelimit.Limit) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("redis: connection refused")
}

func TestLimitsFailOpen(t *testing.T) {
	t.Parallel()
	l := ratelimit.Limit{Rate: 1, Burst: 1}
	for name, mw := range map[string]func(http.Handler) http.Handler{
		"operations": LimitOperations(failingStore{}, l, costFromContext),
		"addresses":  LimitAddresses(failingStore{}, l),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			ctx := requestctx.NewContextWithLogger(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
			c := &counter{}
			h := mw(c)
			for range 3 {
				w := serveFrom(t, h, ctx, "203.0.113.7")
				if w.Code != http.StatusOK {
					t.Fatalf("status %d, want 200", w.Code)
				}
				checkHeaders(t, w, map[string]string{"RateLimit-Limit": "", "Retry-After": ""})
			}
			if c.calls() != 3 {
				t.Errorf("next called %d times, want 3", c.calls())
			}
			if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "ip:203.0.113.7") {
				t.Errorf("store error not logged with its key: %q", logs.String())
			}
		})
	}
}

func TestLimitsPanicOnInvalidLimit(t *testing.T) {
	t.Parallel()
	store := ratelimit.NewMemoryStore(1, nil)
	for _, l := range []ratelimit.Limit{
		{Rate: 0, Burst: 1},
		{Rate: -1, Burst: 1},
		{Rate: math.NaN(), Burst: 1},
		{Rate: math.Inf(1), Burst: 1},
		{Rate: 1, Burst: 0},
	} {
		for name, build := range map[string]func(){
			"LimitAddresses":  func() { LimitAddresses(store, l) },
			"LimitOperations": func() { LimitOperations(store, l, costFromContext) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s(%+v) did not panic", name, l)
					}
				}()
				build()
			}()
		}
	}
}

// TestOnRefuseHearsEveryRefusal counts the refusals of a limit with a
// burst of one.
func TestOnRefuseHearsEveryRefusal(t *testing.T) {
	t.Parallel()
	var refused atomic.Int32
	store := ratelimit.NewMemoryStore(10, fakeclock.New(time.Unix(0, 0)).Now)
	h := Begin(time.Minute, nil)(LimitAddresses(store, ratelimit.Limit{Rate: 1e-3, Burst: 1}, OnRefuse(func() { refused.Add(1) }))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	for range 4 {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.RemoteAddr = "198.51.100.9:4000"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := refused.Load(); n != 3 {
		t.Errorf("OnRefuse heard %d refusals, want 3", n)
	}
}
