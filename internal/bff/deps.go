// Package bff assembles a BFF server from its generated executable schema:
// the service clients with their breakers, the shared product catalogue,
// token verification, per-request loaders, the gqlgen handler with its
// error presenter, and the HTTP routes (/graphql, /healthz, /readyz and, in
// development, the GraphiQL playground at /).
package bff

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bffconfig"
	"github.com/acme/bff-gateway/internal/breaker"
	"github.com/acme/bff-gateway/internal/cache"
	"github.com/acme/bff-gateway/internal/catalog"
	"github.com/acme/bff-gateway/internal/clients"
)

// Options are what a BFF is built from.
type Options struct {
	Kind   bffconfig.Kind
	Config bffconfig.Config
	Logger *slog.Logger
	// Transport is the base transport to the services; nil means a
	// default one. Tests pass a counting transport.
	Transport http.RoundTripper
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Deps are the dependencies resolvers are built from, shared by all
// requests of one process.
type Deps struct {
	Config   bffconfig.Config
	Clients  *clients.Set
	Catalog  *catalog.Catalog
	Verifier *auth.Verifier
	JWKS     *auth.RemoteKeys
	Logger   *slog.Logger
	Now      func() time.Time
}

// NewDeps builds the clients (one breaker per service), the product
// catalogue cache and the token verifier.
func NewDeps(opts Options) (Deps, error) {
	cfg := opts.Config
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	logger := opts.Logger
	set, err := clients.New(clients.Config{
		UserURL:     cfg.Services.UserURL,
		OrderURL:    cfg.Services.OrderURL,
		ProductURL:  cfg.Services.ProductURL,
		Transport:   opts.Transport,
		CallTimeout: cfg.Timeouts.Call,
		Breaker: breaker.Settings{
			MaxRequests:         cfg.Breaker.HalfOpenRequests,
			Interval:            cfg.Breaker.Interval,
			OpenTimeout:         cfg.Breaker.OpenTimeout,
			ConsecutiveFailures: cfg.Breaker.ConsecutiveFailures,
			OnStateChange: func(name, from, to string) {
				logger.Warn("circuit breaker changed state", "service", name, "from", from, "to", to)
			},
		},
	})
	if err != nil {
		return Deps{}, fmt.Errorf("service clients: %w", err)
	}
	cat, err := catalog.New(set.Products, cache.Config{
		MaxEntries: cfg.ProductCache.MaxEntries,
		TTL:        cfg.ProductCache.TTL,
		MaxStale:   cfg.ProductCache.MaxStale,
	}, now)
	if err != nil {
		return Deps{}, err
	}
	jwksClient := &http.Client{Timeout: 5 * time.Second}
	if opts.Transport != nil {
		jwksClient.Transport = opts.Transport
	}
	jwks := auth.NewRemoteKeys(auth.RemoteKeysConfig{
		URL:             cfg.Services.UserURL + auth.JWKSPath,
		RefreshInterval: cfg.Auth.JWKSRefresh,
		HTTPClient:      jwksClient,
	})
	return Deps{
		Config:   cfg,
		Clients:  set,
		Catalog:  cat,
		Verifier: auth.NewVerifier(jwks, cfg.Auth.Issuer, cfg.Auth.Audience),
		JWKS:     jwks,
		Logger:   logger,
		Now:      now,
	}, nil
}

// Ready reports whether the BFF can answer anything: not every service's
// breaker is open.
func (d Deps) Ready() bool {
	for _, b := range d.Clients.Breakers {
		if b.State() != breaker.StateOpen {
			return true
		}
	}
	return false
}
