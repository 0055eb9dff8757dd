package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// apqStore is the store's name in keys and reports.
const apqStore = "apq"

// APQ keeps the documents registered by automatic persisted queries, for
// every replica: each under its hash, expiring TTL after its last
// registration, and at most MaxEntries of them holding at most MaxBytes
// of text, the oldest registrations dropped first. One script keeps the
// bounds, so that no interleaving of replicas can exceed them.
type APQ struct {
	c          *Client
	ttl        float64 // seconds
	maxEntries int
	maxBytes   int
}

// APQLimits bound the shared APQ store.
type APQLimits struct {
	TTLSeconds float64
	MaxEntries int
	MaxBytes   int
}

// NewAPQ returns the APQ store of c within limits.
func NewAPQ(c *Client, limits APQLimits) *APQ {
	return &APQ{c: c, ttl: limits.TTLSeconds, maxEntries: limits.MaxEntries, maxBytes: limits.MaxBytes}
}

// Get returns the document registered under hash.
func (a *APQ) Get(ctx context.Context, hash string) (string, bool, error) {
	text, err := a.c.rdb.Get(ctx, a.c.key(apqStore, "doc:"+hash)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, a.c.failed(ctx, apqStore, err)
	}
	return text, true, nil
}

// Add registers text under hash. A text longer than MaxBytes is not kept.
func (a *APQ) Add(ctx context.Context, hash, text string) error {
	if len(text) > a.maxBytes {
		return nil
	}
	keys := []string{a.c.key(apqStore, "index"), a.c.key(apqStore, "sizes"), a.c.key(apqStore, "bytes")}
	err := registerAPQ.Run(ctx, a.c.rdb, keys, hash, text, a.ttl, a.maxEntries, a.maxBytes, a.c.key(apqStore, "doc:")).Err()
	if err != nil {
		return a.c.failed(ctx, apqStore, err)
	}
	return nil
}

// registerAPQ registers ARGV[2] under hash ARGV[1]. The index (KEYS[1], a
// sorted set of hashes by registration time), the sizes (KEYS[2], a hash
// of hash to length) and the total (KEYS[3]) account for the documents
// (under ARGV[6]..hash, expiring ARGV[3] seconds after registration):
// expired ones are forgotten first, then the oldest dropped while there
// are more than ARGV[4] documents or ARGV[5] bytes.
var registerAPQ = redis.NewScript(`
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local hash, text, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local maxEntries, maxBytes, prefix = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local function drop(h)
  local size = tonumber(redis.call('HGET', KEYS[2], h) or '0')
  redis.call('HDEL', KEYS[2], h)
  redis.call('ZREM', KEYS[1], h)
  redis.call('DEL', prefix .. h)
  redis.call('DECRBY', KEYS[3], size)
end
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - ttl)) do drop(h) end
if redis.call('ZSCORE', KEYS[1], hash) then drop(hash) end
redis.call('SET', prefix .. hash, text, 'PX', math.floor(ttl * 1000))
redis.call('ZADD', KEYS[1], now, hash)
redis.call('HSET', KEYS[2], hash, #text)
redis.call('INCRBY', KEYS[3], #text)
while redis.call('ZCARD', KEYS[1]) > maxEntries or tonumber(redis.call('GET', KEYS[3]) or '0') > maxBytes do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not oldest then break end
  drop(oldest)
end
return redis.call('ZCARD', KEYS[1])
`)
