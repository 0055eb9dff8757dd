package platform_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/internal/envconfig"
	"github.com/acme/bff-gateway/services/internal/platform"
)

// parseCommon binds and parses the common settings from env.
func parseCommon(env map[string]string) (platform.Common, error) {
	var c platform.Common
	set := envconfig.New("test", func(k string) string { return env[k] })
	c.Bind(set, "127.0.0.1:0", "127.0.0.1:0")
	err := set.Parse(nil)
	return c, errors.Join(err, c.Validate())
}

func TestJWKSRefreshSetting(t *testing.T) {
	c, err := parseCommon(nil)
	if err != nil || c.JWKSRefresh != auth.DefaultJWKSRefresh {
		t.Errorf("default JWKS_REFRESH %v (%v), want %v", c.JWKSRefresh, err, auth.DefaultJWKSRefresh)
	}
	if c, err = parseCommon(map[string]string{"JWKS_REFRESH": "2s"}); err != nil || c.JWKSRefresh != 2*time.Second {
		t.Errorf("JWKS_REFRESH=2s gave %v (%v)", c.JWKSRefresh, err)
	}
	for _, bad := range []string{"0s", "-1s", "soon"} {
		if _, err := parseCommon(map[string]string{"JWKS_REFRESH": bad}); err == nil || !strings.Contains(err.Error(), "JWKS_REFRESH") {
			t.Errorf("JWKS_REFRESH=%s: %v, want an error naming it", bad, err)
		}
	}
}

func TestVerifierRefetchesTheJWKSAfterJWKSRefresh(t *testing.T) {
	ks := newKeySet(t)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == auth.JWKSPath {
			fetches.Add(1)
		}
		_ = json.NewEncoder(w).Encode(ks.PublicJWKS())
	}))
	defer srv.Close()
	c, err := parseCommon(map[string]string{"USER_SERVICE_URL": srv.URL, "JWKS_REFRESH": "100ms", "JWKS_MIN_REFRESH_GAP": "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Verifier(telemetry.NewNoop("test"))
	tok, _, err := (&auth.Issuer{Keys: ks, Issuer: auth.DefaultIssuer, Audience: auth.DefaultAudience, TTL: time.Minute}).
		Issue("usr_0123456789abcdef", "customer")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within JWKS_REFRESH, want 1", n)
	}
	time.Sleep(150 * time.Millisecond)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches once the set was older than JWKS_REFRESH, want 2", n)
	}
}
