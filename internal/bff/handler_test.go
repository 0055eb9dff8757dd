package bff

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/upstream"
)

// tinySchema is an executable schema with one field, Query.name, that
// answers "bff" without calling anything.
func tinySchema() graphql.ExecutableSchema {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: "type Query { name: String! }"})
	return &graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			done := false
			return func(context.Context) *graphql.Response {
				if done {
					return nil
				}
				done = true
				return &graphql.Response{Data: []byte(`{"name":"bff"}`)}
			}
		},
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) { return 1, true },
	}
}

// counting returns middleware that counts the requests it sees.
func counting(n *atomic.Int32) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			next.ServeHTTP(w, r)
		})
	}
}

// newTestHandler builds a BFF handler over services that are not there
// (nothing in these tests calls them) with the tiny schema.
func newTestHandler(t *testing.T, configure func(*config.Config), before, after *atomic.Int32) (http.Handler, Deps) {
	t.Helper()
	cfg := config.Default(config.Web)
	cfg.Services = config.Services{UserURL: "http://127.0.0.1:1", OrderURL: "http://127.0.0.1:1", ProductURL: "http://127.0.0.1:1"}
	if configure != nil {
		configure(&cfg)
	}
	if err := cfg.Validate(config.Web); err != nil {
		t.Fatal(err)
	}
	d, err := NewDeps(Options{Kind: config.Web, Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(d, HandlerConfig{
		Schema:      tinySchema(),
		BeforeGuard: []Middleware{counting(before)},
		AfterGuard:  []Middleware{counting(after)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, d
}

func post(h http.Handler, query string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":`+query+`}`))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = "203.0.113.7:1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestTheHooksRunBeforeAndAfterTheGuard checks the order NewHandler
// promises: BeforeGuard sees every request, AfterGuard only those the
// guard passed, and the operation runs after both.
func TestTheHooksRunBeforeAndAfterTheGuard(t *testing.T) {
	var before, after atomic.Int32
	h, _ := newTestHandler(t, nil, &before, &after)

	w := post(h, `"{ name }"`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"name":"bff"`) || before.Load() != 1 || after.Load() != 1 {
		t.Fatalf("a good query: %d %s; before %d, after %d", w.Code, w.Body, before.Load(), after.Load())
	}
	deep := `"{ a { a { a { a { a { a { a { a { a { a { a { a { a { name } } } } } } } } } } } } } }"`
	w = post(h, deep)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "QUERY_TOO_DEEP") {
		t.Fatalf("a query too deep: %d %s", w.Code, w.Body)
	}
	if before.Load() != 2 || after.Load() != 1 {
		t.Errorf("after a guard refusal: before ran %d times, after %d; want 2 and 1", before.Load(), after.Load())
	}
}

// TestRateLimitsFollowTheConfiguration checks that the operation limit's
// headers come with an answer when rate limiting is on, and that nothing
// is limited when it is off.
func TestRateLimitsFollowTheConfiguration(t *testing.T) {
	var before, after atomic.Int32
	h, _ := newTestHandler(t, func(c *config.Config) { c.RateLimit.RequestBurstPerAddress = 2 }, &before, &after)
	if w := post(h, `"{ name }"`); w.Header().Get("RateLimit-Limit") != "10000" {
		t.Errorf("RateLimit-Limit %q, want the operations' burst", w.Header().Get("RateLimit-Limit"))
	}
	post(h, `"{ name }"`)
	if w := post(h, `"{ name }"`); w.Code != http.StatusTooManyRequests || before.Load() != 2 {
		t.Errorf("the third request of an address with a burst of 2: %d, and %d reached the hooks", w.Code, before.Load())
	}

	off, _ := newTestHandler(t, func(c *config.Config) {
		c.RateLimit.Enabled = false
		c.RateLimit.RequestBurstPerAddress = 1
	}, &before, &after)
	for range 3 {
		if w := post(off, `"{ name }"`); w.Code != http.StatusOK || w.Header().Get("RateLimit-Limit") != "" {
			t.Fatalf("rate limiting off: %d, RateLimit-Limit %q", w.Code, w.Header().Get("RateLimit-Limit"))
		}
	}
}

// TestReadyzFailsOnlyWhenEveryBreakerIsOpen opens the breakers of the
// three services, which do not answer, one by one.
func TestReadyzFailsOnlyWhenEveryBreakerIsOpen(t *testing.T) {
	var before, after atomic.Int32
	h, d := newTestHandler(t, func(c *config.Config) { c.Breaker.ConsecutiveFailures = 1 }, &before, &after)
	ready := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		_, _ = io.Copy(io.Discard, w.Body)
		return w.Code
	}
	calls := []func(*upstream.Set) error{
		func(s *upstream.Set) error { _, err := s.Users.Count(context.Background()); return err },
		func(s *upstream.Set) error { _, err := s.Orders.Stats(context.Background()); return err },
		func(s *upstream.Set) error { _, err := s.Products.Featured(context.Background(), 1); return err },
	}
	for i, call := range calls {
		if code := ready(); code != http.StatusOK {
			t.Fatalf("with %d breakers open: /readyz %d, want 200", i, code)
		}
		if err := call(d.Clients); err == nil {
			t.Fatal("a call to a service that is not there succeeded")
		}
	}
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("with every breaker open: /readyz %d, want 503", code)
	}
}
