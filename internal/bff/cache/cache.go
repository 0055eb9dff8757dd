// Package cache is a bounded, TTL'd, process-wide cache of public data (the
// product catalogue) shared by the GraphQL BFFs across requests and users.
//
// It differs from a per-request dataloader in three ways: entries outlive
// the request, identical concurrent misses are collapsed into one upstream
// call (singleflight), and when the upstream fails an entry past its TTL may
// still be served, marked stale, for a bounded time.
//
// Only data that is the same for every caller belongs here: a fetch runs
// with the values of whichever caller started it, and its result is handed
// to all callers. Cached values are shared, so callers must treat them as
// immutable.
package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Config configures a Cache. The product cache's settings, and their
// defaults, are the BFF's configuration's (product_cache).
type Config struct {
	// MaxEntries bounds the number of entries; the least recently used entry
	// is evicted first. It must be positive.
	MaxEntries int
	// TTL is how long an entry is fresh, measured from the start of the fetch
	// that produced it. It must be positive.
	TTL time.Duration
	// MaxStale is how long past its TTL an entry may still be served when a
	// fetch fails. Zero disables stale serving.
	MaxStale time.Duration
	// FetchTimeout bounds a shared fetch, which runs detached from the
	// cancellation of the callers waiting on it. It must be positive.
	FetchTimeout time.Duration
}

// validate reports every unusable setting at once.
func (c Config) validate() error {
	var errs []error
	if c.MaxEntries <= 0 {
		errs = append(errs, fmt.Errorf("cache: max entries %d is not positive", c.MaxEntries))
	}
	if c.TTL <= 0 {
		errs = append(errs, fmt.Errorf("cache: ttl %s is not positive", c.TTL))
	}
	if c.MaxStale < 0 {
		errs = append(errs, fmt.Errorf("cache: max stale %s is negative", c.MaxStale))
	}
	if c.FetchTimeout <= 0 {
		errs = append(errs, fmt.Errorf("cache: fetch timeout %s is not positive", c.FetchTimeout))
	}
	return errors.Join(errs...)
}

// Result is the outcome of loading one key.
type Result[V any] struct {
	// Value is the value, when Found.
	Value V
	// Found reports whether the key has a value. A key the fetch did not
	// return is not found, without an error.
	Found bool
	// Stale reports that Value is past its TTL and is served because the
	// fetch failed.
	Stale bool
	// Err is the fetch error (or the caller's context error) when no value,
	// fresh or stale, could be served.
	Err error
}

// SecondLevel is a cache shared by several replicas, behind each one's own
// (Redis, say). Get returns what it holds of keys, with when each value was
// fetched from the source; Set stores values for ttl. Its errors are its
// own to report: the cache carries on without it.
type SecondLevel[K ~string, V any] interface {
	Get(ctx context.Context, keys []K) (map[K]Stored[V], error)
	Set(ctx context.Context, values map[K]Stored[V], ttl time.Duration) error
}

// Stored is a value of the second level and when it was fetched.
type Stored[V any] struct {
	Value     V         `json:"v"`
	FetchedAt time.Time `json:"t"`
}

type entry[V any] struct {
	value     V
	fetchedAt time.Time
}

// Cache is a bounded, TTL'd cache with collapsed fetches and stale fallback.
// It is safe for concurrent use.
type Cache[K ~string, V any] struct {
	cfg     Config
	now     func() time.Time
	entries *lru.Cache[K, entry[V]]
	group   singleflight.Group
	second  SecondLevel[K, V] // nil: none

	hits, misses, stale, evictions, shared atomic.Uint64

	// waiting, when set by tests, is called once a caller has joined (or
	// started) a shared fetch and is about to wait for it.
	waiting func()
}

// New returns a Cache, or an error naming every unusable setting of cfg.
// A nil now means time.Now.
func New[K ~string, V any](cfg Config, now func() time.Time) (*Cache[K, V], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	entries, err := lru.New[K, entry[V]](cfg.MaxEntries)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &Cache[K, V]{cfg: cfg, now: now, entries: entries}, nil
}

// WithSecondLevel has the cache look in l for the keys it lacks before it
// fetches them, and store there what it fetches (for TTL+MaxStale), so
// that replicas share their fetches. A value l holds keeps the time it was
// first fetched: it is fresh, and then stale, by that time on every
// replica. Call it before the cache is used.
func (c *Cache[K, V]) WithSecondLevel(l SecondLevel[K, V]) *Cache[K, V] {
	c.second = l
	return c
}

// Stats are a cache's counts since it was made.
type Stats struct {
	// Hits are keys served fresh from the cache, Misses keys that had to
	// be fetched (joining a shared fetch included).
	Hits, Misses uint64
	// Stale are keys served past their TTL because a fetch failed.
	Stale uint64
	// Evictions are entries dropped to make room.
	Evictions uint64
	// Shared are keys found fresh in the second level (counted in Misses
	// too: this replica did not hold them).
	Shared uint64
	// Entries is the number of entries held now.
	Entries int
}

// Stats returns the cache's counts.
func (c *Cache[K, V]) Stats() Stats {
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Stale: c.stale.Load(),
		Evictions: c.evictions.Load(), Shared: c.shared.Load(), Entries: c.entries.Len(),
	}
}

// Len returns the number of entries, fresh or not.
func (c *Cache[K, V]) Len() int { return c.entries.Len() }

// Load returns a result for every key, in the order of keys. Fresh entries
// come from the cache; the other keys are fetched with one call of fetch,
// which receives them deduplicated and sorted. Keys absent from the map fetch
// returns are not found and are not cached (an older entry for them is
// dropped). Concurrent Loads whose missing keys are the same share one
// fetch, which runs detached from the callers' cancellation under
// Config.FetchTimeout; a caller whose ctx ends stops waiting and gets its
// ctx error for the missing keys, without affecting the others.
//
// When fetch fails, a key whose entry is younger than TTL+MaxStale is served
// from it with Stale set and no error; the other missing keys get the fetch
// error. Errors are never cached. A panic in fetch is returned as an error.
//
// fetch must depend only on the keys (not on the caller), since its result
// is shared with other callers and cached.
func (c *Cache[K, V]) Load(ctx context.Context, keys []K, fetch func(ctx context.Context, keys []K) (map[K]V, error)) []Result[V] {
	results := make([]Result[V], len(keys))
	now := c.now()
	var missing []K
	for i, k := range keys {
		if e, ok := c.entries.Get(k); ok && c.fresh(e, now) {
			results[i] = Result[V]{Value: e.value, Found: true}
			continue
		}
		missing = append(missing, k)
	}
	c.hits.Add(uint64(len(keys) - len(missing)))
	c.misses.Add(uint64(len(missing)))
	if len(missing) == 0 {
		return results
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)

	fetched, abandoned, err := c.fetch(ctx, missing, fetch)
	for i, k := range keys {
		if results[i].Found {
			continue
		}
		switch {
		case err == nil:
			if v, ok := fetched[k]; ok {
				results[i] = Result[V]{Value: v, Found: true}
			}
		case abandoned:
			// The caller gave up; it gets its own ctx error.
			results[i] = Result[V]{Err: err}
		default:
			results[i] = c.fallback(k, err)
		}
	}
	return results
}

// Get loads a single key with the same semantics as Load; fetch reports
// whether the value exists. It suits keys that name a whole list, such as
// "featured:6".
func (c *Cache[K, V]) Get(ctx context.Context, key K, fetch func(ctx context.Context) (V, bool, error)) Result[V] {
	return c.Load(ctx, []K{key}, func(ctx context.Context, _ []K) (map[K]V, error) {
		v, ok, err := fetch(ctx)
		if err != nil || !ok {
			return nil, err
		}
		return map[K]V{key: v}, nil
	})[0]
}

// fetch runs (or joins) the shared fetch of the sorted, unique keys and
// waits for it or for ctx, whichever ends first. abandoned reports that ctx
// ended first, err then being ctx's error.
func (c *Cache[K, V]) fetch(ctx context.Context, keys []K, fetch func(context.Context, []K) (map[K]V, error)) (m map[K]V, abandoned bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, true, err
	}
	ch := c.group.DoChan(flightKey(keys), func() (any, error) {
		return c.fetchAndStore(context.WithoutCancel(ctx), keys, fetch)
	})
	if c.waiting != nil {
		c.waiting()
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, false, r.Err
		}
		return r.Val.(map[K]V), false, nil
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
}

// fetchAndStore calls fetch under the fetch timeout and caches what it
// returns for the keys asked.
func (c *Cache[K, V]) fetchAndStore(ctx context.Context, keys []K, fetch func(context.Context, []K) (map[K]V, error)) (m map[K]V, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	defer func() {
		// A panic here would otherwise crash the process: singleflight
		// re-panics on a goroutine nobody can recover.
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("cache: fetch panicked: %v", p)
		}
	}()
	start := c.now()
	fromSecond, rest := c.lookSecond(ctx, keys, start)
	m = make(map[K]V, len(keys))
	for k, s := range fromSecond {
		if start.Sub(s.FetchedAt) < c.cfg.TTL {
			c.add(k, s.Value, s.FetchedAt)
			m[k] = s.Value
		}
	}
	if len(rest) == 0 {
		return m, nil
	}
	got, err := fetch(ctx, rest)
	if err != nil {
		// What the second level holds past its TTL still beats nothing:
		// the fallback serves it stale.
		for _, k := range rest {
			if s, ok := fromSecond[k]; ok {
				if e, held := c.entries.Peek(k); !held || e.fetchedAt.Before(s.FetchedAt) {
					c.add(k, s.Value, s.FetchedAt)
				}
			}
		}
		return nil, err
	}
	share := make(map[K]Stored[V], len(got))
	for _, k := range rest {
		if v, ok := got[k]; ok {
			c.add(k, v, start)
			m[k] = v
			share[k] = Stored[V]{Value: v, FetchedAt: start}
		} else {
			c.entries.Remove(k)
		}
	}
	if c.second != nil && len(share) > 0 {
		_ = c.second.Set(ctx, share, c.cfg.TTL+c.cfg.MaxStale) // its failure is its own to report
	}
	return m, nil
}

// lookSecond returns what the second level holds of keys, and the keys it
// does not hold fresh at now (all of them without a second level, or when
// it fails: the cache then goes on as if it had none).
func (c *Cache[K, V]) lookSecond(ctx context.Context, keys []K, now time.Time) (map[K]Stored[V], []K) {
	if c.second == nil {
		return nil, keys
	}
	held, err := c.second.Get(ctx, keys)
	if err != nil {
		return nil, keys
	}
	var rest []K
	for _, k := range keys {
		if s, ok := held[k]; ok && now.Sub(s.FetchedAt) < c.cfg.TTL {
			c.shared.Add(1)
			continue
		}
		rest = append(rest, k)
	}
	return held, rest
}

func (c *Cache[K, V]) add(k K, v V, fetchedAt time.Time) {
	if evicted := c.entries.Add(k, entry[V]{value: v, fetchedAt: fetchedAt}); evicted {
		c.evictions.Add(1)
	}
}

// fallback serves key's entry, if still within TTL+MaxStale, after a failed
// fetch; otherwise it returns err.
func (c *Cache[K, V]) fallback(key K, err error) Result[V] {
	if c.cfg.MaxStale > 0 {
		if e, ok := c.entries.Peek(key); ok {
			age := c.now().Sub(e.fetchedAt)
			if age < c.cfg.TTL+c.cfg.MaxStale {
				r := Result[V]{Value: e.value, Found: true, Stale: age >= c.cfg.TTL}
				if r.Stale {
					c.stale.Add(1)
				}
				return r
			}
		}
	}
	return Result[V]{Err: err}
}

func (c *Cache[K, V]) fresh(e entry[V], now time.Time) bool {
	return now.Sub(e.fetchedAt) < c.cfg.TTL
}

// flightKey encodes sorted keys unambiguously: each is length-prefixed, so
// no choice of key contents can make two different sets collide.
func flightKey[K ~string](keys []K) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strconv.Itoa(len(k)))
		b.WriteByte(':')
		b.WriteString(string(k))
	}
	return b.String()
}
