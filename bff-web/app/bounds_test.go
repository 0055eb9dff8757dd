package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/servicetest"
)

// startWebWith starts the web BFF over services seeded with sizes.
func startWebWith(t testing.TB, sizes seed.Sizes, configure func(*config.Config)) *bfftest.Env {
	t.Helper()
	return bfftest.Start(t, bfftest.Options{
		Kind:          config.Web,
		Build:         app.NewWithDeps,
		OperationsDir: "../operations",
		Stack:         servicetest.StackOptions{Seed: sizes},
		Configure:     configure,
	})
}

// signIn logs a new client in through the Login document.
func signIn(t testing.TB, env *bfftest.Env, email, password string) *bfftest.Client {
	t.Helper()
	c := env.NewClient()
	r := c.Op(t, "Login", map[string]any{"email": email, "password": password})
	if len(r.Errors) > 0 {
		t.Fatalf("login %s: %s", email, r.Raw)
	}
	return c
}

// TestUpstreamRequestsDoNotGrowWithLists counts every upstream request an
// operation makes, with a cold product cache, over the full default data
// set: 100 orders refer to more products than one batch of 100 holds.
func TestUpstreamRequestsDoNotGrowWithLists(t *testing.T) {
	tests := []struct {
		name, email, password, op string
		vars                      map[string]any
		max                       int
	}{
		{"AdminOverview with 100 recent orders", "admin@example.com", "admin123", "AdminOverview", map[string]any{"recent": 100}, 6},
		{"Dashboard with 20 orders and 20 featured", "ada@example.com", "ada123", "Dashboard", map[string]any{"orders": 20, "featured": 20}, 5},
		{"Dashboard with the defaults", "grace@example.com", "grace123", "Dashboard", nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := startWebWith(t, seed.DefaultSizes, nil)
			c := signIn(t, env, tt.email, tt.password) // also fetches the JWKS once
			env.Counter.Reset()
			r := c.Op(t, tt.op, tt.vars)
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %s", r.Raw)
			}
			if n := env.Counter.Total(); n > tt.max {
				t.Errorf("%d upstream requests, want at most %d:\n%v", n, tt.max, env.Counter.Requests())
			}
			if tt.op != "AdminOverview" {
				return
			}
			data := bfftest.Decode[struct {
				RecentOrders []struct {
					Items []struct {
						Product *struct{ ID string } `json:"product"`
					} `json:"items"`
					Customer *struct{ ID string } `json:"customer"`
				} `json:"recentOrders"`
			}](t, r)
			distinct := map[string]bool{}
			for _, o := range data.RecentOrders {
				if o.Customer == nil {
					t.Fatal("an order came without its customer")
				}
				for _, it := range o.Items {
					if it.Product == nil {
						t.Fatal("an item came without its product")
					}
					distinct[it.Product.ID] = true
				}
			}
			if len(data.RecentOrders) != 100 {
				t.Fatalf("%d recent orders, want 100", len(data.RecentOrders))
			}
			if len(distinct) <= 100 {
				t.Logf("only %d distinct products: the two-batch case was not exercised", len(distinct))
			}
			t.Logf("%d distinct products in %d product requests; %d upstream requests in all",
				len(distinct), env.Counter.Of("product"), env.Counter.Total())
		})
	}
}

// TestProductionModeHidesThePlaygroundAndSchema: ENV=production serves no
// playground, refuses introspection and suggests no field names.
func TestProductionModeHidesThePlaygroundAndSchema(t *testing.T) {
	for _, prod := range []bool{false, true} {
		env := startWebWith(t, seed.Sizes{}, func(c *config.Config) {
			if prod {
				c.Env = "production"
			}
		})
		resp, err := http.Get(env.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if wantStatus := map[bool]int{false: 200, true: 404}[prod]; resp.StatusCode != wantStatus {
			t.Errorf("production=%v: GET / answered %d, want %d", prod, resp.StatusCode, wantStatus)
		}
		c := env.NewClient()
		r := c.Query(t, `{ __schema { queryType { name } } }`, nil)
		if introspected := len(r.Errors) == 0; introspected == prod {
			t.Errorf("production=%v: introspection answered %s", prod, r.Raw)
		}
		if prod && r.Errors[0].Code() != "INTROSPECTION_DISABLED" {
			t.Errorf("production: introspection refused with %s, want INTROSPECTION_DISABLED", r.Raw)
		}
		r = c.Query(t, `{ featuredProduct { id } }`, nil)
		if suggests := strings.Contains(string(r.Raw), "Did you mean"); suggests == prod {
			t.Errorf("production=%v: field suggestions in %s", prod, r.Raw)
		}
	}
}
