package productsvc_test

import (
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/addrs"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/internal/platform"
	"github.com/acme/bff-gateway/services/product/productsvc"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	cfg, err := productsvc.ParseConfig(nil, env(nil))
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.ListenAddr != productsvc.DefaultListenAddr || cfg.UserURL != addrs.UserURL ||
		cfg.Seed != seed.DefaultSizes || cfg.ServiceToken != platform.DevServiceToken {
		t.Errorf("defaults %+v", cfg)
	}

	cfg, err = productsvc.ParseConfig([]string{"-listen", "127.0.0.1:0"}, env(map[string]string{"SEED_PRODUCTS": "7"}))
	if err != nil || cfg.ListenAddr != "127.0.0.1:0" || cfg.Seed.Products != 7 {
		t.Errorf("overrides: %+v, %v", cfg, err)
	}

	// Every problem is reported at once.
	_, err = productsvc.ParseConfig(nil, env(map[string]string{"ENV": "production", "SEED_PRODUCTS": "0"}))
	if err == nil || !strings.Contains(err.Error(), "SERVICE_TOKEN") || !strings.Contains(err.Error(), "seed sizes") {
		t.Errorf("production with the dev token and no products: %v, want both reported", err)
	}
}
