package bff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/observe"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/redisstore"
	"github.com/acme/bff-gateway/internal/bff/session"
	"github.com/acme/bff-gateway/internal/contract"
)

// sharedState are the stores a BFF keeps: its own, in memory, or shared
// with the other replicas in Redis when redis.url is set.
type sharedState struct {
	rates, addresses ratelimit.Store
	sessions         session.Store
	sessionCount     func() int
	apq              guard.APQShared
	products         *redisstore.Level2[contract.Product]
	lists            *redisstore.Level2[[]contract.Product]
}

// The shared stores' names, in metrics and logs.
const (
	storeSessions  = "session"
	storeRateLimit = "ratelimit"
	storeAPQ       = "apq"
	storeProducts  = "products"
	storeLists     = "lists"
)

// SharedStores are the names of the stores kept in Redis.
var SharedStores = []string{storeSessions, storeRateLimit, storeAPQ, storeProducts, storeLists}

// newSharedState makes the stores of opts's configuration. Shared, their
// failures are counted (bff_shared_store_errors_total) and logged at most
// once a second per store; each then falls back as the README says:
// rate limits open (or closed, redis.rate_limit_failure), APQ and the
// product cache to this replica's own level, sessions unavailable.
func newSharedState(opts Options, obs *observe.Observer, now func() time.Time) (sharedState, error) {
	cfg := opts.Config
	if !cfg.Redis.Shared() {
		sessions := session.NewMemoryStore(cfg.Auth.MaxSessions, now)
		return sharedState{
			rates: ratelimit.NewMemoryStore(cfg.RateLimit.MaxKeys, now),
			// The address limit has its own store, so that it never spends
			// from the operations' buckets (both key anonymous callers by
			// address).
			addresses:    ratelimit.NewMemoryStore(cfg.RateLimit.MaxKeys, now),
			sessions:     sessions,
			sessionCount: sessions.Len,
		}, nil
	}
	c := opts.Shared
	if c == nil {
		return sharedState{}, errors.New("redis.url is set but no Redis client was given (bff.Run opens it)")
	}
	obs.WatchSharedStores(SharedStores)
	c.Observe(obs.RedisCommand, failureReporter(opts.Logger, obs))
	failure := ratelimit.FailOpen
	if cfg.Redis.RateLimitFailure == "closed" {
		failure = ratelimit.FailClosed
	}
	rates := ratelimit.OnFailure(redisstore.NewRateLimits(c), failure, nil)
	st := sharedState{
		rates:     rates,
		addresses: ratelimit.WithPrefix(rates, "address:"),
		apq: redisstore.NewAPQ(c, redisstore.APQLimits{
			TTLSeconds: cfg.Redis.APQTTL.Seconds(),
			MaxEntries: cfg.PersistedQueries.APQMaxEntries,
			MaxBytes:   cfg.PersistedQueries.APQMaxBytes,
		}),
		products: redisstore.NewLevel2[contract.Product](c, storeProducts),
		lists:    redisstore.NewLevel2[[]contract.Product](c, storeLists),
	}
	if opts.Kind == config.Web {
		keys, err := config.ParseSessionKeys(cfg.Auth.SessionKeys)
		if err != nil {
			return sharedState{}, fmt.Errorf("auth.session_keys: %w", err)
		}
		sealing := make([]redisstore.SessionKey, len(keys))
		for i, k := range keys {
			sealing[i] = redisstore.SessionKey{ID: k.ID, Secret: k.Secret}
		}
		if st.sessions, err = redisstore.NewSessions(c, sealing, now); err != nil {
			return sharedState{}, err
		}
	}
	return st, nil
}

// failureReporter counts every failure of a shared store and logs it, at
// most once a second per store.
func failureReporter(logger *slog.Logger, obs *observe.Observer) func(ctx context.Context, store string, err error) {
	var mu sync.Mutex
	limits := map[string]*rate.Sometimes{}
	return func(ctx context.Context, store string, err error) {
		obs.SharedStoreFailed(store)
		mu.Lock()
		s, ok := limits[store]
		if !ok {
			s = &rate.Sometimes{Interval: time.Second}
			limits[store] = s
		}
		mu.Unlock()
		s.Do(func() {
			logger.WarnContext(ctx, "shared store failed; falling back (logged at most once a second)",
				slog.String("store", store), slog.Any("err", err))
		})
	}
}
