package bfftest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/redisstore"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/internal/testutil/faultproxy"
	"github.com/acme/bff-gateway/services/servicetest"
)

// Build makes a BFF handler and returns the dependencies it was built on.
type Build func(bff.Options) (http.Handler, bff.Deps, error)

// Options configure Start.
type Options struct {
	Kind  config.Kind
	Build Build
	// OperationsDir is the client's documents, e.g. "../operations".
	OperationsDir string
	// Stack configures the services; Stack.Seed zero means the small seed.
	Stack servicetest.StackOptions
	// Services, when set, are services already started (by another
	// Start: replicas of a test share them); Stack is then ignored.
	Services *servicetest.Stack
	// Configure may change the BFF's configuration before it is built.
	Configure func(*config.Config)
	// Logger receives the BFF's logs; nil discards them.
	Logger *slog.Logger
	// Now is the BFF's clock; nil means time.Now.
	Now func() time.Time
	// Telemetry receives the BFF's metrics and spans; nil means a
	// registry of its own and no tracing.
	Telemetry *telemetry.Telemetry
	// Proxies, when set, puts a fault-injecting proxy (faultproxy) between
	// the BFF and each service: the BFF's configuration points at the
	// proxies, which Env.Faults names "user", "order" and "product", and
	// which pass every request on until a test sets a fault.
	Proxies bool
	// RedisURL, when set, shares the BFF's state in that Redis, its keys
	// under RedisPrefix (default "bff-<kind>"): replicas of a test share
	// a prefix, tests sharing a Redis each take their own. Configure may
	// then set the session keys; they default to one test key.
	RedisURL, RedisPrefix string
}

// TestSessionKeys seal the sessions of BFFs under test that share Redis.
// TestMaxInFlight is the in-flight bound of a test BFF: high enough that
// no test's burst is shed unless the test lowers it.
const TestMaxInFlight = 1024

var TestSessionKeys = []string{"test:" + base64.StdEncoding.EncodeToString([]byte("bfftest-session-key-32-bytes-ok!"))}

// Env is a BFF running in-process against the real services.
type Env struct {
	Stack *servicetest.Stack
	URL   string
	// AdminURL serves the BFF's /metrics (and pprof), as its admin
	// listener does.
	AdminURL string
	Counter  *Counter
	Deps     bff.Deps
	Ops      *Operations
	Config   config.Config
	// Faults are the proxies between the BFF and the services, by
	// service name, when Options.Proxies is set; nil otherwise.
	Faults map[string]*faultproxy.Proxy
}

// Start starts the services and the BFF, and stops them with the test.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	st := opts.Services
	if st == nil {
		st = servicetest.StartStack(t, opts.Stack)
	}
	cfg := config.Default(opts.Kind)
	cfg.Services = config.Services{UserURL: st.User.URL, OrderURL: st.Order.URL, ProductURL: st.Product.URL}
	names := map[string]string{host(st.User.URL): "user", host(st.Order.URL): "order", host(st.Product.URL): "product"}
	var faults map[string]*faultproxy.Proxy
	if opts.Proxies {
		// Closed after the BFF (cleanups run last first): the BFF's
		// calls end before the proxies do.
		faults = map[string]*faultproxy.Proxy{
			"user":    faultproxy.Start(t, st.User.URL),
			"order":   faultproxy.Start(t, st.Order.URL),
			"product": faultproxy.Start(t, st.Product.URL),
		}
		cfg.Services = config.Services{UserURL: faults["user"].URL, OrderURL: faults["order"].URL, ProductURL: faults["product"].URL}
		for name, p := range faults {
			names[host(p.URL)] = name
		}
	}
	// Tests sign the same accounts in many times; the login limits are
	// tested on their own, with their own settings.
	cfg.RateLimit.LoginPerIPPerMinute = 100000
	cfg.RateLimit.LoginPerAccountPerMinute = 100000
	// Tests send bursts of concurrent requests on a 2-core machine, where
	// the default (4 per CPU) would shed them; load shedding is tested on
	// its own (bff-web/app/overload_test.go) with its own bound.
	cfg.Limits.MaxInFlight = TestMaxInFlight
	if opts.RedisURL != "" {
		cfg.Redis.URL = opts.RedisURL
		cfg.Auth.SessionKeys = TestSessionKeys
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	if err := cfg.Validate(opts.Kind); err != nil {
		t.Fatal(err)
	}
	counter := NewCounter(http.DefaultTransport.(*http.Transport).Clone(), names)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	var shared *redisstore.Client
	if cfg.Redis.Shared() {
		prefix := opts.RedisPrefix
		if prefix == "" {
			prefix = "bff-" + string(opts.Kind)
		}
		var err error
		if shared, err = redisstore.Open(redisstore.Options{URL: cfg.Redis.URL, Timeout: cfg.Redis.Timeout, Prefix: prefix}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = shared.Close() })
	}
	h, deps, err := opts.Build(bff.Options{Kind: opts.Kind, Config: cfg, Logger: logger, Transport: counter, Now: opts.Now, Telemetry: opts.Telemetry, Shared: shared})
	if err != nil {
		t.Fatalf("build the %s BFF: %v", opts.Kind, err)
	}
	srv := httptest.NewServer(h)
	admin := httptest.NewServer(deps.Telemetry.AdminHandler(true))
	t.Cleanup(func() {
		srv.Client().CloseIdleConnections()
		counter.CloseIdleConnections()
		srv.Close()
		admin.Close()
	})
	env := &Env{Stack: st, URL: srv.URL, AdminURL: admin.URL, Counter: counter, Deps: deps, Config: cfg, Faults: faults}
	if opts.OperationsDir != "" {
		env.Ops = LoadOperations(t, opts.OperationsDir)
	}
	return env
}

func host(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host
}

// Client sends GraphQL requests to the BFF, keeping cookies like a browser.
type Client struct {
	env    *Env
	HTTP   *http.Client
	Header http.Header
}

// NewClient returns a client with its own cookie jar and no headers.
func (e *Env) NewClient() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{env: e, HTTP: &http.Client{Jar: jar}, Header: http.Header{}}
}

// Response is a GraphQL answer.
type Response struct {
	Status     int
	Header     http.Header
	Data       json.RawMessage `json:"data"`
	Errors     []Error         `json:"errors"`
	Extensions map[string]any  `json:"extensions"`
	Raw        []byte          `json:"-"`
	Cookies    []*http.Cookie  `json:"-"`
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// PathString returns the error's path joined with dots.
func (e Error) PathString() string {
	parts := make([]string, len(e.Path))
	for i, p := range e.Path {
		b, _ := json.Marshal(p)
		parts[i] = strings.Trim(string(b), `"`)
	}
	return strings.Join(parts, ".")
}

// Code returns the error's extensions.code.
func (e Error) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// ErrorAt returns the error whose path is path (dotted), if any.
func (r Response) ErrorAt(path string) (Error, bool) {
	for _, e := range r.Errors {
		if e.PathString() == path {
			return e, true
		}
	}
	return Error{}, false
}

// Op sends the named operation of the client's documents.
func (c *Client) Op(t testing.TB, name string, vars map[string]any) Response {
	t.Helper()
	doc, err := c.env.Ops.Document(name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Query(t, doc, vars)
}

// Query POSTs a document with variables as JSON.
func (c *Client) Query(t testing.TB, query string, vars map[string]any) Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return c.Post(t, body, "application/json")
}

// Post sends a raw body to /graphql, bound to t's context.
func (c *Client) Post(t testing.TB, body []byte, contentType string) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, c.env.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return c.Do(t, req)
}

// Do sends req with the client's headers and cookies, decodes the answer
// and checks what holds of every answer of a BFF (see Env.Check).
func (c *Client) Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw, Cookies: resp.Cookies()}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON (%d): %.300s", resp.StatusCode, raw)
	}
	c.env.Check(t, out)
	return out
}

// leaks are what an error message must never show: upstream URLs, hosts
// and addresses.
var leaks = []string{"http://", "https://", "127.0.0.1", "localhost", "[::1]", "/v1/", "/internal/"}

// Check fails t unless every error of r has an extensions.code and no
// error message shows an upstream URL, a host or address of the stack (or
// of the proxies in front of it), or a path of the services' APIs.
// Client.Do checks every answer with it.
func (e *Env) Check(t testing.TB, r Response) {
	t.Helper()
	bad := append([]string{}, leaks...)
	upstreams := []string{e.Stack.User.URL, e.Stack.Order.URL, e.Stack.Product.URL}
	for _, p := range e.Faults {
		upstreams = append(upstreams, p.URL)
	}
	for _, raw := range upstreams {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			bad = append(bad, u.Host)
			if p := u.Port(); p != "" {
				bad = append(bad, ":"+p)
			}
		}
	}
	for _, err := range r.Errors {
		if err.Code() == "" {
			t.Errorf("error without extensions.code: %q at %q (answer %.500s)", err.Message, err.PathString(), r.Raw)
		}
		for _, b := range bad {
			if strings.Contains(err.Message, b) {
				t.Errorf("error message %q shows %q", err.Message, b)
			}
		}
	}
}

// Decode unmarshals the answer's data into a value of type T.
func Decode[T any](t testing.TB, r Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("decode data %.300s: %v", r.Data, err)
	}
	return v
}

// ProductionAPIKey is the mobile app's key of BFFs under test in
// production mode, which refuses the published development key.
const ProductionAPIKey = "test-production-app-key"

// InProduction puts c in production mode, with ProductionAPIKey as the
// mobile app's only key.
func InProduction(c *config.Config) {
	c.Env = "production"
	c.APIKeys = []apikey.Key{{Name: "test", SHA256: apikey.Hash(ProductionAPIKey)}}
}

// APIKey returns the key the mobile app sends to e's BFF: the development
// key, or ProductionAPIKey in production mode (InProduction).
func (e *Env) APIKey() string {
	if e.Config.Production() {
		return ProductionAPIKey
	}
	return apikey.DevKey
}
