package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/acme/bff-gateway/internal/e2e/cluster/clusterconf"
)

// ServiceOptions shape the services of StartServices; the zero value is
// a small data set that starts fast.
type ServiceOptions struct {
	// Users, Products and Orders are the seed sizes (SEED_USERS,
	// SEED_PRODUCTS, SEED_ORDERS), by default 20, 60 and 200. The demo
	// accounts (admin@example.com, ada@example.com, grace@example.com)
	// are always the first users, and Ada's and Grace's 15 orders each
	// the first orders, so at least 3 users and 30 orders keep the demo.
	Users, Products, Orders int
	// Latency is SERVICE_LATENCY ("2ms", "1ms-5ms"); none by default.
	Latency string
	// Env are more variables ("KEY=value") for all three services,
	// after the harness's own.
	Env []string
}

// Default seed sizes of StartServices: small, for speed.
const (
	DefaultSeedUsers    = 20
	DefaultSeedProducts = 60
	DefaultSeedOrders   = 200
)

// seedBcryptCost is the lowest bcrypt cost (bcrypt.MinCost): seeding 20
// users at the default cost of 10 would take seconds.
const seedBcryptCost = 4

// Services are the three services, started by StartServices.
type Services struct {
	User, Product, Order *Process
	// Token is the SERVICE_TOKEN the order service presents to the
	// product service (random).
	Token string

	mu       sync.Mutex
	replicas map[string]int
}

// StartServices starts the user, product and order services (in that
// order: the others fetch the user service's keys, the order service
// calls the product service), each on free ports with its own DATA_DIR
// (a temporary directory, seeded on start) and admin listener, a random
// SERVICE_TOKEN, ENV=development and BCRYPT_COST=4, and waits until each
// is ready.
func StartServices(t testing.TB, bins Binaries, opts ServiceOptions) *Services {
	t.Helper()
	if opts.Users == 0 {
		opts.Users = DefaultSeedUsers
	}
	if opts.Products == 0 {
		opts.Products = DefaultSeedProducts
	}
	if opts.Orders == 0 {
		opts.Orders = DefaultSeedOrders
	}
	s := &Services{Token: randomHex(24), replicas: map[string]int{}}
	var urls []string // of the services started so far
	start := func(name, path string) *Process {
		p := startOnFreePorts(t, func() *Process {
			p := newProcess(t, name, path)
			p.Addr, p.AdminAddr = FreeAddr(t), FreeAddr(t)
			data := filepath.Join(p.Dir, "data")
			p.Env = append(p.Env,
				"ENV=development",
				"LISTEN_ADDR="+p.Addr, "ADMIN_ADDR="+p.AdminAddr, "DATA_DIR="+data,
				"SEED_USERS="+strconv.Itoa(opts.Users),
				"SEED_PRODUCTS="+strconv.Itoa(opts.Products),
				"SEED_ORDERS="+strconv.Itoa(opts.Orders),
				"BCRYPT_COST="+strconv.Itoa(seedBcryptCost),
				"SERVICE_TOKEN="+s.Token,
			)
			if opts.Latency != "" {
				p.Env = append(p.Env, "SERVICE_LATENCY="+opts.Latency)
			}
			p.Env = append(p.Env, urls...)
			p.Env = append(p.Env, serviceURLVar(name)+"="+p.URL())
			p.Env = append(p.Env, opts.Env...)
			p.ready = clusterconf.HTTPReady(p.URL())
			return p
		})
		urls = append(urls, serviceURLVar(name)+"="+p.URL())
		return p
	}
	s.User = start("user", bins.User)
	s.Product = start("product", bins.Product)
	s.Order = start("order", bins.Order)
	return s
}

func serviceURLVar(name string) string {
	switch name {
	case "user":
		return "USER_SERVICE_URL"
	case "order":
		return "ORDER_SERVICE_URL"
	}
	return "PRODUCT_SERVICE_URL"
}

// Env returns the variables that point a BFF at the services:
// USER_SERVICE_URL, ORDER_SERVICE_URL and PRODUCT_SERVICE_URL.
func (s *Services) Env() []string {
	return []string{
		"USER_SERVICE_URL=" + s.User.URL(),
		"ORDER_SERVICE_URL=" + s.Order.URL(),
		"PRODUCT_SERVICE_URL=" + s.Product.URL(),
	}
}

// DefaultDrainDelay is the DRAIN_DELAY of the BFFs StartBFF starts unless
// told otherwise: the setting of `make run-cluster`, long enough for
// HAProxy's health checks to take a draining replica out of rotation.
const DefaultDrainDelay = "1s"

// StartBFF starts a BFF replica of kind ("web" or "mobile") named
// bff-<kind>-<n> (n counting the replicas of svcs from 1), with
// LISTEN_ADDR and ADMIN_ADDR on free ports, the services' URLs,
// ENV=development and DRAIN_DELAY=DefaultDrainDelay, then env
// ("KEY=value", winning over those: REDIS_URL, SESSION_KEYS, DRAIN_DELAY,
// BFF_CONFIG from BFFConfig…), and waits until its /readyz answers 200.
// Without REDIS_URL its stores are its own, in memory.
func StartBFF(t testing.TB, bins Binaries, svcs *Services, kind string, env ...string) *Process {
	t.Helper()
	if kind != "web" && kind != "mobile" {
		t.Fatalf("StartBFF: kind %q, want web or mobile", kind)
	}
	svcs.mu.Lock()
	svcs.replicas[kind]++
	name := fmt.Sprintf("bff-%s-%d", kind, svcs.replicas[kind])
	svcs.mu.Unlock()
	return startOnFreePorts(t, func() *Process {
		p := newProcess(t, name, bins.BFF(kind))
		p.Addr, p.AdminAddr = FreeAddr(t), FreeAddr(t)
		p.Env = append(p.Env,
			"ENV=development", "LISTEN_ADDR="+p.Addr, "ADMIN_ADDR="+p.AdminAddr,
			"DRAIN_DELAY="+DefaultDrainDelay,
		)
		p.Env = append(p.Env, svcs.Env()...)
		p.Env = append(p.Env, env...)
		p.ready = clusterconf.HTTPReady(p.URL())
		return p
	})
}

// BFFConfig writes yaml, a BFF configuration, to a file of the test's
// temporary directory and returns the variable that has a BFF read it:
// "BFF_CONFIG=<path>". For instance, to have the BFFs believe HAProxy's
// X-Forwarded-For: BFFConfig(t, "http:\n  trusted_proxies: [127.0.0.1/32]\n").
func BFFConfig(t testing.TB, yaml string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "bff-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(yaml); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return "BFF_CONFIG=" + f.Name()
}

// NewSessionKey returns a fresh SESSION_KEYS value for web replicas that
// share sessions: one key, "k1:" and 32 random bytes in base64.
func NewSessionKey() string { return clusterconf.NewSessionKey() }

// startOnFreePorts starts the process mk makes, which picks fresh ports
// each time it is called, until one starts; a start that fails for
// another reason than a taken port, or too many, fail the test.
func startOnFreePorts(t testing.TB, mk func() *Process) *Process {
	t.Helper()
	const attempts = 5
	for i := 1; ; i++ {
		p := mk()
		err := p.Start()
		if err == nil {
			return p
		}
		if errors.Is(err, ErrAddrInUse) && i < attempts {
			t.Logf("cluster: %s found a port taken; starting it on other ports (attempt %d of %d)", p.Name, i+1, attempts)
			continue
		}
		t.Fatalf("cluster: %v", err)
	}
}

// probeClient asks whether processes are ready.
var probeClient = clusterconf.ProbeClient

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
