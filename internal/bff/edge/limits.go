package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// LimitAddresses limits the requests of each client address (as Begin
// determined it) to limit, one token each, before anything else is done
// with them, so that even documents the guard would refuse (parsing one
// can cost milliseconds) cannot be sent without limit. It keys its buckets
// "ip:<address>" in store, which should be its own, so that it never
// spends from the operations' buckets.
func LimitAddresses(store ratelimit.Store, limit ratelimit.Limit, opts ...LimitOption) func(http.Handler) http.Handler {
	return limitBy(store, limit, func(ctx context.Context) (string, int) {
		return ratelimit.PrincipalKey("", "", request.ClientIP(ctx)), 1
	}, opts)
}

// LimitOperations spends each operation's cost (cost(ctx), at least 1:
// the guard measures it) from its principal's bucket: the signed-in
// user's, else the calling application's, else the client address's (see
// ratelimit.PrincipalKey). It must run after the guard and the
// authentication.
func LimitOperations(store ratelimit.Store, limit ratelimit.Limit, cost func(context.Context) int, opts ...LimitOption) func(http.Handler) http.Handler {
	return limitBy(store, limit, func(ctx context.Context) (string, int) {
		p, _ := auth.PrincipalFromContext(ctx)
		return ratelimit.PrincipalKey(p.Subject, request.App(ctx), request.ClientIP(ctx)), max(cost(ctx), 1)
	}, opts)
}

// A LimitOption adds to a limit's behaviour.
type LimitOption func(*limitOptions)

type limitOptions struct{ onRefuse func() }

// OnRefuse has f called on every request the limit refuses (to count
// them); it must be quick and safe for concurrent use.
func OnRefuse(f func()) LimitOption {
	return func(o *limitOptions) { o.onRefuse = f }
}

// limitBy takes the tokens key(ctx) names from store. An allowed request
// gets the RateLimit-Limit, -Remaining and -Reset headers (whole seconds
// until the bucket is full, as in draft-ietf-httpapi-ratelimit-headers)
// and goes on; a refused one is answered 429 with Retry-After (WriteThrottled).
// A store that cannot decide lets the request through (fail open) and is
// logged: a broken shared store must not take the BFF down with it, and
// the breakers and timeouts still protect the services.
func limitBy(store ratelimit.Store, limit ratelimit.Limit, key func(context.Context) (string, int), opts []LimitOption) func(http.Handler) http.Handler {
	if err := limit.Validate(); err != nil {
		panic(err) // the configuration is validated when it is loaded
	}
	var o limitOptions
	for _, opt := range opts {
		opt(&o)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			k, cost := key(ctx)
			d, err := store.Take(ctx, k, cost, limit)
			if err != nil {
				requestctx.LoggerFromContext(ctx).WarnContext(ctx, "rate limit store failed; allowing the request",
					slog.String("key", k), slog.Any("err", err))
				next.ServeHTTP(w, r)
				return
			}
			if d.Allowed {
				SetRateLimitHeaders(w.Header(), d)
				next.ServeHTTP(w, r)
				return
			}
			if o.onRefuse != nil {
				o.onRefuse()
			}
			if cost > limit.Burst {
				requestctx.LoggerFromContext(ctx).WarnContext(ctx, "operation costs more than the rate limit burst; it can never be allowed",
					slog.Int("cost", cost), slog.Int("burst", limit.Burst))
			}
			WriteThrottled(w, r, d)
		})
	}
}

// WriteThrottled answers r with 429 RATE_LIMITED for the refusal d, with
// its Retry-After and RateLimit-* headers.
func WriteThrottled(w http.ResponseWriter, r *http.Request, d ratelimit.Decision) {
	setThrottled(w.Header(), d)
	Refuse(w, r, http.StatusTooManyRequests, CodeRateLimited,
		fmt.Sprintf("rate limit exceeded; retry after %d seconds", d.RetryAfterSeconds()))
}

// SetRateLimitHeaders sets the RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset headers of d.
func SetRateLimitHeaders(h http.Header, d ratelimit.Decision) {
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(d.ResetSeconds(), 10))
}

// setThrottled sets the headers of a refusal: the RateLimit-* headers and
// Retry-After (whole seconds, at least 1).
func setThrottled(h http.Header, d ratelimit.Decision) {
	SetRateLimitHeaders(h, d)
	h.Set("Retry-After", strconv.FormatInt(d.RetryAfterSeconds(), 10))
}
