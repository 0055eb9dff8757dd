// Package ratelimit is the BFFs' token buckets: what each principal (a
// user, an API key or, for anonymous callers, a client address) may spend,
// and how often anyone may try to sign in.
//
// Every limit is a token bucket: Burst tokens, refilled continuously at Rate
// tokens per second. A GraphQL operation spends as many tokens as the
// GraphQL guard says it costs, so one expensive query spends as much as many
// cheap ones. The buckets live behind the Store interface; MemoryStore is the
// in-process default, and a shared store (Redis, say) can replace it when
// many replicas must share one budget.
//
// The package decides; it does not answer HTTP requests. The edge
// (internal/bff/edge) applies the limits to requests and writes the 429s
// with their Retry-After and RateLimit-* headers.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// A Limit is a token bucket: Burst tokens, refilled at Rate tokens per
// second. A request costing more than Burst can never be allowed.
type Limit struct {
	// Rate is the refill rate, in tokens per second; it must be positive.
	Rate float64
	// Burst is the bucket's capacity; it must be at least 1.
	Burst int
}

// PerMinute returns a Limit of n tokens a minute with a burst of n.
func PerMinute(n int) Limit { return Limit{Rate: float64(n) / 60, Burst: n} }

// Validate reports whether l can be used: a positive, finite Rate and a
// Burst of at least 1.
func (l Limit) Validate() error {
	var errs []error
	if !(l.Rate > 0) || math.IsInf(l.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate must be a positive number of tokens per second, got %v", l.Rate))
	}
	if l.Burst < 1 {
		errs = append(errs, fmt.Errorf("burst must be at least 1, got %d", l.Burst))
	}
	return errors.Join(errs...)
}

// A Decision is the outcome of taking tokens from a bucket.
type Decision struct {
	// Allowed reports whether the tokens were taken.
	Allowed bool
	// Limit is the bucket's burst, for the RateLimit-Limit header.
	Limit int
	// Remaining is the whole number of tokens left after the take, for
	// the RateLimit-Remaining header.
	Remaining int
	// RetryAfter is, for a refused take, how long until the bucket holds
	// enough tokens for it; 0 when allowed. A take costing more than the
	// burst can never succeed (golang.org/x/time/rate refuses it too); its
	// RetryAfter is cost / rate, the time the bucket would need to earn
	// that much from empty. That is longer than a full refill, so a client
	// that honours it retries no faster than its rate, and the caller still
	// gets a 429 rather than a request that is never answered. The real
	// fix is a GraphQL guard whose maximum cost is within the burst.
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again, for the
	// RateLimit-Reset header.
	Reset time.Duration
}

// A Store keeps the token buckets, one per key.
//
// Take spends cost tokens from the bucket named key, whose shape is l,
// when it holds that many, and reports the outcome either way; a refused
// take spends nothing. A cost below 1 counts as 1. Implementations must be
// safe for concurrent use and exact under it: N concurrent takes of 1 from
// a bucket holding N tokens must all succeed, and no more. An error means
// the store could not decide (for a shared store, it was unreachable);
// the BFF then allows the request (fail open).
type Store interface {
	Take(ctx context.Context, key string, cost int, l Limit) (Decision, error)
}

// decide builds a Decision from the tokens left in a bucket after a take
// (or, for a refused take, the tokens it holds).
func decide(allowed bool, tokens float64, cost int, l Limit) Decision {
	d := Decision{
		Allowed:   allowed,
		Limit:     l.Burst,
		Remaining: wholeTokens(tokens),
		Reset:     durationFor(float64(l.Burst)-tokens, l.Rate),
	}
	switch {
	case allowed:
	case cost > l.Burst:
		d.RetryAfter = durationFor(float64(cost), l.Rate)
	default:
		d.RetryAfter = max(durationFor(float64(cost)-tokens, l.Rate), time.Nanosecond)
	}
	return d
}

// wholeTokens rounds tokens down to a whole number, forgiving the tiny
// shortfall floating-point refill arithmetic can leave (0.9999999999 is 1).
func wholeTokens(tokens float64) int {
	n := math.Floor(tokens + 1e-9)
	if n < 0 {
		return 0
	}
	return int(n)
}

// durationFor returns how long rate tokens per second take to refill
// tokens, rounded up to the nanosecond and capped at the longest Duration.
func durationFor(tokens, rate float64) time.Duration {
	if tokens <= 1e-9 {
		return 0
	}
	ns := math.Ceil(tokens / rate * float64(time.Second))
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up and at
// least 1: the Retry-After header of a refusal.
func (d Decision) RetryAfterSeconds() int64 { return max(ceilSeconds(d.RetryAfter), 1) }

// ResetSeconds is Reset in whole seconds, rounded up: the RateLimit-Reset
// header.
func (d Decision) ResetSeconds() int64 { return ceilSeconds(d.Reset) }

// ceilSeconds returns d in whole seconds, rounded up. (Adding a second
// less a nanosecond first would overflow for the longest Durations, which
// durationFor returns for waits beyond them.)
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	return secs
}
