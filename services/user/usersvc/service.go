// Package usersvc is the user service: accounts, password sign-in, RS256
// access tokens and their public JWKS, over its own SQLite database.
package usersvc

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/auth"
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

// DefaultListenAddr is where the user service listens by default.
const DefaultListenAddr = addrs.User

// Config is the user service's configuration.
type Config struct {
	platform.Common
	// BcryptCost is the cost of password hashes made when seeding.
	BcryptCost int
	// TokenTTL is the lifetime of access tokens.
	TokenTTL time.Duration
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
	set := envconfig.New("user-service", getenv)
	cfg.Bind(set, DefaultListenAddr, addrs.UserAdmin)
	set.Int(&cfg.BcryptCost, "bcrypt-cost", "BCRYPT_COST", bcrypt.DefaultCost, "bcrypt cost of seeded passwords")
	set.Duration(&cfg.TokenTTL, "token-ttl", "TOKEN_TTL", auth.DefaultTokenTTL, "lifetime of access tokens")
	return &cfg, set
}

// Validate reports every configuration problem at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		errs = append(errs, fmt.Errorf("BCRYPT_COST must be from %d to %d", bcrypt.MinCost, bcrypt.MaxCost))
	}
	if c.TokenTTL < time.Minute || c.TokenTTL > 24*time.Hour {
		errs = append(errs, errors.New("TOKEN_TTL must be from 1m to 24h"))
	}
	return errors.Join(errs...)
}

// Service is a running user service.
type Service struct {
	db      *sql.DB
	servers *platform.Servers
	// Keys are the signing keys (exported for key rotation in tests).
	Keys *auth.KeySet
}

// Start opens the database (seeding it on first start), loads or creates
// the signing key and listens. It does not serve until Serve is called.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Service, error) {
	tel, err := cfg.Telemetry(ctx, "user")
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.OpenDir(ctx, cfg.DBPath("users.db"), migrationFiles, "migrations", tel)
	if err != nil {
		return nil, err
	}
	st := &store{db: db}
	seeded, err := st.seedIfEmpty(ctx, cfg.Seed.Users, cfg.BcryptCost, time.Now().UTC().Truncate(time.Hour))
	if err != nil {
		db.Close()
		return nil, err
	}
	if seeded {
		logger.InfoContext(ctx, "seeded users", "count", cfg.Seed.Users)
	}
	keys, err := auth.LoadOrCreateKeySet(cfg.DBPath("user-signing-keys.json"))
	if err != nil {
		db.Close()
		return nil, err
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not-a-real-password"), cfg.BcryptCost)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	h := &handlers{
		store:     st,
		keys:      keys,
		issuer:    &auth.Issuer{Keys: keys, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.TokenTTL, Now: time.Now},
		dummyHash: dummy,
	}
	verifier := auth.NewVerifier(keys, cfg.Issuer, cfg.Audience)
	handler := platform.Handler(tel, logger, cfg.Latency, db, OpenAPI, h.routes(verifier))
	servers, err := platform.Listen(ctx, &cfg.Common, handler, tel, logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Service{db: db, servers: servers, Keys: keys}, nil
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

// Run is the user service's main: it parses the configuration, starts the
// service and serves until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return platform.Run(ctx, "user", args, getenv, stderr, ParseConfig, Start)
}
