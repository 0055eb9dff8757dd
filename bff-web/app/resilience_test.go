package app_test

import (
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/fakeclock"
	"github.com/acme/bff-gateway/internal/seed"
)

type dashboard struct {
	Viewer *struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Orders *struct {
			TotalCount int `json:"totalCount"`
		} `json:"orders"`
	} `json:"viewer"`
	FeaturedProducts []struct {
		ID string `json:"id"`
	} `json:"featuredProducts"`
}

func breakerState(env *bfftest.Env, service string) breaker.State {
	for _, b := range env.Deps.Clients.Breakers {
		if b.Name() == service {
			return b.State()
		}
	}
	return ""
}

// TestOrderServiceDownCostsOnlyItsFields stops the order service: the
// Dashboard still answers the viewer and the featured products, with only
// viewer.orders null and coded; the breaker opens after the configured
// failures, then answers at once without sending anything, and closes again
// once the service is back.
func TestOrderServiceDownCostsOnlyItsFields(t *testing.T) {
	const openFor = 300 * time.Millisecond
	env := startWebWith(t, seed.Sizes{}, func(c *config.Config) {
		c.Breaker.ConsecutiveFailures = 2
		c.Breaker.OpenTimeout = openFor
	})
	ada := signIn(t, env, "ada@example.com", "ada123")
	env.Stack.Stop(t, "order")

	for i := range 3 {
		r := ada.Op(t, "Dashboard", nil)
		if r.Status != 200 {
			t.Fatalf("status %d, want 200", r.Status)
		}
		d := bfftest.Decode[dashboard](t, r)
		if d.Viewer == nil || d.Viewer.Name != "Ada Lovelace" || len(d.FeaturedProducts) == 0 {
			t.Fatalf("attempt %d: the parts that do not need the order service must answer: %s", i, r.Raw)
		}
		if d.Viewer.Orders != nil {
			t.Fatalf("viewer.orders should be null: %s", r.Raw)
		}
		e, ok := r.ErrorAt("viewer.orders")
		if !ok || e.Code() != "SERVICE_UNAVAILABLE" {
			t.Fatalf("want SERVICE_UNAVAILABLE at viewer.orders: %s", r.Raw)
		}
		if len(r.Errors) != 1 {
			t.Errorf("want exactly one error, got %s", r.Raw)
		}
	}
	if s := breakerState(env, "order"); s != breaker.StateOpen {
		t.Fatalf("order breaker is %q after repeated failures, want open", s)
	}
	if s := breakerState(env, "user"); s != breaker.StateClosed {
		t.Errorf("user breaker is %q, want closed", s)
	}

	// Open: nothing is sent to the order service.
	env.Counter.Reset()
	r := ada.Op(t, "Dashboard", nil)
	if e, ok := r.ErrorAt("viewer.orders"); !ok || e.Code() != "SERVICE_UNAVAILABLE" {
		t.Fatalf("open breaker: %s", r.Raw)
	}
	if n := env.Counter.Of("order"); n != 0 {
		t.Errorf("%d requests reached the order service through an open breaker", n)
	}

	// Back: after the open period, a probe goes through and closes it.
	env.Stack.Start(t, "order")
	deadline := time.Now().Add(10 * openFor)
	for {
		r = ada.Op(t, "Dashboard", nil)
		if d := bfftest.Decode[dashboard](t, r); d.Viewer != nil && d.Viewer.Orders != nil {
			if d.Viewer.Orders.TotalCount < seed.OrdersPerFixedCustomer {
				t.Errorf("after recovery: %d orders", d.Viewer.Orders.TotalCount)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the order breaker never closed again: %s", r.Raw)
		}
		time.Sleep(openFor / 3)
	}
	if s := breakerState(env, "order"); s != breaker.StateClosed {
		t.Errorf("order breaker is %q after a good probe, want closed", s)
	}
}

// TestProductsServedStaleWhenTheProductServiceFails serves products seen
// recently when the product service is down, and says so in extensions;
// beyond the configured age they are errors.
func TestProductsServedStaleWhenTheProductServiceFails(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	clock, advance := clk.Now, clk.Advance
	env := bfftest.Start(t, bfftest.Options{
		Kind: config.Web, Build: buildWeb, OperationsDir: "../operations", Now: clock,
		Configure: func(c *config.Config) {
			c.ProductCache.TTL = time.Minute
			c.ProductCache.MaxStale = 3 * time.Minute
		},
	})
	ada := signIn(t, env, "ada@example.com", "ada123")
	first := ada.Op(t, "Dashboard", nil)
	if len(first.Errors) > 0 || first.Extensions["staleData"] != nil {
		t.Fatalf("first answer: %s", first.Raw)
	}
	env.Stack.Stop(t, "product")
	advance(2 * time.Minute) // past the TTL, within the stale window

	r := ada.Op(t, "Dashboard", nil)
	if len(r.Errors) > 0 {
		t.Fatalf("stale products must be served without errors: %s", r.Raw)
	}
	if string(r.Data) != string(first.Data) {
		t.Errorf("the stale answer differs from the fresh one:\n%s\n%s", r.Data, first.Data)
	}
	stale, _ := r.Extensions["staleData"].(map[string]any)
	ids, _ := stale["products"].([]any)
	if len(ids) == 0 {
		t.Fatalf("extensions must name the stale products: %s", r.Raw)
	}

	// Past the stale window (still within the 15-minute session), the
	// product fields fail on their own.
	advance(5 * time.Minute)
	r = ada.Op(t, "Dashboard", nil)
	if e, ok := r.ErrorAt("featuredProducts"); !ok || e.Code() != "SERVICE_UNAVAILABLE" {
		t.Errorf("beyond max_stale: want SERVICE_UNAVAILABLE at featuredProducts: %s", r.Raw)
	}
	if d := bfftest.Decode[dashboard](t, r); d.Viewer == nil || d.Viewer.Orders == nil {
		t.Errorf("the viewer and orders do not need the product service: %s", r.Raw)
	}
}
