package ratelimit

import (
	"context"
	"time"
)

// FailedRetryAfter is the Retry-After of a take refused because the store
// failed (FailClosed).
const FailedRetryAfter = time.Second

// Failure is what a limit does while its store cannot decide.
type Failure int

const (
	// FailOpen lets the request through: a broken shared store must not
	// take the BFF down with it, and the breakers and timeouts still
	// protect the services.
	FailOpen Failure = iota
	// FailClosed refuses the request, to retry after FailedRetryAfter.
	FailClosed
)

// OnFailure returns store made to always decide: a take the store fails
// is allowed (FailOpen) or refused (FailClosed), and failed is told of the
// store's error (to count and log it; it must be quick and safe for
// concurrent use).
func OnFailure(store Store, f Failure, failed func(ctx context.Context, err error)) Store {
	return failureStore{store: store, failure: f, failed: failed}
}

type failureStore struct {
	store   Store
	failure Failure
	failed  func(context.Context, error)
}

func (s failureStore) Take(ctx context.Context, key string, cost int, l Limit) (Decision, error) {
	d, err := s.store.Take(ctx, key, cost, l)
	if err == nil {
		return d, nil
	}
	if s.failed != nil {
		s.failed(ctx, err)
	}
	if s.failure == FailClosed {
		return Decision{Allowed: false, Limit: l.Burst, RetryAfter: FailedRetryAfter, Reset: FailedRetryAfter}, nil
	}
	return Decision{Allowed: true, Limit: l.Burst, Remaining: l.Burst}, nil
}

// WithPrefix returns store with every key prefixed: two limits keyed by
// the same names (the address limit and the operations' limit, for
// anonymous callers) can then share one store without sharing buckets.
func WithPrefix(store Store, prefix string) Store { return prefixStore{store, prefix} }

type prefixStore struct {
	store  Store
	prefix string
}

func (p prefixStore) Take(ctx context.Context, key string, cost int, l Limit) (Decision, error) {
	return p.store.Take(ctx, p.prefix+key, cost, l)
}
