// Package platform is the runtime the three REST services share: their
// common settings (flags and environment), the middleware stack, bearer
// and service-token authentication, health and readiness probes, the
// OpenAPI document route, artificial latency and the run loop.
package platform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/middleware"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/internal/envconfig"
)

const (
	// DevServiceToken is the development default of SERVICE_TOKEN, the
	// order service's credential at the product service. Production
	// refuses it.
	DevServiceToken = "dev-service-token-change-me"
)

// Common are the settings every service takes.
type Common struct {
	ListenAddr string
	// AdminAddr is where the admin listener serves /metrics (and pprof in
	// development), apart from the public port.
	AdminAddr    string
	DataDir      string
	Latency      string
	Env          string
	UserURL      string
	OrderURL     string
	ProductURL   string
	ServiceToken string
	Issuer       string
	Audience     string
	// JWKSRefresh is how old the user service's JWKS may get in a
	// service's cache before it is fetched again. The user service
	// publishes a new key KEY_PREPUBLISH before it signs, which should be
	// longer.
	JWKSRefresh time.Duration
	// JWKSMinRefreshGap is the least time between two JWKS refetches
	// caused by tokens naming an unknown key (after a key rotation).
	JWKSMinRefreshGap time.Duration
	Seed              seed.Sizes
	// Tracing are the standard OTEL_* variables (no flags: their names
	// are the standard's).
	Tracing telemetry.Env
}

// Bind registers the common settings on set with their env overrides;
// defaultListen and defaultAdmin are the service's own addresses.
func (c *Common) Bind(set *envconfig.Set, defaultListen, defaultAdmin string) {
	c.Tracing = telemetry.EnvFrom(set.Getenv())
	set.String(&c.ListenAddr, "listen", "LISTEN_ADDR", defaultListen, "address to listen on")
	set.String(&c.AdminAddr, "admin-addr", "ADMIN_ADDR", defaultAdmin, "address of the admin listener: /metrics, and pprof in development")
	set.String(&c.DataDir, "data-dir", "DATA_DIR", "./var", "directory of the database files")
	set.String(&c.Latency, "latency", "SERVICE_LATENCY", "", `artificial latency per request, e.g. "2ms" or "1ms-5ms"`)
	set.String(&c.Env, "env", "ENV", "development", `"development" or "production"`)
	set.String(&c.UserURL, "user-service-url", "USER_SERVICE_URL", addrs.UserURL, "base URL of the user service")
	set.String(&c.OrderURL, "order-service-url", "ORDER_SERVICE_URL", addrs.OrderURL, "base URL of the order service")
	set.String(&c.ProductURL, "product-service-url", "PRODUCT_SERVICE_URL", addrs.ProductURL, "base URL of the product service")
	set.String(&c.ServiceToken, "service-token", "SERVICE_TOKEN", DevServiceToken, "credential of the order service at the product service")
	set.String(&c.Issuer, "token-issuer", "TOKEN_ISSUER", auth.DefaultIssuer, "iss of access tokens")
	set.String(&c.Audience, "token-audience", "TOKEN_AUDIENCE", auth.DefaultAudience, "aud of access tokens")
	set.Duration(&c.JWKSRefresh, "jwks-refresh", "JWKS_REFRESH", auth.DefaultJWKSRefresh, "how old the cached JWKS of the user service may get before it is fetched again")
	set.Duration(&c.JWKSMinRefreshGap, "jwks-min-refresh-gap", "JWKS_MIN_REFRESH_GAP", auth.DefaultJWKSMinRefreshGap, "least time between JWKS refetches for unknown key ids")
	set.Int(&c.Seed.Users, "seed-users", "SEED_USERS", seed.DefaultSizes.Users, "users seeded on first start")
	set.Int(&c.Seed.Products, "seed-products", "SEED_PRODUCTS", seed.DefaultSizes.Products, "products seeded on first start")
	set.Int(&c.Seed.Orders, "seed-orders", "SEED_ORDERS", seed.DefaultSizes.Orders, "orders seeded on first start")
}

// Validate reports every problem with the common settings at once.
func (c *Common) Validate() error {
	var errs []error
	if _, err := ParseLatency(c.Latency); err != nil {
		errs = append(errs, err)
	}
	if err := c.Seed.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.JWKSRefresh <= 0 {
		errs = append(errs, fmt.Errorf("JWKS_REFRESH must be positive"))
	}
	if c.JWKSMinRefreshGap <= 0 {
		errs = append(errs, fmt.Errorf("JWKS_MIN_REFRESH_GAP must be positive"))
	}
	if c.Env != "development" && c.Env != "production" {
		errs = append(errs, fmt.Errorf("ENV must be development or production, not %q", c.Env))
	}
	if c.Env == "production" && (c.ServiceToken == DevServiceToken || len(c.ServiceToken) < 16) {
		errs = append(errs, fmt.Errorf("SERVICE_TOKEN must be set to a secret of at least 16 characters in production"))
	}
	return joinErrs(errs)
}

// DBPath returns the path of the named database in the data directory.
func (c *Common) DBPath(name string) string { return filepath.Join(c.DataDir, name) }

// Verifier returns a token verifier backed by the user service's JWKS,
// fetched through tel's instrumented transport, again once older than
// JWKSRefresh (and on an unknown kid), never twice within
// JWKSMinRefreshGap.
func (c *Common) Verifier(tel *telemetry.Telemetry) *auth.Verifier {
	keys := auth.NewRemoteKeys(auth.RemoteKeysConfig{
		URL:             c.UserURL + auth.JWKSPath,
		RefreshInterval: c.JWKSRefresh,
		MinRefreshGap:   c.JWKSMinRefreshGap,
		HTTPClient:      &http.Client{Timeout: auth.JWKSFetchTimeout, Transport: tel.Client("user", http.DefaultTransport, nil)},
	})
	return auth.NewVerifier(keys, c.Issuer, c.Audience)
}

// Telemetry returns the telemetry of the service named service: its
// metrics, and tracing as the OTEL_* variables say (telemetry.New).
func (c *Common) Telemetry(ctx context.Context, service string) (*telemetry.Telemetry, error) {
	return telemetry.New(ctx, service, c.Tracing)
}

// NewLogger returns the JSON logger of a service; each line logged in a
// traced request carries its trace_id and span_id.
func NewLogger(w io.Writer, service string) *slog.Logger {
	return telemetry.NewLogger(w, service)
}

// Service is what Run needs of a started service.
type Service interface {
	// URL returns the base URL the service listens at.
	URL() string
	// Serve answers requests until ctx ends.
	Serve(ctx context.Context) error
}

// Run is the main of a service named name: it parses the configuration
// from args and getenv, starts the service with a JSON logger on stderr,
// logs the URL it listens at and serves until ctx ends.
func Run[C any, S Service](ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer,
	parse func([]string, func(string) string) (C, error),
	start func(context.Context, C, *slog.Logger) (S, error),
) error {
	cfg, err := parse(args, getenv)
	if err != nil {
		return err
	}
	logger := NewLogger(stderr, name)
	svc, err := start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "listening", "url", svc.URL())
	return svc.Serve(ctx)
}

// Handler wraps the service's routes in the shared middleware: the server
// span and metrics (tel), request id, access log, panic recovery and the
// artificial latency. It adds /healthz, /readyz (the database answers) and
// /openapi.yaml, and answers unknown routes with problem documents.
func Handler(tel *telemetry.Telemetry, logger *slog.Logger, latency string, db *sql.DB, openapi []byte, routes *http.ServeMux) http.Handler {
	lat, _ := ParseLatency(latency)
	routes.HandleFunc("GET /healthz", httpserver.Healthz)
	routes.HandleFunc("GET /readyz", httpserver.Readyz(func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			return apperr.Wrap(apperr.Unavailable, "database unavailable", err)
		}
		return nil
	}))
	routes.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapi)
	})
	return middleware.Chain(problemRoutes(routes),
		tel.Server(func(r *http.Request) string { _, pattern := routes.Handler(r); return pattern }),
		middleware.RequestID,
		middleware.AccessLog(logger),
		middleware.Recover,
		Delay(lat),
	)
}

// problemRoutes answers the mux's own 404 and 405 with problem documents.
func problemRoutes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern == "" {
			rec := &probe{header: http.Header{}}
			h.ServeHTTP(rec, r)
			switch rec.status {
			case http.StatusMethodNotAllowed:
				w.Header().Set("Allow", rec.header.Get("Allow"))
				problem.Write(w, r, apperr.New(apperr.MethodNotAllowed, "method not allowed"))
			default:
				problem.Write(w, r, apperr.New(apperr.NotFound, "no such resource"))
			}
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// probe captures what the mux's fallback handler would answer.
type probe struct {
	header http.Header
	status int
}

func (p *probe) Header() http.Header         { return p.header }
func (p *probe) Write(b []byte) (int, error) { return len(b), nil }
func (p *probe) WriteHeader(s int)           { p.status = s }

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
}
