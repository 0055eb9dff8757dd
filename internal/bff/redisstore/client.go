// Package redisstore keeps the state BFF replicas share in Redis: web
// sessions (sealed with AES-256-GCM), rate-limit buckets (exact across
// replicas: one atomic GCRA script per take, go-redis/redis_rate), the
// documents registered by automatic persisted queries (bounded in count,
// bytes and age by one atomic script) and the product cache's second
// level.
//
// Every key starts with the BFF's prefix and the layout's version
// ("bff-web:v1:") and then the store's name; no key holds a credential
// (a session id is hashed, rate-limit keys are hashed). Every call is
// bounded by the configured timeout and never retried: a store that
// fails reports it (Client.Observe) and leaves the caller to fall back,
// and go-redis reconnects by itself when Redis is back.
package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// KeyVersion is the version of the key layout, in every key: a change of
// what a key holds takes a new version, so that replicas of two releases
// never read each other's values.
const KeyVersion = "v1"

// Options configure a Client.
type Options struct {
	// URL is redis:// or rediss://, with password and database.
	URL string
	// Timeout bounds every call: dial, read, write, and the wait for a
	// pooled connection.
	Timeout time.Duration
	// Prefix starts every key: the BFF's name ("bff-web").
	Prefix string
	// Tracer traces every call (without its arguments); nil: none.
	Tracer trace.TracerProvider
}

// Client is a BFF's connection to Redis, shared by its stores.
type Client struct {
	rdb    *redis.Client
	prefix string

	onCommand func(cmd string, d time.Duration, err error)
	onFailure func(ctx context.Context, store string, err error)
}

// Open returns a client for opts.URL. It does not connect: a BFF starts
// while Redis is down, and its stores fall back until it is up.
func Open(opts Options) (*Client, error) {
	o, err := redis.ParseURL(opts.URL)
	if err != nil {
		// The URL may hold a password: the error does not repeat it.
		return nil, errors.New("redis: the URL is not a redis:// or rediss:// URL")
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = opts.Timeout, opts.Timeout, opts.Timeout, opts.Timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1 // a failed call falls back at once; the next one reconnects
	o.DialerRetries = 1
	quietLibrary.Do(func() {
		// go-redis logs every failed dial on its own; the stores report
		// their failures, counted and at most once a second.
		redis.SetLogger(voidLogger{})
	})
	o.DisableIdentity = true
	rdb := redis.NewClient(o)
	c := &Client{rdb: rdb, prefix: opts.Prefix + ":" + KeyVersion + ":"}
	rdb.AddHook(commandHook{c: c})
	if opts.Tracer != nil {
		if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(opts.Tracer), redisotel.WithDBStatement(false)); err != nil {
			_ = rdb.Close()
			return nil, fmt.Errorf("redis tracing: %w", err)
		}
	}
	return c, nil
}

// Observe has onCommand told of every round trip (a command, a script or
// a pipeline, by name) and onFailure of every store's failure. Call it
// before the stores are used.
func (c *Client) Observe(onCommand func(cmd string, d time.Duration, err error), onFailure func(ctx context.Context, store string, err error)) {
	c.onCommand, c.onFailure = onCommand, onFailure
}

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close closes the client's connections.
func (c *Client) Close() error { return c.rdb.Close() }

// PoolStats returns the connection pool's counts.
func (c *Client) PoolStats() *redis.PoolStats { return c.rdb.PoolStats() }

// key returns the key of name in store.
func (c *Client) key(store, name string) string { return c.prefix + store + ":" + name }

// failed reports a store's failure and returns it wrapped with the store's
// name.
func (c *Client) failed(ctx context.Context, store string, err error) error {
	if c.onFailure != nil {
		c.onFailure(ctx, store, err)
	}
	return fmt.Errorf("redis %s: %w", store, err)
}

// hashed returns the hex SHA-256 of s: the part of a key that names what
// should not be in a key (a session id, an address, an account).
func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var quietLibrary sync.Once

type voidLogger struct{}

func (voidLogger) Printf(context.Context, string, ...any) {}

// commandHook times every round trip for Client.Observe.
type commandHook struct{ c *Client }

func (h commandHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h commandHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.observe(cmd.Name(), start, err)
		return err
	}
}

func (h commandHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.observe("pipeline", start, err)
		return err
	}
}

func (h commandHook) observe(name string, start time.Time, err error) {
	if h.c.onCommand == nil {
		return
	}
	if errors.Is(err, redis.Nil) {
		err = nil // a key not there is an answer
	}
	h.c.onCommand(name, time.Since(start), err)
}
