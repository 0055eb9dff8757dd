package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// JWKSPath is where the user service publishes its public keys.
const JWKSPath = "/.well-known/jwks.json"

// The JWKS cache's defaults, for the services and the BFFs alike.
const (
	// DefaultJWKSRefresh is how old a fetched key set may get before it
	// is fetched again.
	DefaultJWKSRefresh = 5 * time.Minute
	// DefaultJWKSMinRefreshGap is the least time between two fetches
	// caused by tokens naming an unknown key.
	DefaultJWKSMinRefreshGap = 10 * time.Second
	// JWKSFetchTimeout bounds one fetch of the key set.
	JWKSFetchTimeout = 5 * time.Second
)

// maxJWKSBytes bounds a fetched key set.
const maxJWKSBytes = 256 << 10

// RemoteKeysConfig tunes a RemoteKeys cache.
type RemoteKeysConfig struct {
	// URL is the JWKS address.
	URL string
	// RefreshInterval is how old the cached set may get before a refetch.
	RefreshInterval time.Duration
	// MinRefreshGap is the least time between two refetches caused by an
	// unknown kid, so that a flood of random kids costs few fetches.
	MinRefreshGap time.Duration
	// HTTPClient fetches the set; nil means a client with the
	// JWKSFetchTimeout.
	HTTPClient *http.Client
}

// RemoteKeys is a KeySource backed by a remote JWKS, cached, refreshed
// periodically and on an unknown kid (rate limited). When a refresh fails,
// the keys already known keep working.
type RemoteKeys struct {
	cfg   RemoteKeysConfig
	group singleflight.Group

	mu          sync.RWMutex
	keys        map[string]jose.JSONWebKey
	fetchedAt   time.Time
	lastAttempt time.Time
	fetches     int
	failures    int
}

// NewRemoteKeys returns a JWKS cache; nothing is fetched until needed. Zero
// settings take the package's defaults.
func NewRemoteKeys(cfg RemoteKeysConfig) *RemoteKeys {
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultJWKSRefresh
	}
	if cfg.MinRefreshGap <= 0 {
		cfg.MinRefreshGap = DefaultJWKSMinRefreshGap
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: JWKSFetchTimeout}
	}
	return &RemoteKeys{cfg: cfg, keys: map[string]jose.JSONWebKey{}}
}

// Fetches returns how many times the set was fetched.
func (r *RemoteKeys) Fetches() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fetches
}

// Failures returns how many fetches failed (the keys known before are
// kept).
func (r *RemoteKeys) Failures() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.failures
}

// KeyIDs returns the ids of the keys fetched last, sorted.
func (r *RemoteKeys) KeyIDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.keys))
}

// VerificationKey returns the public key for kid, refreshing the set when
// it is stale or does not know kid.
func (r *RemoteKeys) VerificationKey(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	r.mu.RLock()
	key, known := r.keys[kid]
	stale := time.Since(r.fetchedAt) > r.cfg.RefreshInterval
	r.mu.RUnlock()

	// refresh shares one fetch among concurrent callers (who all wait for
	// it) and skips fetching within MinRefreshGap of the last attempt.
	if stale || !known {
		if err := r.refresh(ctx); err != nil && !known {
			return jose.JSONWebKey{}, err
		}
		r.mu.RLock()
		key, known = r.keys[kid]
		r.mu.RUnlock()
	}
	if !known {
		return jose.JSONWebKey{}, ErrUnknownKey
	}
	return key, nil
}

func (r *RemoteKeys) refresh(ctx context.Context) error {
	_, err, _ := r.group.Do("jwks", func() (any, error) {
		r.mu.Lock()
		if !r.lastAttempt.IsZero() && time.Since(r.lastAttempt) < r.cfg.MinRefreshGap {
			r.mu.Unlock()
			return nil, nil
		}
		r.lastAttempt = time.Now()
		r.fetches++
		r.mu.Unlock()

		keys, err := r.fetch(context.WithoutCancel(ctx))
		if err != nil {
			r.mu.Lock()
			r.failures++
			r.mu.Unlock()
			return nil, err
		}
		r.mu.Lock()
		r.keys = keys
		r.fetchedAt = time.Now()
		r.mu.Unlock()
		return nil, nil
	})
	return err
}

func (r *RemoteKeys) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.KeyID == "" || !k.IsPublic() || !k.Valid() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if k.Algorithm != "RS256" && k.Algorithm != "ES256" {
			continue
		}
		keys[k.KeyID] = k
	}
	return keys, nil
}
