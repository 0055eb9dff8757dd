package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestDefaultsArePinned keeps the defaults of both BFFs in golden files, so
// that any change to a default shows up in review.
func TestDefaultsArePinned(t *testing.T) {
	for _, kind := range []Kind{Web, Mobile} {
		t.Run(string(kind), func(t *testing.T) {
			got, err := yaml.Marshal(Default(kind))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "defaults-"+string(kind)+".yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("defaults changed:\n%s\nwant:\n%s", got, want)
			}
			if err := Default(kind).Validate(kind); err != nil {
				t.Errorf("the defaults do not validate: %v", err)
			}
		})
	}
}

func TestLoadAppliesFileThenEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bff.yaml")
	yml := "listen_addr: 127.0.0.1:9999\ntimeouts:\n  request: 3s\n  call: 1s\nproduct_cache:\n  ttl: 5s\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LISTEN_ADDR": "127.0.0.1:7777", "ORDER_SERVICE_URL": "http://127.0.0.2:1234", "ENV": "production"}
	cfg, err := Load(Web, path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != "127.0.0.1:7777" || cfg.Services.OrderURL != "http://127.0.0.2:1234" || !cfg.Production() {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if cfg.Timeouts.Request.String() != "3s" || cfg.ProductCache.TTL.String() != "5s" {
		t.Errorf("file not applied: %+v", cfg)
	}
	if cfg.ProductCache.MaxEntries != Default(Web).ProductCache.MaxEntries {
		t.Errorf("a setting the file leaves out must keep its default")
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	yml := "env: staging\ntimeouts:\n  request: 1s\n  call: 2s\nloader:\n  max_batch: 500\napi_keys:\n  - name: x\n    sha256: nothex\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Mobile, path, func(string) string { return "" })
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"env must be", "timeouts", "loader", "api_keys"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	unknown := filepath.Join(t.TempDir(), "unknown.yaml")
	_ = os.WriteFile(unknown, []byte("listen_adr: typo\n"), 0o600)
	if _, err := Load(Web, unknown, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "listen_adr") {
		t.Errorf("an unknown key must be refused by name: %v", err)
	}
}

// TestValidateNamesTheBadKey breaks one setting at a time and checks that
// the error names its key (as it is written in the YAML file), and that
// every problem is reported at once.
func TestValidateNamesTheBadKey(t *testing.T) {
	tests := []struct {
		key     string
		breakIt func(*Config)
	}{
		{"env", func(c *Config) { c.Env = "staging" }},
		{"listen_addr", func(c *Config) { c.ListenAddr = "" }},
		{"admin_addr", func(c *Config) { c.AdminAddr = "" }},
		{"admin_addr", func(c *Config) { c.AdminAddr = c.ListenAddr }},
		{"services.user_url", func(c *Config) { c.Services.UserURL = "ftp://x" }},
		{"services.order_url", func(c *Config) { c.Services.OrderURL = "" }},
		{"services.product_url", func(c *Config) { c.Services.ProductURL = "http://" }},
		{"timeouts.request", func(c *Config) { c.Timeouts.Request = 0 }},
		{"timeouts.call", func(c *Config) { c.Timeouts.Call = -1 }},
		{"timeouts.call", func(c *Config) { c.Timeouts.Call = c.Timeouts.Request + 1 }},
		{"breaker.consecutive_failures", func(c *Config) { c.Breaker.ConsecutiveFailures = 0 }},
		{"breaker.open_timeout", func(c *Config) { c.Breaker.OpenTimeout = 0 }},
		{"breaker.half_open_requests", func(c *Config) { c.Breaker.HalfOpenRequests = 0 }},
		{"breaker.interval", func(c *Config) { c.Breaker.Interval = 0 }},
		{"product_cache.max_entries", func(c *Config) { c.ProductCache.MaxEntries = 0 }},
		{"product_cache.ttl", func(c *Config) { c.ProductCache.TTL = 0 }},
		{"product_cache.max_stale", func(c *Config) { c.ProductCache.MaxStale = -1 }},
		{"product_cache.fetch_timeout", func(c *Config) { c.ProductCache.FetchTimeout = 0 }},
		{"loader.wait", func(c *Config) { c.Loader.Wait = -1 }},
		{"memory.gc_percent", func(c *Config) { c.Memory.GCPercent = 0 }},
		{"memory.limit_bytes", func(c *Config) { c.Memory.LimitBytes = 1 << 20 }},
		{"memory.limit_bytes", func(c *Config) { c.Memory.LimitBytes = -1 }},
		{"loader.max_batch", func(c *Config) { c.Loader.MaxBatch = 101 }},
		{"loader.max_batch", func(c *Config) { c.Loader.MaxBatch = 0 }},
		{"auth.issuer", func(c *Config) { c.Auth.Issuer = "" }},
		{"auth.audience", func(c *Config) { c.Auth.Audience = "" }},
		{"auth.session_cookie", func(c *Config) { c.Auth.SessionCookie = "" }},
		{"auth.jwks_refresh", func(c *Config) { c.Auth.JWKSRefresh = 0 }},
		{"auth.jwks_min_refresh_gap", func(c *Config) { c.Auth.JWKSMinRefreshGap = 0 }},
		{"auth.max_sessions", func(c *Config) { c.Auth.MaxSessions = 0 }},
		{"auth.secure_cookie", func(c *Config) { c.Auth.SecureCookie = "sometimes" }},
		{"limits.max_body_bytes", func(c *Config) { c.Limits.MaxBodyBytes = 0 }},
		{"limits.max_tokens", func(c *Config) { c.Limits.MaxTokens = 0 }},
		{"limits.max_depth", func(c *Config) { c.Limits.MaxDepth = 0 }},
		{"limits.max_aliases", func(c *Config) { c.Limits.MaxAliases = -1 }},
		{"limits.max_root_fields", func(c *Config) { c.Limits.MaxRootFields = 0 }},
		{"limits.max_directives", func(c *Config) { c.Limits.MaxDirectives = -1 }},
		{"limits.max_complexity", func(c *Config) { c.Limits.MaxComplexity = 0 }},
		{"limits.max_fragment_spreads", func(c *Config) { c.Limits.MaxFragmentSpreads = -1 }},
		{"limits.max_repeated_fields", func(c *Config) { c.Limits.MaxRepeatedFields = -1 }},
		{"limits.max_batch", func(c *Config) { c.Limits.MaxBatch = 0 }},
		{"persisted_queries.trusted_documents", func(c *Config) { c.PersistedQueries.TrustedDocuments = "on" }},
		{"persisted_queries.apq_max_entries", func(c *Config) { c.PersistedQueries.APQMaxEntries = 0 }},
		{"persisted_queries.apq_max_bytes", func(c *Config) { c.PersistedQueries.APQMaxBytes = 0 }},
		{"rate_limit.cost_per_second", func(c *Config) { c.RateLimit.CostPerSecond = 0 }},
		{"rate_limit.burst", func(c *Config) { c.RateLimit.Burst = c.Limits.MaxComplexity - 1 }},
		{"rate_limit.requests_per_second_per_address", func(c *Config) { c.RateLimit.RequestsPerSecondPerAddress = -1 }},
		{"rate_limit.request_burst_per_address", func(c *Config) { c.RateLimit.RequestBurstPerAddress = 0 }},
		{"rate_limit.login_per_ip_per_minute", func(c *Config) { c.RateLimit.LoginPerIPPerMinute = 0 }},
		{"rate_limit.login_per_account_per_minute", func(c *Config) { c.RateLimit.LoginPerAccountPerMinute = 0 }},
		{"rate_limit.max_keys", func(c *Config) { c.RateLimit.MaxKeys = 0 }},
		{"http.trusted_proxies", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.300/8"} }},
		{"http.cors_origins", func(c *Config) { c.HTTP.CORSOrigins = []string{"https://*.example.com"} }},
		{"api_keys", func(c *Config) { c.APIKeys = nil }},
		{"redis.url", func(c *Config) { c.Redis.URL = "http://cache:6379" }},
		{"redis.timeout", func(c *Config) { c.Redis.Timeout = 0 }},
		{"redis.rate_limit_failure", func(c *Config) { c.Redis.RateLimitFailure = "maybe" }},
		{"redis.apq_ttl", func(c *Config) { c.Redis.APQTTL = 0 }},
		{"auth.session_keys", func(c *Config) { c.Auth.SessionKeys = []string{"k1:short"} }},
		{"shutdown.drain_delay", func(c *Config) { c.Shutdown.DrainDelay = -1 }},
		{"shutdown.timeout", func(c *Config) { c.Shutdown.Timeout = 0 }},
	}
	for _, tt := range tests {
		c := Default(Mobile)
		tt.breakIt(&c)
		err := c.Validate(Mobile)
		if err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("breaking %s: error %v does not name it", tt.key, err)
		}
	}

	// Several at once are all reported.
	c := Default(Web)
	c.Limits.MaxDepth, c.Auth.MaxSessions, c.Loader.MaxBatch = 0, 0, 0
	err := c.Validate(Web)
	for _, key := range []string{"limits.max_depth", "auth.max_sessions", "loader.max_batch"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}

	// Rate limiting off: its rates are not checked.
	c = Default(Web)
	c.RateLimit.Enabled, c.RateLimit.CostPerSecond = false, 0
	if err := c.Validate(Web); err != nil {
		t.Errorf("rate limiting off with a zero rate: %v", err)
	}
}

// aKey is a valid session key: 32 bytes in base64.
const aKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func TestRedisAndSessionKeysFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"REDIS_URL":    "redis://:s3cret@127.0.0.1:6390/2",
		"SESSION_KEYS": "k2:" + aKey + ", k1:" + aKey,
		"DRAIN_DELAY":  "750ms",
	}
	cfg, err := Load(Web, "", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Redis.Shared() || cfg.Redis.URL != env["REDIS_URL"] || cfg.Shutdown.DrainDelay.String() != "750ms" {
		t.Errorf("environment not applied: %+v %+v", cfg.Redis, cfg.Shutdown)
	}
	keys, err := ParseSessionKeys(cfg.Auth.SessionKeys)
	if err != nil || len(keys) != 2 || keys[0].ID != "k2" || keys[1].ID != "k1" || len(keys[0].Secret) != SessionKeyBytes {
		t.Errorf("session keys %v, %v: want k2 then k1, 32 bytes each", keys, err)
	}

	// The web BFF keeps sessions in Redis: it needs a key.
	delete(env, "SESSION_KEYS")
	if _, err := Load(Web, "", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "auth.session_keys") {
		t.Errorf("Redis without session keys: %v", err)
	}
	// The mobile BFF has no sessions.
	if _, err := Load(Mobile, "", func(k string) string { return env[k] }); err != nil {
		t.Errorf("mobile with Redis and no session keys: %v", err)
	}
	// A bad duration is named.
	env["DRAIN_DELAY"] = "soon"
	if _, err := Load(Mobile, "", func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "DRAIN_DELAY") {
		t.Errorf("bad DRAIN_DELAY: %v", err)
	}
}

// TestSecretsAreNeverRepeated: a bad Redis URL or session key is refused
// without its password or secret in the message.
func TestSecretsAreNeverRepeated(t *testing.T) {
	c := Default(Web)
	c.Redis.URL = "memcache://admin:hunter2@cache:6379"
	c.Auth.SessionKeys = []string{"k1:hunter3", "k2:" + aKey, "k2:" + aKey, "bad id:" + aKey, "nocolon"}
	err := c.Validate(Web)
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, secret := range []string{"hunter2", "hunter3", aKey} {
		if strings.Contains(msg, secret) {
			t.Errorf("the error repeats a secret %q: %s", secret, msg)
		}
	}
	for _, want := range []string{"redis.url", "key 1 (k1)", "key 3: id \"k2\" is used twice", "key 4", "key 5"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %s", want, msg)
		}
	}
}

// TestProductionRefusesTheDevelopmentKey: the mobile BFF's default key is
// published in the README; production must bring its own.
func TestProductionRefusesTheDevelopmentKey(t *testing.T) {
	c := Default(Mobile)
	c.Env = "production"
	if err := c.Validate(Mobile); err == nil || !strings.Contains(err.Error(), "development key") {
		t.Errorf("production with the development key: %v", err)
	}
	c.APIKeys[0].SHA256 = strings.Repeat("ab", 32)
	if err := c.Validate(Mobile); err != nil {
		t.Errorf("production with a key of its own: %v", err)
	}
}
