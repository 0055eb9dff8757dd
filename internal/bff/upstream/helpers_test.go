package upstream_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/order/ordersvc"
	"github.com/acme/bff-gateway/services/product/productsvc"
	"github.com/acme/bff-gateway/services/servicetest"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

// sent is a request as it reached the base transport.
type sent struct {
	Method, Path, RawQuery string
	Header                 http.Header
}

// recorder is a base transport that records every request before passing
// it to http.DefaultTransport, and checks each request against the
// OpenAPI description of the service it is sent to.
type recorder struct {
	t       testing.TB
	routers map[string]routers.Router // by host
	mu      sync.Mutex
	reqs    []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.EscapedPath(), req.URL.RawQuery, req.Header.Clone()})
	router := r.routers[req.URL.Host]
	r.mu.Unlock()
	if router != nil {
		r.checkRequest(router, req)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// checkRequest validates a copy of req (parameters, headers and body)
// against the service's description.
func (r *recorder) checkRequest(router routers.Router, req *http.Request) {
	cp := req.Clone(context.Background())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			r.t.Errorf("%s %s: body: %v", req.Method, req.URL, err)
			return
		}
		data, _ := io.ReadAll(body)
		cp.Body = io.NopCloser(bytes.NewReader(data))
	}
	route, params, err := router.FindRoute(cp)
	if err != nil {
		r.t.Errorf("%s %s is not described by the service's OpenAPI: %v", req.Method, req.URL, err)
		return
	}
	err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: cp, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
	if err != nil {
		r.t.Errorf("%s %s does not match the service's OpenAPI: %v", req.Method, req.URL, err)
	}
}

// take returns the requests recorded since the last take.
func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// one returns the single request recorded since the last take, failing t
// when there was not exactly one.
func (r *recorder) one(t *testing.T) sent {
	t.Helper()
	reqs := r.take()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// none fails t when any request was recorded since the last take.
func (r *recorder) none(t *testing.T) {
	t.Helper()
	if reqs := r.take(); len(reqs) != 0 {
		t.Fatalf("%d upstream requests, want none: %+v", len(reqs), reqs)
	}
}

// env is a running stack, clients of it over a recorder, and contexts of
// the demo accounts.
type env struct {
	stack            *servicetest.Stack
	rec              *recorder
	set              *upstream.Set
	admin, ada       context.Context
	adminTok, adaTok string
}

func newEnv(t *testing.T, cfg upstream.Config) *env {
	t.Helper()
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	rec := &recorder{t: t, routers: map[string]routers.Router{}}
	for svcURL, spec := range map[string][]byte{st.User.URL: usersvc.OpenAPI, st.Order.URL: ordersvc.OpenAPI, st.Product.URL: productsvc.OpenAPI} {
		doc := testutil.MustLoadSpec(t, spec)
		doc.Servers = nil
		router, err := legacy.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(svcURL)
		rec.routers[u.Host] = router
	}
	cfg.UserURL, cfg.OrderURL, cfg.ProductURL = st.User.URL, st.Order.URL, st.Product.URL
	cfg.Transport = rec
	set, err := upstream.New(withDefaults(cfg))
	if err != nil {
		t.Fatal(err)
	}
	adminTok := st.Token(t, "admin@example.com", "admin123")
	adaTok := st.Token(t, "ada@example.com", "ada123")
	return &env{
		stack:    st,
		rec:      rec,
		set:      set,
		admin:    principal(adminTok, seed.UserID(0), auth.RoleAdmin),
		ada:      principal(adaTok, seed.UserID(1), auth.RoleCustomer),
		adminTok: adminTok,
		adaTok:   adaTok,
	}
}

func principal(tok, subject string, role auth.Role) context.Context {
	return auth.NewContextWithPrincipal(context.Background(),
		auth.Principal{Subject: subject, Role: role, Token: tok})
}

// withDefaults fills the settings a test leaves at zero with the BFF's
// defaults (internal/bff/config, the one place they are written).
func withDefaults(cfg upstream.Config) upstream.Config {
	def := config.Default(config.Web)
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = def.Timeouts.Call
	}
	b := &cfg.Breaker
	if b.ConsecutiveFailures == 0 {
		b.ConsecutiveFailures = def.Breaker.ConsecutiveFailures
	}
	if b.OpenTimeout == 0 {
		b.OpenTimeout = def.Breaker.OpenTimeout
	}
	if b.MaxRequests == 0 {
		b.MaxRequests = def.Breaker.HalfOpenRequests
	}
	if b.Interval == 0 {
		b.Interval = def.Breaker.Interval
	}
	return cfg
}
