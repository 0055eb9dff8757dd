package app_test

import (
	"net/http"
	"testing"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/services/servicetest"
)

// TestFaults runs every operation of the web contract with every fault of
// bfftest.Faults on each service in turn (bfftest.FaultSuite says what is
// checked). It runs alone (not t.Parallel) so that its goroutine and file
// descriptor counts are its own.
func TestFaults(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{Seed: bfftest.FaultSeed})
	customers := bfftest.NewCustomers(t, st)
	bfftest.FaultSuite[bfftest.Customer]{
		Options: bfftest.Options{Kind: config.Web, Build: app.NewWithDeps, OperationsDir: "../operations", Services: st},
		Setup: func(t *testing.T, env *bfftest.Env) bfftest.Customer {
			cu := customers.Next(t)
			faultSignIn(t, env, cu.Email, cu.Password) // and the BFF fetches the user service's keys
			return cu
		},
		Ops: webFaultOps,
	}.Run(t)
}

// faultClient returns a client of env that gives up long after the
// request deadline: a BFF that never answers fails the case, not the run.
func faultClient(env *bfftest.Env) *bfftest.Client {
	c := env.NewClient()
	c.HTTP.Timeout = 3 * bfftest.FaultRequestTimeout
	return c
}

// faultSignIn signs in through the Login document, while no fault is set.
func faultSignIn(t *testing.T, env *bfftest.Env, email, password string) *bfftest.Client {
	t.Helper()
	c := faultClient(env)
	r := c.Op(t, "Login", map[string]any{"email": email, "password": password})
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("sign in %s: %d %s", email, r.Status, r.Raw)
	}
	return c
}

// signedIn prepares a run of op with vars by the customer, signed in.
func signedIn(op string, vars func(cu bfftest.Customer) map[string]any) func(*testing.T, *bfftest.Env, bfftest.Customer) bfftest.FaultRun {
	return func(t *testing.T, env *bfftest.Env, cu bfftest.Customer) bfftest.FaultRun {
		c := faultSignIn(t, env, cu.Email, cu.Password)
		return bfftest.FaultRun{Send: func(t *testing.T) bfftest.Response { return c.Op(t, op, vars(cu)) }}
	}
}

// webFaultOps are the web contract's operations, with what each loses
// when a service fails.
var webFaultOps = []bfftest.FaultOp[bfftest.Customer]{
	{
		// The one operation that has nothing left without the user
		// service: signing in is all it does.
		Name: "Login",
		Prepare: func(t *testing.T, env *bfftest.Env, cu bfftest.Customer) bfftest.FaultRun {
			c := faultClient(env)
			return bfftest.FaultRun{
				Send: func(t *testing.T) bfftest.Response {
					return c.Op(t, "Login", map[string]any{"email": cu.Email, "password": cu.Password})
				},
				Check: func(t *testing.T, r bfftest.Response, failed bool) {
					cookie, set := sessionCookie(t, env, r)
					switch {
					case failed && set && cookie.Value != "":
						t.Errorf("a failed sign-in set a session cookie")
					case !failed && (!set || cookie.Value == ""):
						t.Errorf("a sign-in set no session cookie")
					}
				},
			}
		},
		Deps: map[string]bfftest.Dep{
			// POST /v1/auth/token is not retried: a token issued twice
			// would start a refresh family nobody holds.
			"user": {Errors: []string{"login"}, Required: []string{"login"}},
		},
		Present: []string{"login.viewer.id"},
	},
	{
		// Signing out ends the session whatever the user service does: a
		// refresh token it could not revoke expires unused.
		Name: "Logout",
		Prepare: func(t *testing.T, env *bfftest.Env, cu bfftest.Customer) bfftest.FaultRun {
			c := faultSignIn(t, env, cu.Email, cu.Password)
			return bfftest.FaultRun{
				Send: func(t *testing.T) bfftest.Response { return c.Op(t, "Logout", nil) },
				Check: func(t *testing.T, r bfftest.Response, _ bool) {
					if d := bfftest.Decode[struct{ Logout bool }](t, r); !d.Logout {
						t.Errorf("logout %s, want true", r.Data)
					}
					if cookie, set := sessionCookie(t, env, r); !set || cookie.MaxAge >= 0 {
						t.Errorf("the session cookie was not cleared: %v", cookie)
					}
				},
			}
		},
		Present: []string{"logout"},
	},
	{
		Name: "Dashboard",
		Prepare: signedIn("Dashboard", func(bfftest.Customer) map[string]any {
			return map[string]any{"orders": 5, "featured": 4}
		}),
		Deps: map[string]bfftest.Dep{
			"user": {
				Errors: []string{"viewer"}, Required: []string{"viewer"},
				Present: []string{"featuredProducts.0.id"}, Retryable: true,
			},
			"order": {
				Errors: []string{"viewer.orders"}, Required: []string{"viewer.orders"},
				Present: []string{"viewer.id", "featuredProducts.0.id"}, Retryable: true,
			},
			"product": {
				Errors:   []string{"featuredProducts", "viewer.orders.edges.*.node.items.*.product"},
				Required: []string{"featuredProducts", "viewer.orders.edges.0.node.items.0.product"},
				Present:  []string{"viewer.id", "viewer.orders.totalCount", "viewer.orders.edges.0.node.id"}, Retryable: true,
			},
		},
		Present: []string{"viewer.id", "viewer.orders.edges.0.node.items.0.product.id", "featuredProducts.0.id"},
	},
	{
		// The public catalogue, without a session.
		Name: "ProductSearch",
		Prepare: func(t *testing.T, env *bfftest.Env, _ bfftest.Customer) bfftest.FaultRun {
			c := faultClient(env)
			return bfftest.FaultRun{Send: func(t *testing.T) bfftest.Response {
				return c.Op(t, "ProductSearch", map[string]any{"category": "Books", "first": 5})
			}}
		},
		Deps: map[string]bfftest.Dep{
			"product": {Errors: []string{"products"}, Required: []string{"products"}, Retryable: true},
		},
		Present: []string{"products.totalCount", "products.edges.0.node.id"},
	},
	{
		Name:    "OrderDetail",
		Prepare: signedIn("OrderDetail", func(cu bfftest.Customer) map[string]any { return map[string]any{"id": cu.Order} }),
		Deps: map[string]bfftest.Dep{
			"order": {Errors: []string{"order"}, Required: []string{"order"}, Retryable: true},
			"user": {
				Errors: []string{"order.customer"}, Required: []string{"order.customer"},
				Present: []string{"order.id", "order.items.0.product.id"}, Retryable: true,
			},
			"product": {
				Errors: []string{"order.items.*.product"}, Required: []string{"order.items.0.product"},
				Present: []string{"order.id", "order.customer.id"}, Retryable: true,
			},
		},
		Present: []string{"order.id", "order.customer.id", "order.items.0.product.id"},
	},
	{
		// Each part of the store's totals comes from its own service.
		Name: "AdminOverview",
		Prepare: func(t *testing.T, env *bfftest.Env, _ bfftest.Customer) bfftest.FaultRun {
			c := faultSignIn(t, env, adminEmail, adminPassword)
			return bfftest.FaultRun{Send: func(t *testing.T) bfftest.Response {
				return c.Op(t, "AdminOverview", map[string]any{"recent": 5})
			}}
		},
		Deps: map[string]bfftest.Dep{
			"user": {
				Errors:    []string{"stats.userCount", "recentOrders.*.customer"},
				Required:  []string{"stats.userCount", "recentOrders.0.customer"},
				Present:   []string{"stats.orderCount", "stats.productCount", "recentOrders.0.id", "recentOrders.0.items.0.product.id"},
				Retryable: true,
			},
			"order": {
				Errors:    []string{"stats.orderCount", "stats.revenue", "stats.ordersByStatus", "recentOrders"},
				Required:  []string{"stats.orderCount", "stats.revenue", "stats.ordersByStatus", "recentOrders"},
				Present:   []string{"stats.userCount", "stats.productCount"},
				Retryable: true,
			},
			"product": {
				Errors:    []string{"stats.productCount", "recentOrders.*.items.*.product"},
				Required:  []string{"stats.productCount", "recentOrders.0.items.0.product"},
				Present:   []string{"stats.userCount", "stats.orderCount", "recentOrders.0.customer.id"},
				Retryable: true,
			},
		},
		Present: []string{
			"stats.userCount", "stats.productCount", "stats.orderCount", "stats.revenue.cents",
			"recentOrders.0.customer.id", "recentOrders.0.items.0.product.id",
		},
	},
	{
		Name:    "PlaceOrder",
		Prepare: placeOrderRun,
		Deps: map[string]bfftest.Dep{
			// Sent again under its idempotency key, a placement is
			// retried: the order service answers the order it placed.
			"order": {Errors: []string{"placeOrder"}, Required: []string{"placeOrder"}, Retryable: true},
			// The order service reserves the stock at the product
			// service itself; only the order's products, read by the BFF,
			// are lost.
			"product": {
				Errors: []string{"placeOrder.order.items.*.product"}, Required: []string{"placeOrder.order.items.0.product"},
				Present: []string{"placeOrder.order.id"}, Retryable: true,
			},
		},
		Present: []string{"placeOrder.order.id", "placeOrder.order.items.0.product.id"},
	},
	{
		Name:    "CancelOrder",
		Prepare: cancelOrderRun,
		Deps: map[string]bfftest.Dep{
			// A cancellation sent again cancels once: the BFF retries it.
			"order": {Errors: []string{"cancelOrder"}, Required: []string{"cancelOrder"}, Retryable: true},
		},
		Present: []string{"cancelOrder.order.id"},
	},
}

// placeOrderRun places one unit of the customer's product under a key of
// the case's own (bfftest.PlaceOrderRun checks that it is placed once).
func placeOrderRun(t *testing.T, env *bfftest.Env, cu bfftest.Customer) bfftest.FaultRun {
	c := faultSignIn(t, env, cu.Email, cu.Password)
	return bfftest.PlaceOrderRun(t, env, c, cu, placeVars(bfftest.FaultKey(t), line{cu.Product, 1}))
}

// cancelOrderRun cancels an order placed for the case, and checks the
// order service agrees with what the answer said.
func cancelOrderRun(t *testing.T, env *bfftest.Env, cu bfftest.Customer) bfftest.FaultRun {
	order := cu.Place(t, env.Stack, "cancel-"+bfftest.FaultKey(t))
	c := faultSignIn(t, env, cu.Email, cu.Password)
	return bfftest.FaultRun{
		Send: func(t *testing.T) bfftest.Response { return c.Op(t, "CancelOrder", map[string]any{"id": order.ID}) },
		Check: func(t *testing.T, r bfftest.Response, failed bool) {
			got := cu.OrderAt(t, env.Stack, order.ID)
			if failed {
				if got.Status != contract.StatusPending && got.Status != contract.StatusCancelled {
					t.Errorf("order %s is %s after a failed cancellation", order.ID, got.Status)
				}
				return
			}
			d := bfftest.Decode[cancelOrderData](t, r)
			if d.CancelOrder == nil || d.CancelOrder.Order == nil || d.CancelOrder.Order.Status != "CANCELLED" || len(d.CancelOrder.UserErrors) > 0 {
				t.Errorf("cancelOrder %s, want the order CANCELLED", r.Data)
			}
			if got.Status != contract.StatusCancelled {
				t.Errorf("order %s is %s at the order service, want cancelled", order.ID, got.Status)
			}
		},
	}
}
