package ordersvc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/internal/platform"
	"github.com/acme/bff-gateway/services/order/ordersvc"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ordersvc.ParseConfig(nil, envOf(nil))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := ordersvc.Config{
		Common: platform.Common{
			ListenAddr:   ordersvc.DefaultListenAddr,
			AdminAddr:    addrs.OrderAdmin,
			DataDir:      "./var",
			Env:          "development",
			UserURL:      addrs.UserURL,
			OrderURL:     addrs.OrderURL,
			ProductURL:   addrs.ProductURL,
			ServiceToken: platform.DevServiceToken,
			Issuer:       "bff-gateway-user-service",
			Audience:     "bff-gateway",
			Seed:         seed.DefaultSizes,
			// The JWKS is refetched when 5 min old, and on an unknown kid
			// never twice within 10 s.
			JWKSRefresh:       5 * time.Minute,
			JWKSMinRefreshGap: 10 * time.Second,
		},
		ReconcileInterval: 30 * time.Second,
		ReleaseGrace:      time.Minute,
		UpstreamTimeout:   5 * time.Second,
	}
	if cfg != want {
		t.Errorf("defaults\n got %+v\nwant %+v", cfg, want)
	}
}

func TestParseConfigOverrides(t *testing.T) {
	cfg, err := ordersvc.ParseConfig([]string{"-upstream-timeout", "2s"}, envOf(map[string]string{
		"RECONCILE_INTERVAL": "5s",
		"RELEASE_GRACE":      "10s",
		"UPSTREAM_TIMEOUT":   "1s",
	}))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if cfg.ReconcileInterval != 5*time.Second || cfg.ReleaseGrace != 10*time.Second || cfg.UpstreamTimeout != 2*time.Second {
		t.Errorf("got interval %s, grace %s, timeout %s; want 5s, 10s and the flag's 2s",
			cfg.ReconcileInterval, cfg.ReleaseGrace, cfg.UpstreamTimeout)
	}
}

func TestParseConfigReportsEveryError(t *testing.T) {
	_, err := ordersvc.ParseConfig(nil, envOf(map[string]string{
		"RECONCILE_INTERVAL": "0s",
		"RELEASE_GRACE":      "-1s",
		"UPSTREAM_TIMEOUT":   "1h",
		"ENV":                "staging",
	}))
	if err == nil {
		t.Fatal("ParseConfig accepted a bad configuration")
	}
	for _, want := range []string{"RECONCILE_INTERVAL", "RELEASE_GRACE", "UPSTREAM_TIMEOUT", "ENV"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := ordersvc.ParseConfig(nil, envOf(map[string]string{"UPSTREAM_TIMEOUT": "soon"})); err == nil ||
		!strings.Contains(err.Error(), "UPSTREAM_TIMEOUT") {
		t.Errorf("a malformed duration gave %v, want an error naming UPSTREAM_TIMEOUT", err)
	}
}
