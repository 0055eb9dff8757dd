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
