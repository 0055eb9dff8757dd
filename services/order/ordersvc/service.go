// Package ordersvc is the order service: customers' orders over its own
// SQLite database, placed with an idempotency key against stock reserved at
// the product service, and cancelled with the stock given back.
package ordersvc

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/internal/envconfig"
	"github.com/acme/bff-gateway/services/internal/platform"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
	"github.com/acme/bff-gateway/services/order/productclient"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// OpenAPI is the service's OpenAPI 3 description, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// DefaultListenAddr is where the order service listens by default.
const DefaultListenAddr = addrs.Order

// Config is the order service's configuration.
type Config struct {
	platform.Common
	// ReconcileInterval is how often owed stock releases are retried.
	ReconcileInterval time.Duration
	// ReleaseGrace is how old an owed release must be before a periodic
	// pass retries it, so that orders being placed are left alone.
	ReleaseGrace time.Duration
	// UpstreamTimeout bounds each call to the product service.
	UpstreamTimeout time.Duration
}

// ParseConfig reads the configuration from flags and the environment.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	cfg, set := bind(getenv)
	parseErr := set.Parse(args)
	// Report flag, environment and range errors all at once.
	return *cfg, errors.Join(parseErr, cfg.Validate())
}

// Flags returns the service's flags with their defaults (none taken from
// the environment): what -h prints, and what the README's configuration
// table is checked against.
func Flags() *flag.FlagSet {
	_, set := bind(func(string) string { return "" })
	return set.FlagSet
}

// bind registers the configuration's flags, with their defaults taken from
// getenv where it has them.
func bind(getenv func(string) string) (*Config, *envconfig.Set) {
	var cfg Config
	set := envconfig.New("order-service", getenv)
	cfg.Bind(set, DefaultListenAddr, addrs.OrderAdmin)
	set.Duration(&cfg.ReconcileInterval, "reconcile-interval", "RECONCILE_INTERVAL", 30*time.Second, "how often owed stock releases are retried")
	set.Duration(&cfg.ReleaseGrace, "release-grace", "RELEASE_GRACE", time.Minute, "age of an owed release before a periodic pass retries it")
	set.Duration(&cfg.UpstreamTimeout, "upstream-timeout", "UPSTREAM_TIMEOUT", 5*time.Second, "timeout of each call to the product service")
	return &cfg, set
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.ReconcileInterval < 10*time.Millisecond || c.ReconcileInterval > 24*time.Hour {
		errs = append(errs, errors.New("RECONCILE_INTERVAL must be from 10ms to 24h"))
	}
	if c.ReleaseGrace < 0 || c.ReleaseGrace > 24*time.Hour {
		errs = append(errs, errors.New("RELEASE_GRACE must be from 0 to 24h"))
	}
	if c.UpstreamTimeout < 10*time.Millisecond || c.UpstreamTimeout > 5*time.Minute {
		errs = append(errs, errors.New("UPSTREAM_TIMEOUT must be from 10ms to 5m"))
	}
	return errors.Join(errs...)
}

// Service is a running order service.
type Service struct {
	db         *sql.DB
	servers    *platform.Servers
	reconciler *reconciler
}

// Start opens the database (seeding it on first start) and listens. It
// does not serve, nor reconcile owed stock releases, until Serve is called.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	startedAt := time.Now()
	tel, err := cfg.Telemetry(ctx, "order")
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.OpenDir(ctx, cfg.DBPath("orders.db"), migrationFiles, "migrations", tel)
	if err != nil {
		return nil, err
	}
	st := &store{db: db}
	anchor := time.Now().UTC().Truncate(time.Hour)
	seeded, err := st.seedIfEmpty(ctx, seed.Orders(cfg.Seed, anchor))
	if err != nil {
		db.Close()
		return nil, err
	}
	if seeded {
		logger.InfoContext(ctx, "seeded orders", "count", cfg.Seed.Orders)
	}
	stock, err := productclient.New(cfg.ProductURL, cfg.ServiceToken, &http.Client{
		Timeout:   cfg.UpstreamTimeout,
		Transport: tel.Client("product", http.DefaultTransport, nil),
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	metrics := newOrderMetrics(tel.Registry)
	h := &handlers{store: st, stock: stock, now: time.Now, metrics: metrics}
	handler := platform.Handler(tel, logger, cfg.Latency, db, OpenAPI, h.routes(cfg.Verifier(tel)))
	servers, err := platform.Listen(ctx, &cfg.Common, handler, tel, logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	rec := &reconciler{
		store:     st,
		stock:     stock,
		interval:  cfg.ReconcileInterval,
		grace:     cfg.ReleaseGrace,
		startedAt: startedAt,
		logger:    logger,
		metrics:   metrics,
	}
	return &Service{db: db, servers: servers, reconciler: rec}, nil
}

// URL returns the service's base URL.
func (s *Service) URL() string { return s.servers.Public.URL() }

// AdminURL returns the base URL of the admin listener (/metrics).
func (s *Service) AdminURL() string { return s.servers.Admin.URL() }

// Serve answers requests and reconciles owed stock releases until ctx
// ends, then shuts down and closes the database.
func (s *Service) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.reconciler.run(ctx)
	}()
	err := s.servers.Serve(ctx)
	cancel()
	wg.Wait()
	return errors.Join(err, s.db.Close())
}

// Run is the order service's main: it parses the configuration, starts the
// service and serves until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return platform.Run(ctx, "order", args, getenv, stderr, ParseConfig, Start)
}
