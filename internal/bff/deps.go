// Package bff assembles a BFF server from its generated executable schema:
// the service clients with their breakers, the shared product catalogue,
// token verification, per-request loaders, the gqlgen handler with its
// error presenter, and the HTTP routes (/graphql, /healthz, /readyz and, in
// development, the GraphiQL playground at /).
package bff

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/catalog"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/observe"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/redisstore"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/telemetry"
)

// Options are what a BFF is built from.
type Options struct {
	Kind   config.Kind
	Config config.Config
	Logger *slog.Logger
	// Transport is the base transport to the services; nil means a
	// default one. Tests pass a counting transport.
	Transport http.RoundTripper
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Telemetry receives the metrics and spans; nil means metrics in a
	// registry of its own and no tracing.
	Telemetry *telemetry.Telemetry
	// Shared is the Redis the replicas share, needed when the
	// configuration's redis.url is set (Run opens it); nil otherwise.
	Shared *redisstore.Client
	// Draining, when set, reports that the BFF is stopping: /readyz then
	// answers 503 so that load balancers take it out of rotation.
	Draining func() bool
}

// Deps are the dependencies resolvers are built from, shared by all
// requests of one process.
type Deps struct {
	Config   config.Config
	Clients  *upstream.Set
	Catalog  *catalog.Catalog
	Verifier *auth.Verifier
	JWKS     *auth.RemoteKeys
	Logger   *slog.Logger
	Now      func() time.Time
	// RateStore keeps the rate-limit buckets of operations and sign-ins,
	// and AddressStore those of client addresses (in memory, or shared in
	// Redis).
	RateStore    ratelimit.Store
	AddressStore ratelimit.Store
	// Sessions keeps the web sessions; SessionCount, when not nil, counts
	// them (only the in-memory store can).
	Sessions     session.Store
	SessionCount func() int
	// APQShared is the APQ store the replicas share; nil without Redis.
	APQShared guard.APQShared
	// Draining reports that the BFF is stopping (Options.Draining).
	Draining func() bool
	// Logins limits sign-in attempts per address and per account.
	Logins *ratelimit.LoginLimiter
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Telemetry holds the metrics registry and the tracer provider.
	Telemetry *telemetry.Telemetry
	// Observe records the BFF's own metrics and spans.
	Observe *observe.Observer
}

// NewDeps builds the clients (one breaker and retry budget per service),
// the product catalogue cache and the token verifier.
func NewDeps(opts Options) (Deps, error) {
	cfg := opts.Config
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	logger := opts.Logger
	tel := opts.Telemetry
	if tel == nil {
		tel = telemetry.NewNoop("bff-" + string(opts.Kind))
	}
	obs := observe.New(tel, string(opts.Kind))
	calls := obs.WatchUpstream(upstream.ServiceNames())
	set, err := upstream.New(upstream.Config{
		UserURL:        cfg.Services.UserURL,
		OrderURL:       cfg.Services.OrderURL,
		ProductURL:     cfg.Services.ProductURL,
		Transport:      opts.Transport,
		Telemetry:      tel,
		CallTimeout:    cfg.Timeouts.Call,
		MaxAnswerBytes: cfg.Upstream.MaxAnswerBytes,
		Retry: upstream.RetrySettings{
			Attempts:     cfg.Upstream.RetryAttempts,
			Backoff:      cfg.Upstream.RetryBackoff,
			MaxBackoff:   cfg.Upstream.RetryMaxBackoff,
			BudgetRatio:  cfg.Upstream.RetryBudgetRatio,
			MinPerSecond: cfg.Upstream.RetryMinPerSecond,
			OnRetry:      calls.Retried,
			OnCall:       calls.Call,
		},
		Breaker: breaker.Settings{
			MaxRequests:         cfg.Breaker.HalfOpenRequests,
			Interval:            cfg.Breaker.Interval,
			OpenTimeout:         cfg.Breaker.OpenTimeout,
			ConsecutiveFailures: cfg.Breaker.ConsecutiveFailures,
			OnStateChange: func(name, from, to string) {
				logger.Warn("circuit breaker changed state", "service", name, "from", from, "to", to)
				obs.BreakerChanged(name, from, to)
			},
		},
	})
	if err != nil {
		return Deps{}, fmt.Errorf("service clients: %w", err)
	}
	cat, err := catalog.New(set.Products, cache.Config{
		MaxEntries:   cfg.ProductCache.MaxEntries,
		TTL:          cfg.ProductCache.TTL,
		MaxStale:     cfg.ProductCache.MaxStale,
		FetchTimeout: cfg.ProductCache.FetchTimeout,
	}, now)
	if err != nil {
		return Deps{}, err
	}
	obs.WatchBreakers(set.Breakers)
	obs.WatchCache(cat.CacheStats)
	base := opts.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	jwksClient := &http.Client{Timeout: auth.JWKSFetchTimeout, Transport: tel.Client("user", base, nil)}
	jwks := auth.NewRemoteKeys(auth.RemoteKeysConfig{
		URL:             cfg.Services.UserURL + auth.JWKSPath,
		RefreshInterval: cfg.Auth.JWKSRefresh,
		MinRefreshGap:   cfg.Auth.JWKSMinRefreshGap,
		HTTPClient:      jwksClient,
	})
	obs.WatchJWKS(jwks)
	var proxies []netip.Prefix
	for _, p := range cfg.HTTP.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return Deps{}, fmt.Errorf("trusted proxy %q: %w", p, err)
		}
		proxies = append(proxies, prefix)
	}
	shared, err := newSharedState(opts, obs, now)
	if err != nil {
		return Deps{}, err
	}
	if shared.products != nil {
		cat.Share(shared.products, shared.lists)
	}
	store := shared.rates
	var logins *ratelimit.LoginLimiter
	if cfg.RateLimit.Enabled {
		logins = ratelimit.NewLoginLimiter(store, ratelimit.LoginConfig{
			PerIP:      ratelimit.PerMinute(cfg.RateLimit.LoginPerIPPerMinute),
			PerAccount: ratelimit.PerMinute(cfg.RateLimit.LoginPerAccountPerMinute),
		})
		logins.OnRefuse(obs.RateLimited("login"))
	}
	return Deps{
		RateStore:      store,
		AddressStore:   shared.addresses,
		Sessions:       shared.sessions,
		SessionCount:   shared.sessionCount,
		APQShared:      shared.apq,
		Draining:       opts.Draining,
		Logins:         logins,
		TrustedProxies: proxies,
		Config:         cfg,
		Clients:        set,
		Catalog:        cat,
		Verifier:       auth.NewVerifier(jwks, cfg.Auth.Issuer, cfg.Auth.Audience),
		JWKS:           jwks,
		Logger:         logger,
		Now:            now,
		Telemetry:      tel,
		Observe:        obs,
	}, nil
}

// ready reports whether the BFF can take requests: it fails, with
// Unavailable, while it drains, and when every service's breaker is open.
// (A failing Redis does not make it unready: every store falls back, and
// taking every replica out of rotation at once would help nobody.)
func (d Deps) ready(context.Context) error {
	if d.Draining != nil && d.Draining() {
		return apperr.New(apperr.Unavailable, "draining: this replica is stopping")
	}
	for _, b := range d.Clients.Breakers {
		if b.State() != breaker.StateOpen {
			return nil
		}
	}
	return apperr.New(apperr.Unavailable, "every upstream service's circuit breaker is open")
}
