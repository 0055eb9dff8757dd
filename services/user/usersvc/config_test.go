package usersvc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/services/user/usersvc"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigDefaultsOfTokens(t *testing.T) {
	cfg, err := usersvc.ParseConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TokenTTL != 15*time.Minute || cfg.RefreshIdleTTL != 24*time.Hour || cfg.RefreshAbsoluteTTL != 7*24*time.Hour ||
		cfg.KeyPrepublish != 10*time.Minute || cfg.JWKSRefresh != 5*time.Minute {
		t.Errorf("token settings %v, %v, %v, %v, %v; want 15m, 24h, 168h, 10m and 5m",
			cfg.TokenTTL, cfg.RefreshIdleTTL, cfg.RefreshAbsoluteTTL, cfg.KeyPrepublish, cfg.JWKSRefresh)
	}
	// The key is published for longer than the verifiers go without
	// refetching the JWKS.
	if auth.DefaultKeyPrepublish <= auth.DefaultJWKSRefresh {
		t.Errorf("DefaultKeyPrepublish %v must exceed DefaultJWKSRefresh %v", auth.DefaultKeyPrepublish, auth.DefaultJWKSRefresh)
	}
}

func TestParseConfigTakesTokenSettings(t *testing.T) {
	cfg, err := usersvc.ParseConfig([]string{"-refresh-idle-ttl", "2h", "-key-prepublish", "0s"}, envOf(map[string]string{
		"TOKEN_TTL":            "1s",
		"REFRESH_IDLE_TTL":     "1h",
		"REFRESH_ABSOLUTE_TTL": "2160h",
		"KEY_PREPUBLISH":       "1m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TokenTTL != time.Second || cfg.RefreshIdleTTL != 2*time.Hour || cfg.RefreshAbsoluteTTL != 90*24*time.Hour || cfg.KeyPrepublish != 0 {
		t.Errorf("got %v, %v, %v, %v; want 1s, the flag's 2h, 2160h and the flag's 0s",
			cfg.TokenTTL, cfg.RefreshIdleTTL, cfg.RefreshAbsoluteTTL, cfg.KeyPrepublish)
	}
}

func TestParseConfigCutsTheDefaultIdleLifetimeToTheAbsoluteOne(t *testing.T) {
	cfg, err := usersvc.ParseConfig(nil, envOf(map[string]string{"REFRESH_ABSOLUTE_TTL": "4s"}))
	if err != nil || cfg.RefreshIdleTTL != 4*time.Second {
		t.Errorf("REFRESH_ABSOLUTE_TTL=4s alone: idle %v (%v), want 4s", cfg.RefreshIdleTTL, err)
	}
	// Given, it is checked.
	for name, args := range map[string][]string{"flag": {"-refresh-idle-ttl", "5s"}, "env": nil} {
		env := map[string]string{"REFRESH_ABSOLUTE_TTL": "4s"}
		if args == nil {
			env["REFRESH_IDLE_TTL"] = "5s"
		}
		if _, err := usersvc.ParseConfig(args, envOf(env)); err == nil || !strings.Contains(err.Error(), "must not exceed REFRESH_ABSOLUTE_TTL") {
			t.Errorf("idle 5s by %s, absolute 4s: %v, want refused", name, err)
		}
	}
}

func TestParseConfigReportsBadTokenSettings(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"TOKEN_TTL": "999ms"}, []string{"TOKEN_TTL"}},
		{map[string]string{"TOKEN_TTL": "25h"}, []string{"TOKEN_TTL"}},
		{map[string]string{"REFRESH_IDLE_TTL": "0s", "REFRESH_ABSOLUTE_TTL": "-1s"}, []string{"REFRESH_IDLE_TTL must be", "REFRESH_ABSOLUTE_TTL must be"}},
		{map[string]string{"REFRESH_ABSOLUTE_TTL": "2161h", "REFRESH_IDLE_TTL": "1h"}, []string{"REFRESH_ABSOLUTE_TTL must be from 1s to 2160h0m0s (90 days)"}},
		{map[string]string{"REFRESH_IDLE_TTL": "2h", "REFRESH_ABSOLUTE_TTL": "1h"}, []string{"REFRESH_IDLE_TTL (2h0m0s) must not exceed REFRESH_ABSOLUTE_TTL (1h0m0s)"}},
		{map[string]string{"KEY_PREPUBLISH": "-1s"}, []string{"KEY_PREPUBLISH"}},
		{map[string]string{"KEY_PREPUBLISH": "25h"}, []string{"KEY_PREPUBLISH"}},
		{map[string]string{"JWKS_REFRESH": "0s"}, []string{"JWKS_REFRESH"}},
		{map[string]string{"REFRESH_IDLE_TTL": "soon"}, []string{"REFRESH_IDLE_TTL"}},
	}
	for _, tt := range tests {
		_, err := usersvc.ParseConfig(nil, envOf(tt.env))
		if err == nil {
			t.Errorf("%v: accepted", tt.env)
			continue
		}
		for _, want := range tt.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: error %q does not say %q", tt.env, err, want)
			}
		}
	}
}
