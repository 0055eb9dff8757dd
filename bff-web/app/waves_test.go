package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

// TestUpstreamWaves: with the product cache warm, the Dashboard needs one
// round of upstream calls (the viewer, the viewer's orders and the
// featured list are all known from the token and start together), the
// order page one, and the AdminOverview two (the recent orders, then
// their customers); the BFF's metrics record each operation's calls as
// the services saw them.
func TestUpstreamWaves(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	ada := login(t, env, adaEmail, adaPassword)
	admin := login(t, env, adminEmail, adminPassword)
	tests := []struct {
		client   *bfftest.Client
		op       string
		vars     map[string]any
		maxWaves float64
	}{
		{ada, "Dashboard", nil, 1},
		// Arguments given as variables, as the web app sends them.
		{ada, "Dashboard", map[string]any{"orders": 3, "featured": 2}, 1},
		{admin, "OrderDetail", map[string]any{"id": seed.OrderID(0)}, 2},
		{admin, "AdminOverview", map[string]any{"recent": 100}, 2},
	}
	for _, tt := range tests {
		tt.client.Op(t, tt.op, tt.vars) // the product cache warms
		u := bfftest.FewestWaves(t, env, tt.client, "web", tt.op, tt.vars, tt.maxWaves, 5)
		t.Logf("%s: %v calls %v, %v waves", tt.op, u.Calls, u.Served, u.Waves)
		if u.Waves < 1 || u.Waves > tt.maxWaves {
			t.Errorf("%s: %v waves, want 1 to %v: %v", tt.op, u.Waves, tt.maxWaves, u.Served)
		}
	}
}

// TestOrdersLoadOnlyWhatIsSelected: a list of orders loads its items'
// products and its customers with the list, and only when the operation
// selects them, through fragments too.
func TestOrdersLoadOnlyWhatIsSelected(t *testing.T) {
	t.Parallel()
	// A product cache that keeps nothing, so that every case that selects
	// products asks the product service.
	env := startWebWith(t, testSeed, func(c *config.Config) {
		c.ProductCache.TTL = time.Nanosecond
		c.ProductCache.MaxStale = 0
	})
	admin := login(t, env, adminEmail, adminPassword)
	tests := []struct {
		name, doc           string
		products, customers bool
	}{
		{"ids only", `{ recentOrders(first: 3) { id } }`, false, false},
		{"products", `{ recentOrders(first: 3) { id items { product { id } } } }`, true, false},
		{"customers through a fragment", `{ recentOrders(first: 3) { ...O } } fragment O on Order { customer { id } }`, false, true},
		{"both, inline", `{ recentOrders(first: 3) { ... on Order { customer { id } items { quantity ... on OrderItem { product { name } } } } } }`, true, true},
	}
	for _, tt := range tests {
		env.Counter.Reset()
		r := admin.Query(t, tt.doc, nil)
		if r.Status != 200 || len(r.Errors) > 0 {
			t.Fatalf("%s: %d %s", tt.name, r.Status, r.Raw)
		}
		if got := env.Counter.Of("product") > 0; got != tt.products {
			t.Errorf("%s: product service called %v, want %v: %v", tt.name, got, tt.products, env.Counter.Requests())
		}
		if got := env.Counter.Of("user") > 0; got != tt.customers {
			t.Errorf("%s: user service called %v, want %v: %v", tt.name, got, tt.customers, env.Counter.Requests())
		}
	}
}

// TestListsWaitTogetherWhenTheirSelectionCan: a list of orders whose
// selection reaches a resolver (each customer's own orders) is still
// marshalled with a goroutine per order, so the customers' order pages
// are asked for together, in one wave after the orders and their
// customers; marshalled in order, as lists whose selection cannot wait
// are (internal/bff/gqlmarshal), each page would wait for the one before.
func TestListsWaitTogetherWhenTheirSelectionCan(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	admin := login(t, env, adminEmail, adminPassword)
	const query = `query CustomersOrders { recentOrders(first: 6) { id customer { id orders(first: 1) { totalCount } } } }`
	var best bfftest.Upstream
	for i := range 5 {
		u := bfftest.MeasureQuery(t, env, admin, "web", query, nil)
		if i == 0 || u.Waves < best.Waves {
			best = u
		}
		if best.Waves <= 3 {
			break
		}
	}
	pages := 0
	for _, r := range best.Served {
		if strings.HasPrefix(r, "GET order /v1/orders") {
			pages++
		}
	}
	// The recent orders' page, then one page per customer.
	if pages < 4 {
		t.Fatalf("the 6 recent orders have %d customers: the test needs at least 3 (%v)", pages-1, best.Served)
	}
	if best.Waves > 3 {
		t.Errorf("%v waves for %d customers' orders, want 3 (orders, customers, their pages together): %v", best.Waves, pages-1, best.Served)
	}
}

// TestRecentOrdersAndTotalsShareOneCall: an operation that shows the
// newest orders and the order totals asks the order service once (the
// recent orders with include=stats), and answers what the two separate
// reads answer; one that shows only one of them, or whose recentOrders
// the totals cannot share (skipped, refused, a second alias), makes the
// call it needs.
func TestRecentOrdersAndTotalsShareOneCall(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	admin := login(t, env, adminEmail, adminPassword)
	adminToken := env.Stack.Token(t, adminEmail, adminPassword)
	stats := restGet[contract.OrderStats](t, env.Stack.Order.URL+"/v1/orders/stats", adminToken)
	recent := restGet[contract.OrderList](t, env.Stack.Order.URL+"/v1/orders/recent?limit=3", adminToken).Orders

	tests := []struct {
		name, doc string
		vars      map[string]any
		calls     []string // the order service's, in any order
	}{
		{"the AdminOverview document", "", map[string]any{"recent": 3},
			[]string{"/v1/orders/recent?include=stats&limit=3"}},
		{"the default of first", `{ stats { orderCount } recentOrders { id } }`, nil,
			[]string{"/v1/orders/recent?include=stats&limit=20"}},
		{"through fragments", `{ ...Q } fragment Q on Query { stats { ...S } recentOrders(first: 3) { id } } fragment S on Stats { ordersByStatus { count } }`, nil,
			[]string{"/v1/orders/recent?include=stats&limit=3"}},
		{"totals only", `{ stats { orderCount revenue { cents } } }`, nil,
			[]string{"/v1/orders/stats"}},
		{"orders only", `{ recentOrders(first: 3) { id } }`, nil,
			[]string{"/v1/orders/recent?limit=3"}},
		{"no totals of orders", `{ stats { userCount } recentOrders(first: 3) { id } }`, nil,
			[]string{"/v1/orders/recent?limit=3"}},
		{"orders skipped", `query($s: Boolean!) { stats { orderCount } recentOrders(first: 3) @skip(if: $s) { id } }`, map[string]any{"s": true},
			[]string{"/v1/orders/stats"}},
		{"two aliases", `{ stats { orderCount } a: recentOrders(first: 3) { id } b: recentOrders(first: 2) { id } }`, nil,
			[]string{"/v1/orders/recent?include=stats&limit=3", "/v1/orders/recent?limit=2"}},
	}
	for _, tt := range tests {
		env.Counter.Reset()
		var r bfftest.Response
		if tt.doc == "" {
			r = admin.Op(t, "AdminOverview", tt.vars)
		} else {
			r = admin.Query(t, tt.doc, tt.vars)
		}
		wantOK(t, r)
		var calls []string
		for _, req := range env.Counter.Requests() {
			if rest, ok := strings.CutPrefix(req, "GET order "); ok {
				calls = append(calls, rest)
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(calls)), slices.Sorted(slices.Values(tt.calls))) {
			t.Errorf("%s: the order service was asked %v, want %v", tt.name, calls, tt.calls)
		}
		got := bfftest.Decode[struct {
			Stats *struct {
				OrderCount *int `json:"orderCount"`
			} `json:"stats"`
			RecentOrders []struct{ ID string } `json:"recentOrders"`
			A            []struct{ ID string } `json:"a"`
		}](t, r)
		if got.Stats != nil && got.Stats.OrderCount != nil && *got.Stats.OrderCount != stats.Count {
			t.Errorf("%s: orderCount %d, want the service's %d", tt.name, *got.Stats.OrderCount, stats.Count)
		}
		for _, list := range [][]struct{ ID string }{got.RecentOrders, got.A} {
			for i, o := range list {
				if i < len(recent) && o.ID != recent[i].ID {
					t.Errorf("%s: recent order %d is %s, want %s", tt.name, i, o.ID, recent[i].ID)
				}
			}
		}
	}

	// A first the schema refuses: recentOrders answers the error, and the
	// totals are read on their own.
	env.Counter.Reset()
	r := admin.Query(t, `{ stats { orderCount } recentOrders(first: 0) { id } }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Code() != "BAD_USER_INPUT" {
		t.Errorf("first: 0 answered %s, want one BAD_USER_INPUT error", r.Raw)
	}
	if got := env.Counter.Requests(); !slices.Contains(got, "GET order /v1/orders/stats") {
		t.Errorf("first: 0: the order service was asked %v, want its totals", got)
	}
}
