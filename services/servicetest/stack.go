// Package servicetest starts the user, order and product services
// in-process for tests: each on a free loopback port, over its own SQLite
// database in a temporary directory, seeded with a small data set, and
// stopped (or restarted, or stopped for good) when a test says so.
package servicetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/order/ordersvc"
	"github.com/acme/bff-gateway/services/product/productsvc"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

// SmallSeed is the seed used by tests unless they ask for another.
var SmallSeed = seed.Sizes{Users: 20, Products: 30, Orders: 200}

// StackOptions tunes a test stack.
type StackOptions struct {
	// Seed sizes; zero means SmallSeed.
	Seed seed.Sizes
	// Latency is SERVICE_LATENCY for every service.
	Latency string
	// Env adds or overrides environment variables of every service.
	Env map[string]string
	// Addrs fixes the listen address of services by name ("user",
	// "product", "order"), e.g. {"user": "127.0.0.1:9001"}; the others
	// listen on 127.0.0.1:0, a free port.
	Addrs map[string]string
	// Logger receives every service's logs; nil discards them.
	Logger *slog.Logger
}

// Service is one running service of a stack.
type Service struct {
	Name string
	URL  string
	// AdminURL is where its admin listener serves /metrics.
	AdminURL string

	addr   string
	cancel context.CancelFunc
	done   chan error
}

// Stack is the user, product and order services running in-process over
// loopback HTTP, each with its own database in a temporary data directory.
type Stack struct {
	User, Product, Order *Service
	DataDir              string
	ServiceToken         string

	opts StackOptions
	mu   sync.Mutex
}

// StartStack starts the three services on 127.0.0.1:0 (or opts.Addrs) and
// stops them when the test ends.
func StartStack(t testing.TB, opts StackOptions) *Stack {
	t.Helper()
	if opts.Seed == (seed.Sizes{}) {
		opts.Seed = SmallSeed
	}
	s := &Stack{
		DataDir:      t.TempDir(),
		ServiceToken: "test-service-token-0123456789",
		opts:         opts,
		User:         &Service{Name: "user", addr: listenAddr(opts, "user")},
		Product:      &Service{Name: "product", addr: listenAddr(opts, "product")},
		Order:        &Service{Name: "order", addr: listenAddr(opts, "order")},
	}
	for _, name := range []string{"user", "product", "order"} {
		s.Start(t, name)
	}
	t.Cleanup(func() {
		for _, svc := range []*Service{s.Order, s.Product, s.User} {
			svc.stop(t)
		}
	})
	return s
}

func listenAddr(opts StackOptions, name string) string {
	if a := opts.Addrs[name]; a != "" {
		return a
	}
	return "127.0.0.1:0"
}

func (s *Stack) service(t testing.TB, name string) *Service {
	t.Helper()
	switch name {
	case "user":
		return s.User
	case "product":
		return s.Product
	case "order":
		return s.Order
	}
	t.Fatalf("unknown service %q", name)
	return nil
}

// Env returns the environment a service of the stack is started with.
func (s *Stack) Env(listen string) func(string) string {
	env := map[string]string{
		"LISTEN_ADDR":         listen,
		"ADMIN_ADDR":          "127.0.0.1:0",
		"DATA_DIR":            s.DataDir,
		"SERVICE_LATENCY":     s.opts.Latency,
		"USER_SERVICE_URL":    s.User.URL,
		"PRODUCT_SERVICE_URL": s.Product.URL,
		"ORDER_SERVICE_URL":   s.Order.URL,
		"SERVICE_TOKEN":       s.ServiceToken,
		"BCRYPT_COST":         "4",
		"SEED_USERS":          fmt.Sprint(s.opts.Seed.Users),
		"SEED_PRODUCTS":       fmt.Sprint(s.opts.Seed.Products),
		"SEED_ORDERS":         fmt.Sprint(s.opts.Seed.Orders),
	}
	for k, v := range s.opts.Env {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// Start starts (or restarts) the named service ("user", "product" or
// "order") on its previous address and data directory.
func (s *Stack) Start(t testing.TB, name string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.service(t, name)
	if svc.cancel != nil {
		t.Fatalf("%s service is already running", name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logger := s.opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	getenv := s.Env(svc.addr)
	var started running
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		started, err = startService(ctx, name, getenv, logger)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("start %s service: %v", name, err)
	}
	svc.URL = started.URL()
	svc.AdminURL = started.AdminURL()
	svc.addr = strings.TrimPrefix(svc.URL, "http://")
	svc.cancel = cancel
	svc.done = make(chan error, 1)
	go func() { svc.done <- started.Serve(ctx) }()
}

// running is what a started service offers the stack.
type running interface {
	URL() string
	AdminURL() string
	Serve(context.Context) error
}

func startService(ctx context.Context, name string, getenv func(string) string, logger *slog.Logger) (running, error) {
	switch name {
	case "user":
		cfg, err := usersvc.ParseConfig(nil, getenv)
		if err != nil {
			return nil, err
		}
		return usersvc.Start(ctx, cfg, logger)
	case "product":
		cfg, err := productsvc.ParseConfig(nil, getenv)
		if err != nil {
			return nil, err
		}
		return productsvc.Start(ctx, cfg, logger)
	default:
		cfg, err := ordersvc.ParseConfig(nil, getenv)
		if err != nil {
			return nil, err
		}
		return ordersvc.Start(ctx, cfg, logger)
	}
}

// Stop stops the named service and waits until it has shut down.
func (s *Stack) Stop(t testing.TB, name string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.service(t, name).stop(t)
}

func (svc *Service) stop(t testing.TB) {
	if svc.cancel == nil {
		return
	}
	// Connections dialled but never used would hold the graceful shutdown
	// for its whole grace period.
	if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
	svc.cancel()
	select {
	case err := <-svc.done:
		if err != nil {
			t.Errorf("%s service stopped with: %v", svc.Name, err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("%s service did not stop", svc.Name)
	}
	svc.cancel = nil
}

// Token signs in at the user service and returns the access token.
func (s *Stack) Token(t testing.TB, email, password string) string {
	t.Helper()
	status, body := testutil.Do(t, http.DefaultClient, http.MethodPost, s.User.URL+"/v1/auth/token", "",
		contract.TokenRequest{Email: email, Password: password}, nil)
	if status != http.StatusOK {
		t.Fatalf("sign in %s: status %d: %s", email, status, body)
	}
	var tok contract.TokenResponse
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatalf("decode token: %v", err)
	}
	return tok.AccessToken
}
