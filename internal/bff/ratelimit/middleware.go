package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/acme/bff-gateway/internal/gqlerr"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// Config configures rate limiting in a BFF.
type Config struct {
	// Enabled turns rate limiting on; when false Middleware passes every
	// request through.
	Enabled bool
	// Operations is every principal's budget of GraphQL cost units.
	Operations Limit
	// Login limits login attempts.
	Login LoginConfig
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (see ClientIP). Empty means none: the direct peer is the client.
	TrustedProxies []netip.Prefix
}

// LoginConfig limits login attempts per client address and per account.
type LoginConfig struct {
	PerIP      Limit
	PerAccount Limit
}

// DefaultConfig returns the defaults: enabled; 50 cost units a second with
// a burst of 2000 per principal; 10 login attempts a minute per client
// address and 5 per account, each with a burst of the same size; no trusted
// proxies.
func DefaultConfig() Config {
	return Config{
		Enabled:    true,
		Operations: Limit{Rate: 50, Burst: 2000},
		Login: LoginConfig{
			PerIP:      PerMinute(10),
			PerAccount: PerMinute(5),
		},
	}
}

// Validate reports every invalid limit at once. A disabled Config is
// valid whatever its limits.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	return errors.Join(
		wrapErr("operations", c.Operations.Validate()),
		c.Login.Validate(),
	)
}

// Validate reports every invalid limit at once.
func (c LoginConfig) Validate() error {
	return errors.Join(
		wrapErr("login per IP", c.PerIP.Validate()),
		wrapErr("login per account", c.PerAccount.Validate()),
	)
}

// wrapErr prefixes err, or each of the errors joined in it, with what.
func wrapErr(what string, err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, wrapErr(what, e))
		}
		return errors.Join(errs...)
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("ratelimit: %s: %w", what, err)
}

// Middleware limits each principal's spending on GraphQL operations. It
// must run after authentication (which puts the principal in the context)
// and after the GraphQL guard (which puts the operation's cost there).
//
// For each request it takes cost(ctx) tokens (at least 1; 1 when cost is
// nil) from the bucket PrincipalKey(r, cfg.TrustedProxies, apiKeyName(ctx))
// (apiKeyName may be nil). It also puts the client address in the context
// (ClientIPFromContext) for the login limiter.
//
// An allowed request gets RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset (whole seconds until the bucket is full) headers, as in
// draft-ietf-httpapi-ratelimit-headers, and goes on. A refused one is
// answered 429 with Retry-After (whole seconds, at least 1), the same
// headers and a GraphQL error coded RATE_LIMITED; next is not called.
//
// If the store fails, the request is allowed (fail open) and the failure
// logged: a broken or unreachable shared store must not take the BFF down
// with it, and the per-replica breakers and timeouts still protect the
// services.
//
// When cfg is disabled Middleware returns next unchanged. It panics if cfg
// is enabled and invalid (check Config.Validate when loading the config)
// or store is nil.
func Middleware(store Store, cfg Config, cost func(ctx context.Context) int, apiKeyName func(ctx context.Context) string) func(http.Handler) http.Handler {
	if !cfg.Enabled {
		return func(next http.Handler) http.Handler { return next }
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if store == nil {
		panic("ratelimit: Middleware needs a store")
	}
	limit := cfg.Operations
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := NewContextWithClientIP(r.Context(), ClientIP(r, cfg.TrustedProxies))
			r = r.WithContext(ctx)

			n := 1
			if cost != nil {
				n = max(cost(ctx), 1)
			}
			var name string
			if apiKeyName != nil {
				name = apiKeyName(ctx)
			}
			key := PrincipalKey(r, cfg.TrustedProxies, name)

			d, err := store.Take(ctx, key, n, limit)
			if err != nil {
				requestctx.LoggerFromContext(ctx).WarnContext(ctx, "rate limit store failed; allowing the request",
					slog.String("key", key), slog.Any("err", err))
				next.ServeHTTP(w, r)
				return
			}
			setHeaders(w.Header(), d)
			if d.Allowed {
				next.ServeHTTP(w, r)
				return
			}
			if n > limit.Burst {
				requestctx.LoggerFromContext(ctx).WarnContext(ctx, "operation costs more than the rate limit burst; it can never be allowed",
					slog.Int("cost", n), slog.Int("burst", limit.Burst))
			}
			secs := setRetryAfter(w.Header(), d)
			gqlerr.WriteHTTP(w, r, http.StatusTooManyRequests, gqlerr.CodeRateLimited,
				fmt.Sprintf("rate limit exceeded; retry after %d seconds", secs))
		})
	}
}

// setHeaders sets the RateLimit-* headers of d.
func setHeaders(h http.Header, d Decision) {
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
}

// setRetryAfter sets Retry-After to d.RetryAfter in whole seconds, at
// least 1, and returns them.
func setRetryAfter(h http.Header, d Decision) int64 {
	secs := retrySeconds(d)
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	return secs
}

func retrySeconds(d Decision) int64 { return max(ceilSeconds(d.RetryAfter), 1) }
