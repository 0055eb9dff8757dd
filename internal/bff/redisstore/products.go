package redisstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/acme/bff-gateway/internal/bff/cache"
)

// Level2 is a second level of a cache.Cache in Redis: values as JSON
// under the cache's name and their key, each expiring when the cache
// would no longer serve it even stale.
type Level2[V any] struct {
	c     *Client
	store string
}

// NewLevel2 returns the second level named store ("products", "lists")
// of c.
func NewLevel2[V any](c *Client, store string) *Level2[V] {
	return &Level2[V]{c: c, store: store}
}

// Get returns what Redis holds of keys, in one round trip.
func (l *Level2[V]) Get(ctx context.Context, keys []string) (map[string]cache.Stored[V], error) {
	if len(keys) == 0 {
		return nil, nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = l.c.key(l.store, k)
	}
	values, err := l.c.rdb.MGet(ctx, names...).Result()
	if err != nil {
		return nil, l.c.failed(ctx, l.store, err)
	}
	out := make(map[string]cache.Stored[V], len(keys))
	for i, v := range values {
		text, ok := v.(string)
		if !ok {
			continue
		}
		var s cache.Stored[V]
		if json.Unmarshal([]byte(text), &s) == nil {
			out[keys[i]] = s
		}
	}
	return out, nil
}

// Set stores values for ttl, in one round trip.
func (l *Level2[V]) Set(ctx context.Context, values map[string]cache.Stored[V], ttl time.Duration) error {
	pipe := l.c.rdb.Pipeline()
	for k, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		pipe.Set(ctx, l.c.key(l.store, k), b, ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return l.c.failed(ctx, l.store, err)
	}
	return nil
}
