package redisstore

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/acme/bff-gateway/internal/bff/ratelimit"
)

// rateLimitStore is the store's name in keys and reports.
const rateLimitStore = "ratelimit"

var _ ratelimit.Store = (*RateLimits)(nil)

// RateLimits keeps the rate-limit buckets in Redis, one key per bucket
// (the SHA-256 of the bucket's name: names hold addresses and accounts),
// and takes from them with one atomic script (GCRA, go-redis/redis_rate),
// so that a budget of N allows N across all replicas. The bucket is the
// same token bucket as ratelimit.MemoryStore's: Burst tokens, refilled at
// Rate a second.
type RateLimits struct {
	c       *Client
	limiter *redis_rate.Limiter
}

// NewRateLimits returns the rate-limit store of c.
func NewRateLimits(c *Client) *RateLimits {
	return &RateLimits{c: c, limiter: redis_rate.NewLimiter(c.rdb)}
}

// Take spends cost tokens from key's bucket when it holds them.
func (r *RateLimits) Take(ctx context.Context, key string, cost int, l ratelimit.Limit) (ratelimit.Decision, error) {
	cost = max(cost, 1)
	// One token every 1/Rate seconds: redis_rate's Rate tokens per
	// Period, with Rate 1.
	limit := redis_rate.Limit{Rate: 1, Burst: l.Burst, Period: time.Duration(float64(time.Second) / l.Rate)}
	res, err := r.limiter.AllowN(ctx, r.c.key(rateLimitStore, hashed(key)), limit, cost)
	if err != nil {
		return ratelimit.Decision{}, r.c.failed(ctx, rateLimitStore, err)
	}
	d := ratelimit.Decision{
		Allowed:   res.Allowed > 0,
		Limit:     l.Burst,
		Remaining: max(res.Remaining, 0),
		Reset:     max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		d.RetryAfter = res.RetryAfter
		if cost > l.Burst || d.RetryAfter <= 0 {
			// Never allowed: as MemoryStore says, the time to earn the
			// cost from empty.
			d.RetryAfter = time.Duration(float64(cost) / l.Rate * float64(time.Second))
		}
	}
	return d, nil
}
