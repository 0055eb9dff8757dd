// Package productsvc is the product service: the catalogue (lookups,
// search, featured products) and the internal stock reservations the order
// service takes and releases, over its own SQLite database.
package productsvc

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/services/internal/envconfig"
	"github.com/acme/bff-gateway/services/internal/platform"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// OpenAPI is the service's OpenAPI 3 description, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// DefaultListenAddr is where the product service listens by default.
const DefaultListenAddr = addrs.Product

// Config is the product service's configuration.
type Config struct {
	platform.Common
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
	set := envconfig.New("product-service", getenv)
	cfg.Bind(set, DefaultListenAddr, addrs.ProductAdmin)
	return &cfg, set
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	return c.Common.Validate()
}

// Service is a running product service.
type Service struct {
	db      *sql.DB
	servers *platform.Servers
}

// Start opens the database (seeding it on first start) and listens. It
// does not serve until Serve is called.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	tel, err := cfg.Telemetry(ctx, "product")
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.OpenDir(ctx, cfg.DBPath("products.db"), migrationFiles, "migrations", tel)
	if err != nil {
		return nil, err
	}
	st := &store{db: db, now: time.Now}
	seeded, err := st.seedIfEmpty(ctx, cfg.Seed.Products, time.Now().UTC().Truncate(time.Hour))
	if err != nil {
		db.Close()
		return nil, err
	}
	if seeded {
		logger.InfoContext(ctx, "seeded products", "count", cfg.Seed.Products)
	}
	h := &handlers{store: st}
	routes := h.routes(cfg.Verifier(tel), cfg.ServiceToken)
	handler := platform.Handler(tel, logger, cfg.Latency, db, OpenAPI, routes)
	servers, err := platform.Listen(ctx, &cfg.Common, handler, tel, logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Service{db: db, servers: servers}, nil
}

// URL returns the service's base URL.
func (s *Service) URL() string { return s.servers.Public.URL() }

// AdminURL returns the base URL of the admin listener (/metrics).
func (s *Service) AdminURL() string { return s.servers.Admin.URL() }

// Serve answers requests until ctx ends, then shuts down and closes the
// database.
func (s *Service) Serve(ctx context.Context) error {
	err := s.servers.Serve(ctx)
	return errors.Join(err, s.db.Close())
}

// Run is the product service's main: it parses the configuration, starts
// the service and serves until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return platform.Run(ctx, "product", args, getenv, stderr, ParseConfig, Start)
}
