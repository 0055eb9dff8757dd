// Package usersvc is the user service: accounts, password sign-in, RS256
// access tokens and their public JWKS, refresh tokens (rotated, revocable,
// their reuse detected), over its own SQLite database.
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
	// RefreshIdleTTL is how long a refresh token stays usable unused.
	RefreshIdleTTL time.Duration
	// RefreshAbsoluteTTL is how long a sign-in's refresh tokens last at
	// most, however often refreshed.
	RefreshAbsoluteTTL time.Duration
	// KeyPrepublish is how long a new signing key is published in the
	// JWKS before it signs; 0 makes a rotation take effect at once.
	KeyPrepublish time.Duration
}

// Bounds of the settings.
const (
	minTokenTTL           = time.Second
	maxTokenTTL           = 24 * time.Hour
	minRefreshTTL         = time.Second
	maxRefreshAbsoluteTTL = 90 * 24 * time.Hour
	maxKeyPrepublish      = 24 * time.Hour
)

// ParseConfig reads the configuration from flags and the environment.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	cfg, set := bind(getenv)
	parseErr := set.Parse(args)
	// An idle lifetime left at its default is cut to a shorter absolute
	// one; one given longer is a mistake Validate reports.
	idleGiven := getenv(refreshIdleEnv) != ""
	set.Visit(func(f *flag.Flag) { idleGiven = idleGiven || f.Name == refreshIdleFlag })
	if !idleGiven && cfg.RefreshIdleTTL > cfg.RefreshAbsoluteTTL {
		cfg.RefreshIdleTTL = cfg.RefreshAbsoluteTTL
	}
	// Report flag, environment and range errors all at once.
	return *cfg, errors.Join(parseErr, cfg.Validate())
}

// The idle lifetime's flag and variable.
const (
	refreshIdleFlag = "refresh-idle-ttl"
	refreshIdleEnv  = "REFRESH_IDLE_TTL"
)

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
	set.Duration(&cfg.RefreshIdleTTL, refreshIdleFlag, refreshIdleEnv, auth.DefaultRefreshIdleTTL, "how long a refresh token stays usable unused (unset, at most REFRESH_ABSOLUTE_TTL)")
	set.Duration(&cfg.RefreshAbsoluteTTL, "refresh-absolute-ttl", "REFRESH_ABSOLUTE_TTL", auth.DefaultRefreshAbsoluteTTL, "how long the refresh tokens of a sign-in last at most, however used")
	set.Duration(&cfg.KeyPrepublish, "key-prepublish", "KEY_PREPUBLISH", auth.DefaultKeyPrepublish, "how long a new signing key is published before it signs; more than the verifiers' JWKS_REFRESH (0: at once)")
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
	if c.TokenTTL < minTokenTTL || c.TokenTTL > maxTokenTTL {
		errs = append(errs, fmt.Errorf("TOKEN_TTL must be from %v to %v, not %v", minTokenTTL, maxTokenTTL, c.TokenTTL))
	}
	if c.RefreshIdleTTL < minRefreshTTL {
		errs = append(errs, fmt.Errorf("REFRESH_IDLE_TTL must be at least %v, not %v", minRefreshTTL, c.RefreshIdleTTL))
	}
	if c.RefreshAbsoluteTTL < minRefreshTTL || c.RefreshAbsoluteTTL > maxRefreshAbsoluteTTL {
		errs = append(errs, fmt.Errorf("REFRESH_ABSOLUTE_TTL must be from %v to %v (90 days), not %v", minRefreshTTL, maxRefreshAbsoluteTTL, c.RefreshAbsoluteTTL))
	}
	if c.RefreshIdleTTL > c.RefreshAbsoluteTTL {
		errs = append(errs, fmt.Errorf("REFRESH_IDLE_TTL (%v) must not exceed REFRESH_ABSOLUTE_TTL (%v)", c.RefreshIdleTTL, c.RefreshAbsoluteTTL))
	}
	if c.KeyPrepublish < 0 || c.KeyPrepublish > maxKeyPrepublish {
		errs = append(errs, fmt.Errorf("KEY_PREPUBLISH must be from 0s to %v, not %v", maxKeyPrepublish, c.KeyPrepublish))
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
	if cfg.KeyPrepublish > 0 && cfg.KeyPrepublish < cfg.JWKSRefresh {
		logger.WarnContext(ctx, "KEY_PREPUBLISH is shorter than JWKS_REFRESH: after a key rotation, a verifier that has not refetched the JWKS may refuse the new key's tokens",
			slog.Duration("key_prepublish", cfg.KeyPrepublish), slog.Duration("jwks_refresh", cfg.JWKSRefresh))
	}
	h := &handlers{
		store:      st,
		keys:       keys,
		issuer:     &auth.Issuer{Keys: keys, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.TokenTTL, Now: time.Now},
		refresh:    refreshLifetimes{idle: cfg.RefreshIdleTTL, absolute: cfg.RefreshAbsoluteTTL},
		prepublish: cfg.KeyPrepublish,
		now:        time.Now,
		dummyHash:  dummy,
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
