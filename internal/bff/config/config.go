// Package config is the configuration of the two BFFs: one typed struct
// with working defaults (Default, pinned by the golden files in testdata/:
// the one place a BFF default is written), read from an optional YAML file
// and overridden by environment variables.
package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/websafety"
	"github.com/acme/bff-gateway/internal/contract"
)

// Kind is which BFF a configuration is for.
type Kind string

// The two BFFs.
const (
	Web    Kind = "web"
	Mobile Kind = "mobile"
)

// Config is a BFF's whole configuration.
type Config struct {
	// Env is "development" (playground and introspection on) or
	// "production" (both off).
	Env string `yaml:"env"`
	// ListenAddr is the address to listen on.
	ListenAddr string `yaml:"listen_addr"`
	// AdminAddr is where the admin listener serves /metrics (and pprof in
	// development), apart from the public port.
	AdminAddr string `yaml:"admin_addr"`
	// Services are the base URLs of the services.
	Services Services `yaml:"services"`
	// Timeouts bound the work for one request.
	Timeouts Timeouts `yaml:"timeouts"`
	// Breaker configures the circuit breaker of each service.
	Breaker Breaker `yaml:"breaker"`
	// Upstream bounds the services' answers and retries the reads that
	// may be retried.
	Upstream Upstream `yaml:"upstream"`
	// ProductCache configures the shared cache of public product data.
	ProductCache Cache `yaml:"product_cache"`
	// Loader configures the per-request batching of upstream reads.
	Loader Loader `yaml:"loader"`
	// Auth configures token verification and web sessions.
	Auth Auth `yaml:"auth"`
	// APIKeys are the keys a mobile request must carry in X-API-Key,
	// kept as SHA-256 hashes. Unused by the web BFF.
	APIKeys []apikey.Key `yaml:"api_keys"`
	// Limits bound what one GraphQL request may ask for.
	Limits Limits `yaml:"limits"`
	// PersistedQueries configures automatic persisted queries and
	// trusted documents.
	PersistedQueries PersistedQueries `yaml:"persisted_queries"`
	// RateLimit configures per-principal rate limiting.
	RateLimit RateLimit `yaml:"rate_limit"`
	// HTTP configures what concerns the HTTP edge.
	HTTP HTTP `yaml:"http"`
	// Redis, when its URL is set, holds the state replicas share.
	Redis Redis `yaml:"redis"`
	// Shutdown configures how a stopping BFF drains.
	Shutdown Shutdown `yaml:"shutdown"`
	// Memory tunes the Go garbage collector.
	Memory Memory `yaml:"memory"`
}

// Memory tunes the Go garbage collector. The environment variables GOGC
// and GOMEMLIMIT, when set, win over these (the Go runtime reads them).
type Memory struct {
	// GCPercent is how far the heap may grow over what was live after a
	// collection before the next one starts (GOGC). Above Go's 100, a BFF
	// (whose live heap is small: a few megabytes plus the requests in
	// flight) collects less often and spends less CPU on it; LimitBytes
	// keeps the memory bounded.
	GCPercent int `yaml:"gc_percent"`
	// LimitBytes is a soft limit on the memory the Go runtime holds
	// (heap, stacks, its own; not the program's code): approaching it, the
	// collector runs sooner, whatever GCPercent says (GOMEMLIMIT). 0: none.
	// Keep it under the container's memory limit minus about 25 MiB for
	// the program itself.
	LimitBytes int64 `yaml:"limit_bytes"`
}

// Redis configures the shared stores. Without a URL every store is the
// replica's own, in memory.
type Redis struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// (TLS).
	// It holds a password: set it from a secret (REDIS_URL), never log it.
	URL string `yaml:"url"`
	// Timeout bounds every call to Redis (dial, read, write).
	Timeout time.Duration `yaml:"timeout"`
	// RateLimitFailure is what the rate limits do while Redis fails:
	// "open" lets requests through (counted and logged), "closed"
	// refuses them.
	RateLimitFailure string `yaml:"rate_limit_failure"`
	// APQTTL is how long a document registered by APQ stays in Redis
	// after its last registration.
	APQTTL time.Duration `yaml:"apq_ttl"`
}

// Shared reports whether the stores are shared through Redis.
func (r Redis) Shared() bool { return r.URL != "" }

// Shutdown configures the drain of a stopping BFF: told to stop, it
// answers /readyz with 503 at once, keeps serving for DrainDelay (so that
// the load balancer's health checks take it out of rotation), then stops
// accepting and gives requests in flight up to Timeout to finish.
type Shutdown struct {
	DrainDelay time.Duration `yaml:"drain_delay"`
	Timeout    time.Duration `yaml:"timeout"`
}

// Upstream shapes the calls to the services beyond their timeouts.
type Upstream struct {
	// MaxAnswerBytes bounds the body of a service's answer: a larger one
	// is refused while it is read.
	MaxAnswerBytes int64 `yaml:"max_answer_bytes"`
	// RetryAttempts is how many times an idempotent call is tried in all
	// (1: never retried).
	RetryAttempts int `yaml:"retry_attempts"`
	// RetryBackoff is the first wait before a retry, doubled for each
	// further one up to RetryMaxBackoff, with full jitter.
	RetryBackoff    time.Duration `yaml:"retry_backoff"`
	RetryMaxBackoff time.Duration `yaml:"retry_max_backoff"`
	// RetryBudgetRatio is the share of a service's recent requests that
	// may be retries, and RetryMinPerSecond the retries a second allowed
	// whatever the traffic: beyond the budget, a call that failed is not
	// retried.
	RetryBudgetRatio  float64 `yaml:"retry_budget_ratio"`
	RetryMinPerSecond float64 `yaml:"retry_min_per_second"`
}

// InFlightPerCPU is the requests in flight allowed per CPU when
// limits.max_in_flight is 0: twice the concurrency that saturates a BFF on
// the measured machine (BenchmarkOverload, docs/benchmarks.md), so that
// the requests admitted under overload keep their latency.
const InFlightPerCPU = 4

// InFlight returns the requests in flight allowed: limits.max_in_flight,
// or InFlightPerCPU per CPU the process may use when it is 0.
func (l Limits) InFlight() int {
	if l.MaxInFlight > 0 {
		return l.MaxInFlight
	}
	return InFlightPerCPU * runtime.GOMAXPROCS(0)
}

// Limits bound one GraphQL request; anything over them is refused before
// it is validated or any upstream request is made.
type Limits struct {
	// MaxInFlight bounds the GraphQL requests a BFF serves at once: one
	// more is refused at once (503 OVERLOADED), before it is read. 0
	// means InFlightPerCPU for each CPU the process may use.
	MaxInFlight   int   `yaml:"max_in_flight"`
	MaxBodyBytes  int64 `yaml:"max_body_bytes"`
	MaxTokens     int   `yaml:"max_tokens"`
	MaxDepth      int   `yaml:"max_depth"`
	MaxAliases    int   `yaml:"max_aliases"`
	MaxRootFields int   `yaml:"max_root_fields"`
	MaxDirectives int   `yaml:"max_directives"`
	MaxComplexity int   `yaml:"max_complexity"`
	// MaxFragmentSpreads caps the fragment spreads of the whole document
	// and MaxRepeatedFields the response names repeated in a selection:
	// both bound the quadratic part of gqlparser's validation.
	MaxFragmentSpreads int `yaml:"max_fragment_spreads"`
	MaxRepeatedFields  int `yaml:"max_repeated_fields"`
	// Batching allows JSON arrays of operations (off by default).
	Batching bool `yaml:"batching"`
	// MaxBatch caps the operations of one batch when batching is on.
	MaxBatch int `yaml:"max_batch"`
}

// PersistedQueries configures persisted documents.
type PersistedQueries struct {
	// APQ turns on Apollo's automatic persisted queries.
	APQ bool `yaml:"apq"`
	// APQMaxEntries and APQMaxBytes bound the APQ store: its documents,
	// and the bytes of their text.
	APQMaxEntries int `yaml:"apq_max_entries"`
	APQMaxBytes   int `yaml:"apq_max_bytes"`
	// TrustedDocuments is "off", "production" (only in production mode)
	// or "always": then only the client's own documents (embedded from
	// operations/) run, by hash or by identical text.
	TrustedDocuments string `yaml:"trusted_documents"`
}

// RateLimit configures rate limiting. Operations cost their complexity.
type RateLimit struct {
	Enabled bool `yaml:"enabled"`
	// CostPerSecond refills each principal's bucket.
	CostPerSecond float64 `yaml:"cost_per_second"`
	// Burst is each principal's bucket size; it must hold the most
	// complex operation allowed.
	Burst int `yaml:"burst"`
	// RequestsPerSecondPerAddress and RequestBurstPerAddress limit the
	// requests of one address before anything else is done with them, so
	// that even documents the guard refuses (parsing one can cost a few
	// milliseconds) cannot be sent without limit.
	RequestsPerSecondPerAddress float64 `yaml:"requests_per_second_per_address"`
	RequestBurstPerAddress      int     `yaml:"request_burst_per_address"`
	// LoginPerIPPerMinute and LoginPerAccountPerMinute limit sign-ins.
	LoginPerIPPerMinute      int `yaml:"login_per_ip_per_minute"`
	LoginPerAccountPerMinute int `yaml:"login_per_account_per_minute"`
	// MaxKeys bounds the in-memory store.
	MaxKeys int `yaml:"max_keys"`
}

// HTTP configures the HTTP edge.
type HTTP struct {
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// CORSOrigins may call the BFF from a browser with credentials (web).
	CORSOrigins []string `yaml:"cors_origins"`
}

// TrustedOnly reports whether only the client's own documents may run.
func (c Config) TrustedOnly() bool {
	return c.PersistedQueries.TrustedDocuments == "always" ||
		(c.PersistedQueries.TrustedDocuments == "production" && c.Production())
}

// Services are the services' base URLs.
type Services struct {
	UserURL    string `yaml:"user_url"`
	OrderURL   string `yaml:"order_url"`
	ProductURL string `yaml:"product_url"`
}

// Timeouts bound one GraphQL request.
type Timeouts struct {
	// Request is the overall deadline of a GraphQL request.
	Request time.Duration `yaml:"request"`
	// Call is the deadline of one upstream call.
	Call time.Duration `yaml:"call"`
}

// Breaker configures the circuit breakers.
type Breaker struct {
	ConsecutiveFailures uint32        `yaml:"consecutive_failures"`
	OpenTimeout         time.Duration `yaml:"open_timeout"`
	HalfOpenRequests    uint32        `yaml:"half_open_requests"`
	Interval            time.Duration `yaml:"interval"`
}

// Cache configures the product cache.
type Cache struct {
	MaxEntries int           `yaml:"max_entries"`
	TTL        time.Duration `yaml:"ttl"`
	// MaxStale is how long past TTL a product may still be served when
	// the product service fails; 0 turns stale serving off.
	MaxStale time.Duration `yaml:"max_stale"`
	// FetchTimeout bounds a fetch shared by concurrent requests, which
	// runs on when the request that started it gives up.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
}

// Loader configures dataloader batching.
type Loader struct {
	// Wait is how long a loader collects keys before it calls upstream.
	Wait time.Duration `yaml:"wait"`
	// MaxBatch is the largest batch sent upstream (at most
	// contract.MaxBatchIDs, what the services take).
	MaxBatch int `yaml:"max_batch"`
}

// Auth configures authentication.
type Auth struct {
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	// JWKSRefresh is how often the user service's keys are refetched.
	JWKSRefresh time.Duration `yaml:"jwks_refresh"`
	// JWKSMinRefreshGap is the least time between two refetches caused
	// by tokens naming an unknown key, so a flood of random kids costs
	// at most one fetch per gap.
	JWKSMinRefreshGap time.Duration `yaml:"jwks_min_refresh_gap"`
	// SessionCookie is the web session cookie's name.
	SessionCookie string `yaml:"session_cookie"`
	// SecureCookie is "auto" (Secure when the request came over TLS),
	// "always" (behind a proxy that terminates TLS) or "never".
	SecureCookie string `yaml:"secure_cookie"`
	// MaxSessions bounds the in-memory session store.
	MaxSessions int `yaml:"max_sessions"`
	// SessionKeys seal the web sessions kept in Redis (AES-256-GCM):
	// "id:base64-of-32-bytes", newest first. New sessions are sealed with
	// the first; every key still opens the sessions it sealed, so a key is
	// rotated by putting a new one first and dropping the old one once its
	// sessions have expired. Secrets: set them from SESSION_KEYS
	// (comma-separated). Needed by the web BFF when Redis is on.
	SessionKeys []string `yaml:"session_keys"`
}

// MinMemoryLimit is the least memory.limit_bytes: below it a BFF would
// collect garbage all the time.
const MinMemoryLimit = 16 << 20

// Default returns the working defaults of a BFF.
func Default(kind Kind) Config {
	c := Config{
		Env:        "development",
		ListenAddr: addrs.BFFWeb,
		AdminAddr:  addrs.BFFWebAdmin,
		Services: Services{
			UserURL:    addrs.UserURL,
			OrderURL:   addrs.OrderURL,
			ProductURL: addrs.ProductURL,
		},
		Timeouts: Timeouts{Request: 10 * time.Second, Call: 2 * time.Second},
		Breaker: Breaker{
			ConsecutiveFailures: 5,
			OpenTimeout:         10 * time.Second,
			HalfOpenRequests:    1,
			Interval:            30 * time.Second,
		},
		ProductCache: Cache{MaxEntries: 10000, TTL: 30 * time.Second, MaxStale: 10 * time.Minute, FetchTimeout: 5 * time.Second},
		Loader:       Loader{Wait: 500 * time.Microsecond, MaxBatch: contract.MaxBatchIDs},
		Auth: Auth{
			Issuer:            auth.DefaultIssuer,
			Audience:          auth.DefaultAudience,
			JWKSRefresh:       auth.DefaultJWKSRefresh,
			JWKSMinRefreshGap: auth.DefaultJWKSMinRefreshGap,
			SessionCookie:     "bff_session",
			SecureCookie:      "auto",
			MaxSessions:       100000,
		},
	}
	c.Upstream = Upstream{
		MaxAnswerBytes: 4 << 20, RetryAttempts: 3,
		RetryBackoff: 25 * time.Millisecond, RetryMaxBackoff: 250 * time.Millisecond,
		RetryBudgetRatio: 0.2, RetryMinPerSecond: 10,
	}
	c.Limits = Limits{
		MaxBodyBytes: 1 << 20, MaxTokens: 15000, MaxDepth: 12, MaxAliases: 30,
		MaxRootFields: 20, MaxDirectives: 50, MaxComplexity: 5000,
		MaxFragmentSpreads: 100, MaxRepeatedFields: 100, MaxBatch: 10,
	}
	c.Redis = Redis{Timeout: 250 * time.Millisecond, RateLimitFailure: "open", APQTTL: 24 * time.Hour}
	c.Shutdown = Shutdown{DrainDelay: 5 * time.Second, Timeout: 10 * time.Second}
	c.Memory = Memory{GCPercent: 400, LimitBytes: 40 << 20}
	c.PersistedQueries = PersistedQueries{APQ: true, APQMaxEntries: 1000, APQMaxBytes: 8 << 20, TrustedDocuments: "off"}
	c.RateLimit = RateLimit{
		Enabled: true, CostPerSecond: 500, Burst: 10000,
		RequestsPerSecondPerAddress: 100, RequestBurstPerAddress: 500,
		LoginPerIPPerMinute: 10, LoginPerAccountPerMinute: 5, MaxKeys: 100000,
	}
	if kind == Mobile {
		c.ListenAddr = addrs.BFFMobile
		c.AdminAddr = addrs.BFFMobileAdmin
		c.APIKeys = apikey.DevKeys()
		c.PersistedQueries.TrustedDocuments = "production"
	}
	return c
}

// Load returns the defaults of kind, overridden by the YAML file at path
// (when path is not empty) and then by the environment: ENV, LISTEN_ADDR,
// ADMIN_ADDR, USER_SERVICE_URL, ORDER_SERVICE_URL, PRODUCT_SERVICE_URL,
// REDIS_URL, SESSION_KEYS (comma-separated) and DRAIN_DELAY. Every problem
// is reported at once.
func Load(kind Kind, path string, getenv func(string) string) (Config, error) {
	c := Default(kind)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("parse config %s: %w", path, err)
		}
	}
	for env, field := range map[string]*string{
		"ENV":                 &c.Env,
		"LISTEN_ADDR":         &c.ListenAddr,
		"ADMIN_ADDR":          &c.AdminAddr,
		"USER_SERVICE_URL":    &c.Services.UserURL,
		"ORDER_SERVICE_URL":   &c.Services.OrderURL,
		"PRODUCT_SERVICE_URL": &c.Services.ProductURL,
		"REDIS_URL":           &c.Redis.URL,
	} {
		if v := getenv(env); v != "" {
			*field = v
		}
	}
	if v := getenv("SESSION_KEYS"); v != "" {
		c.Auth.SessionKeys = strings.Split(v, ",")
	}
	if v := getenv("DRAIN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("DRAIN_DELAY %q: want a duration such as 5s", v)
		}
		c.Shutdown.DrainDelay = d
	}
	return c, c.Validate(kind)
}

// Production reports whether the BFF runs in production mode.
func (c Config) Production() bool { return c.Env == "production" }

// Validate reports every problem with c at once, each naming its key.
func (c Config) Validate(kind Kind) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	positive := func(key string, v float64) {
		if !(v > 0) {
			add("%s must be positive, not %v", key, v)
		}
	}
	notNegative := func(key string, v int) {
		if v < 0 {
			add("%s must not be negative, not %d", key, v)
		}
	}
	if c.Env != "development" && c.Env != "production" {
		add("env must be development or production, not %q", c.Env)
	}
	if c.ListenAddr == "" {
		add("listen_addr must be set")
	}
	// Port 0 is a new free port each time: two of them never collide.
	if c.AdminAddr == "" || (c.AdminAddr == c.ListenAddr && !strings.HasSuffix(c.ListenAddr, ":0")) {
		add("admin_addr must be set, and not to listen_addr: /metrics stays off the public port")
	}
	for _, u := range []struct{ key, raw string }{
		{"services.user_url", c.Services.UserURL},
		{"services.order_url", c.Services.OrderURL},
		{"services.product_url", c.Services.ProductURL},
	} {
		if parsed, err := url.Parse(u.raw); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			add("%s must be an http(s) URL, not %q", u.key, u.raw)
		}
	}
	positive("timeouts.request", float64(c.Timeouts.Request))
	positive("timeouts.call", float64(c.Timeouts.Call))
	if c.Timeouts.Call > c.Timeouts.Request {
		add("timeouts.call (%s) must not be longer than timeouts.request (%s)", c.Timeouts.Call, c.Timeouts.Request)
	}
	positive("breaker.consecutive_failures", float64(c.Breaker.ConsecutiveFailures))
	positive("breaker.open_timeout", float64(c.Breaker.OpenTimeout))
	positive("breaker.half_open_requests", float64(c.Breaker.HalfOpenRequests))
	positive("breaker.interval", float64(c.Breaker.Interval))
	positive("product_cache.max_entries", float64(c.ProductCache.MaxEntries))
	positive("product_cache.ttl", float64(c.ProductCache.TTL))
	if c.ProductCache.MaxStale < 0 {
		add("product_cache.max_stale must not be negative, not %s", c.ProductCache.MaxStale)
	}
	positive("product_cache.fetch_timeout", float64(c.ProductCache.FetchTimeout))
	if c.Loader.Wait < 0 {
		add("loader.wait must not be negative, not %s", c.Loader.Wait)
	}
	if c.Loader.MaxBatch < 1 || c.Loader.MaxBatch > contract.MaxBatchIDs {
		add("loader.max_batch must be from 1 to %d, not %d", contract.MaxBatchIDs, c.Loader.MaxBatch)
	}
	for _, v := range []struct{ key, value string }{
		{"auth.issuer", c.Auth.Issuer}, {"auth.audience", c.Auth.Audience}, {"auth.session_cookie", c.Auth.SessionCookie},
	} {
		if v.value == "" {
			add("%s must be set", v.key)
		}
	}
	positive("auth.jwks_refresh", float64(c.Auth.JWKSRefresh))
	positive("auth.jwks_min_refresh_gap", float64(c.Auth.JWKSMinRefreshGap))
	positive("auth.max_sessions", float64(c.Auth.MaxSessions))
	switch c.Auth.SecureCookie {
	case "auto", "always", "never":
	default:
		add("auth.secure_cookie must be auto, always or never, not %q", c.Auth.SecureCookie)
	}
	u := c.Upstream
	if u.MaxAnswerBytes < 1<<10 || u.MaxAnswerBytes > 64<<20 {
		add("upstream.max_answer_bytes must be from 1 KiB to 64 MiB, not %d", u.MaxAnswerBytes)
	}
	if u.RetryAttempts < 1 || u.RetryAttempts > 5 {
		add("upstream.retry_attempts must be from 1 (no retry) to 5, not %d", u.RetryAttempts)
	}
	positive("upstream.retry_backoff", float64(u.RetryBackoff))
	if u.RetryMaxBackoff < u.RetryBackoff {
		add("upstream.retry_max_backoff (%s) must be at least upstream.retry_backoff (%s)", u.RetryMaxBackoff, u.RetryBackoff)
	}
	if u.RetryBudgetRatio < 0 || u.RetryBudgetRatio > 1 || u.RetryBudgetRatio != u.RetryBudgetRatio {
		add("upstream.retry_budget_ratio must be from 0 to 1, not %g", u.RetryBudgetRatio)
	}
	if u.RetryMinPerSecond < 0 || u.RetryMinPerSecond != u.RetryMinPerSecond {
		add("upstream.retry_min_per_second must not be negative, not %g", u.RetryMinPerSecond)
	}
	l := c.Limits
	notNegative("limits.max_in_flight", l.MaxInFlight)
	if c.Memory.GCPercent < 1 {
		add("memory.gc_percent must be at least 1, not %d (GOGC=off turns the collector off)", c.Memory.GCPercent)
	}
	if c.Memory.LimitBytes != 0 && c.Memory.LimitBytes < MinMemoryLimit {
		add("memory.limit_bytes must be 0 (none) or at least %d (16 MiB), not %d", MinMemoryLimit, c.Memory.LimitBytes)
	}
	positive("limits.max_body_bytes", float64(l.MaxBodyBytes))
	positive("limits.max_tokens", float64(l.MaxTokens))
	positive("limits.max_depth", float64(l.MaxDepth))
	notNegative("limits.max_aliases", l.MaxAliases)
	positive("limits.max_root_fields", float64(l.MaxRootFields))
	notNegative("limits.max_directives", l.MaxDirectives)
	positive("limits.max_complexity", float64(l.MaxComplexity))
	notNegative("limits.max_fragment_spreads", l.MaxFragmentSpreads)
	notNegative("limits.max_repeated_fields", l.MaxRepeatedFields)
	positive("limits.max_batch", float64(l.MaxBatch))
	switch c.PersistedQueries.TrustedDocuments {
	case "off", "production", "always":
	default:
		add("persisted_queries.trusted_documents must be off, production or always, not %q", c.PersistedQueries.TrustedDocuments)
	}
	positive("persisted_queries.apq_max_entries", float64(c.PersistedQueries.APQMaxEntries))
	positive("persisted_queries.apq_max_bytes", float64(c.PersistedQueries.APQMaxBytes))
	if rl := c.RateLimit; rl.Enabled {
		positive("rate_limit.cost_per_second", rl.CostPerSecond)
		positive("rate_limit.requests_per_second_per_address", rl.RequestsPerSecondPerAddress)
		positive("rate_limit.request_burst_per_address", float64(rl.RequestBurstPerAddress))
		positive("rate_limit.login_per_ip_per_minute", float64(rl.LoginPerIPPerMinute))
		positive("rate_limit.login_per_account_per_minute", float64(rl.LoginPerAccountPerMinute))
		if rl.Burst < l.MaxComplexity {
			add("rate_limit.burst (%d) must be at least limits.max_complexity (%d), or the most complex operation allowed could never run", rl.Burst, l.MaxComplexity)
		}
	}
	positive("rate_limit.max_keys", float64(c.RateLimit.MaxKeys))
	for _, p := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			add("http.trusted_proxies: %q is not a CIDR prefix", p)
		}
	}
	if err := websafety.ValidateOrigins(c.HTTP.CORSOrigins); err != nil {
		add("http.cors_origins: %w", err)
	}
	if c.Redis.Shared() {
		// The URL holds a password: the message never repeats it.
		if _, err := redis.ParseURL(c.Redis.URL); err != nil {
			add("redis.url must be a redis:// or rediss:// URL (its text is not repeated here: it may hold a password)")
		}
		if kind == Web && len(c.Auth.SessionKeys) == 0 {
			add("auth.session_keys: the web BFF needs at least one key to seal the sessions it keeps in Redis (SESSION_KEYS)")
		}
	}
	positive("redis.timeout", float64(c.Redis.Timeout))
	switch c.Redis.RateLimitFailure {
	case "open", "closed":
	default:
		add("redis.rate_limit_failure must be open or closed, not %q", c.Redis.RateLimitFailure)
	}
	positive("redis.apq_ttl", float64(c.Redis.APQTTL))
	if _, err := ParseSessionKeys(c.Auth.SessionKeys); err != nil {
		add("auth.session_keys: %w", err)
	}
	if c.Shutdown.DrainDelay < 0 {
		add("shutdown.drain_delay must not be negative, not %s", c.Shutdown.DrainDelay)
	}
	positive("shutdown.timeout", float64(c.Shutdown.Timeout))
	if kind == Mobile {
		if len(c.APIKeys) == 0 {
			add("api_keys: the mobile BFF needs at least one key")
		} else if _, err := apikey.NewSet(c.APIKeys); err != nil {
			add("api_keys: %w", err)
		}
		if c.Production() {
			for _, k := range c.APIKeys {
				if strings.EqualFold(k.SHA256, apikey.Hash(apikey.DevKey)) {
					add("api_keys: %q is the published development key; production needs keys of its own", k.Name)
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid %s BFF configuration: %w", kind, errors.Join(errs...))
	}
	return nil
}

// SessionKey is one key that seals web sessions.
type SessionKey struct {
	// ID names the key in what it seals, so the right key opens it.
	ID string
	// Secret is the 32-byte AES-256 key.
	Secret []byte
}

// SessionKeyBytes is the length of a session key's secret.
const SessionKeyBytes = 32

// ParseSessionKeys parses auth.session_keys: "id:base64", newest first,
// each id unique (letters, digits, '-' and '_', at most 16) and each secret
// SessionKeyBytes long. A problem names the key's position and id, never
// its secret.
func ParseSessionKeys(raw []string) ([]SessionKey, error) {
	keys := make([]SessionKey, 0, len(raw))
	seen := map[string]bool{}
	var errs []error
	for i, r := range raw {
		id, secret, ok := strings.Cut(strings.TrimSpace(r), ":")
		switch {
		case !ok || !validKeyID(id):
			errs = append(errs, fmt.Errorf("key %d: want id:base64, with an id of 1 to 16 letters, digits, - or _", i+1))
			continue
		case seen[id]:
			errs = append(errs, fmt.Errorf("key %d: id %q is used twice", i+1, id))
			continue
		}
		b, err := base64.StdEncoding.DecodeString(secret)
		if err != nil || len(b) != SessionKeyBytes {
			errs = append(errs, fmt.Errorf("key %d (%s): want %d bytes in standard base64 (openssl rand -base64 %d)", i+1, id, SessionKeyBytes, SessionKeyBytes))
			continue
		}
		seen[id] = true
		keys = append(keys, SessionKey{ID: id, Secret: b})
	}
	return keys, errors.Join(errs...)
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	return strings.IndexFunc(id, func(c rune) bool {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		return !letter && (c < '0' || c > '9') && c != '-' && c != '_'
	}) < 0
}
