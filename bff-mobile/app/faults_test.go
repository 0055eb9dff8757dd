package app_test

import (
	"net/http"
	"testing"

	"github.com/acme/bff-gateway/bff-mobile/app"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/services/servicetest"
)

// TestFaults runs every operation of the mobile contract with every fault
// of bfftest.Faults on each service in turn (bfftest.FaultSuite says what
// is checked). It runs alone (not t.Parallel) so that its goroutine and
// file descriptor counts are its own.
func TestFaults(t *testing.T) {
	st := servicetest.StartStack(t, servicetest.StackOptions{Seed: bfftest.FaultSeed})
	customers := bfftest.NewCustomers(t, st)
	bfftest.FaultSuite[bfftest.Customer]{
		Options: bfftest.Options{Kind: config.Mobile, Build: app.NewWithDeps, OperationsDir: "../operations", Services: st},
		Setup: func(t *testing.T, env *bfftest.Env) bfftest.Customer {
			cu := customers.Next(t)
			faultSignIn(t, env, cu) // and the BFF fetches the user service's keys
			return cu
		},
		Ops: mobileFaultOps,
	}.Run(t)
}

// faultAppClient returns a client that sends the app's key, as the app
// does, and gives up long after the request deadline.
func faultAppClient(env *bfftest.Env) *bfftest.Client {
	c := env.NewClient()
	c.HTTP.Timeout = 3 * bfftest.FaultRequestTimeout
	c.Header.Set(authn.APIKeyHeader, env.APIKey())
	return c
}

// faultSignIn signs in through the Login document, while no fault is set,
// and returns a client that sends the token.
func faultSignIn(t *testing.T, env *bfftest.Env, cu bfftest.Customer) *bfftest.Client {
	t.Helper()
	c := faultAppClient(env)
	r := c.Op(t, "Login", map[string]any{"email": cu.Email, "password": cu.Password})
	d := bfftest.Decode[loginData](t, r)
	if r.Status != http.StatusOK || len(r.Errors) > 0 || d.Login == nil || d.Login.Token == "" {
		t.Fatalf("sign in %s: %d %s", cu.Email, r.Status, r.Raw)
	}
	c.Header.Set("Authorization", "Bearer "+d.Login.Token)
	return c
}

// send prepares a run of op with vars, by the customer signed in or, with
// anonymous, by the app alone.
func send(op string, anonymous bool, vars func(cu bfftest.Customer) map[string]any) func(*testing.T, *bfftest.Env, bfftest.Customer) bfftest.FaultRun {
	return func(t *testing.T, env *bfftest.Env, cu bfftest.Customer) bfftest.FaultRun {
		c := faultAppClient(env)
		if !anonymous {
			c = faultSignIn(t, env, cu)
		}
		return bfftest.FaultRun{Send: func(t *testing.T) bfftest.Response { return c.Op(t, op, vars(cu)) }}
	}
}

// mobileFaultOps are the mobile contract's operations, with what each
// loses when a service fails.
var mobileFaultOps = []bfftest.FaultOp[bfftest.Customer]{
	{
		// The one operation that has nothing left without the user
		// service: signing in is all it does.
		Name: "Login",
		Prepare: send("Login", true, func(cu bfftest.Customer) map[string]any {
			return map[string]any{"email": cu.Email, "password": cu.Password}
		}),
		Deps: map[string]bfftest.Dep{
			// POST /v1/auth/token is not retried: a token issued twice
			// would start a refresh family nobody holds.
			"user": {Errors: []string{"login"}, Required: []string{"login"}},
		},
		Present: []string{"login.token", "login.user.id"},
	},
	{
		// Each part of the home screen comes from its own service.
		Name:    "Home",
		Prepare: send("Home", false, func(bfftest.Customer) map[string]any { return nil }),
		Deps: map[string]bfftest.Dep{
			"user": {
				Errors: []string{"home.greeting"}, Required: []string{"home.greeting"},
				Present: []string{"home.recentOrders.0.thumbnailUrl", "home.featured.0.id"}, Retryable: true,
			},
			"order": {
				Errors: []string{"home.recentOrders"}, Required: []string{"home.recentOrders"},
				Present: []string{"home.greeting", "home.featured.0.id"}, Retryable: true,
			},
			"product": {
				Errors:   []string{"home.featured", "home.recentOrders.*.thumbnailUrl"},
				Required: []string{"home.featured", "home.recentOrders.0.thumbnailUrl"},
				Present:  []string{"home.greeting", "home.recentOrders.0.id"}, Retryable: true,
			},
		},
		Present: []string{"home.greeting", "home.recentOrders.0.thumbnailUrl", "home.featured.0.id"},
	},
	{
		Name:    "OrderList",
		Prepare: send("OrderList", false, func(bfftest.Customer) map[string]any { return map[string]any{"first": 10} }),
		Deps: map[string]bfftest.Dep{
			"order": {Errors: []string{"myOrders"}, Required: []string{"myOrders"}, Retryable: true},
		},
		Present: []string{"myOrders.items.0.id"},
	},
	{
		// A product's screen needs the app's key, not a token.
		Name:    "Product",
		Prepare: send("Product", true, func(cu bfftest.Customer) map[string]any { return map[string]any{"id": cu.Product} }),
		Deps: map[string]bfftest.Dep{
			"product": {Errors: []string{"product"}, Required: []string{"product"}, Retryable: true},
		},
		Present: []string{"product.id", "product.priceFormatted"},
	},
	{
		Name: "PlaceOrder",
		Prepare: func(t *testing.T, env *bfftest.Env, cu bfftest.Customer) bfftest.FaultRun {
			c := faultSignIn(t, env, cu)
			return bfftest.PlaceOrderRun(t, env, c, cu, map[string]any{
				"items":          []line{{ProductID: cu.Product, Quantity: 1}},
				"idempotencyKey": bfftest.FaultKey(t),
			})
		},
		Deps: map[string]bfftest.Dep{
			// Sent again under its idempotency key, a placement is
			// retried: the order service answers the order it placed.
			// The order service reserves the stock at the product service
			// itself, and the answer names no product: the product
			// service's faults cost nothing.
			"order": {Errors: []string{"placeOrder"}, Required: []string{"placeOrder"}, Retryable: true},
		},
		Present: []string{"placeOrder.order.id"},
	},
}
