package ratelimit

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// MemoryStore is the in-process Store: one golang.org/x/time/rate.Limiter
// per key, in an LRU of at most maxKeys keys.
//
// Each bucket has its own mutex, held across the take and the reading of
// the tokens left, so a Decision is exact even under concurrency, and
// requests for different keys never wait for each other.
//
// When the LRU is full, the least recently used key is forgotten; if that
// principal comes back it starts with a full bucket. A principal that is
// active stays recent, so only a caller idle while maxKeys other keys were
// used can gain from it, and a key idle that long has usually refilled
// anyway. Size maxKeys above the number of principals active within the
// longest refill time (Burst / Rate).
//
// Each replica has its own MemoryStore, so with N replicas behind a
// load balancer a principal gets up to N times its limit.
type MemoryStore struct {
	now     func() time.Time
	buckets *lru.Cache[string, *bucket]
}

type bucket struct {
	mu    sync.Mutex
	lim   *rate.Limiter
	limit Limit
}

// NewMemoryStore returns a MemoryStore holding at most maxKeys buckets,
// reading the time from now (time.Now when nil; tests pass a fake clock).
// It panics if maxKeys is not positive (rate_limit.max_keys is checked when
// the configuration is loaded).
func NewMemoryStore(maxKeys int, now func() time.Time) *MemoryStore {
	if maxKeys <= 0 {
		panic("ratelimit: NewMemoryStore needs a positive number of keys")
	}
	if now == nil {
		now = time.Now
	}
	buckets, err := lru.New[string, *bucket](maxKeys)
	if err != nil {
		panic(err) // only for a size <= 0, ruled out above
	}
	return &MemoryStore{now: now, buckets: buckets}
}

// Len returns how many keys the store holds.
func (s *MemoryStore) Len() int { return s.buckets.Len() }

// Take implements Store. It returns an error only for an invalid Limit.
//
// golang.org/x/time/rate's AllowN refuses a cost above the burst without
// saying when to retry, and spends nothing on refusal; Take asks the
// limiter for its tokens afterwards (TokensAt) to fill Remaining, Reset and
// RetryAfter (see Decision). A bucket whose Limit changes is reshaped in
// place, keeping its tokens (capped at the new burst).
func (s *MemoryStore) Take(_ context.Context, key string, cost int, l Limit) (Decision, error) {
	if err := l.Validate(); err != nil {
		return Decision{}, err
	}
	cost = max(cost, 1)
	b := s.bucket(key, l)

	b.mu.Lock()
	defer b.mu.Unlock()
	// Read the clock under the lock, so a bucket's times never go back.
	now := s.now()
	if b.limit != l {
		b.lim.SetLimitAt(now, rate.Limit(l.Rate))
		b.lim.SetBurstAt(now, l.Burst)
		b.limit = l
	}
	allowed := b.lim.AllowN(now, cost)
	return decide(allowed, b.lim.TokensAt(now), cost, l), nil
}

// bucket returns the bucket for key, making a full one if there is none.
func (s *MemoryStore) bucket(key string, l Limit) *bucket {
	if b, ok := s.buckets.Get(key); ok {
		return b
	}
	b := &bucket{lim: rate.NewLimiter(rate.Limit(l.Rate), l.Burst), limit: l}
	// Another request may have made one meanwhile: use theirs.
	if prev, ok, _ := s.buckets.PeekOrAdd(key, b); ok {
		return prev
	}
	return b
}
