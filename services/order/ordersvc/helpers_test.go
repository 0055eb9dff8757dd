package ordersvc_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/order/ordersvc"
	"github.com/acme/bff-gateway/services/product/productsvc"
	"github.com/acme/bff-gateway/services/servicetest"
)

// The demo accounts' user ids.
var (
	adaID   = seed.UserID(1)
	graceID = seed.UserID(2)
)

// env is a running stack, clients that check every answer of the order and
// product services against their OpenAPI descriptions, and the demo
// accounts' tokens.
type env struct {
	stack    *servicetest.Stack
	orders   *http.Client
	products *http.Client
	admin    string
	ada      string
	grace    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, servicetest.StackOptions{})
}

func newEnvWith(t *testing.T, opts servicetest.StackOptions) *env {
	t.Helper()
	s := servicetest.StartStack(t, opts)
	return &env{
		stack:    s,
		orders:   testutil.NewClient(t, ordersvc.OpenAPI),
		products: testutil.NewClient(t, productsvc.OpenAPI),
		admin:    s.Token(t, "admin@example.com", "admin123"),
		ada:      s.Token(t, "ada@example.com", "ada123"),
		grace:    s.Token(t, "grace@example.com", "grace123"),
	}
}

// call sends a request to the order service.
func (e *env) call(t *testing.T, method, path, token string, body any, header http.Header) testutil.Answer {
	t.Helper()
	return testutil.Call(t, e.orders, method, e.stack.Order.URL+path, token, body, header)
}

// get sends a GET to the order service and decodes a 200 answer into T.
func get[T any](t *testing.T, e *env, path, token string) T {
	t.Helper()
	a := e.call(t, http.MethodGet, path, token, nil, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200: %s", path, a.Status, a.Body)
	}
	return testutil.MustJSON[T](t, a.Body)
}

// keyHeader returns a header carrying an Idempotency-Key.
func keyHeader(key string) http.Header {
	return http.Header{"Idempotency-Key": {key}}
}

// newKey returns a fresh idempotency key.
func newKey() string { return ids.New("key-") }

// place places an order and returns the answer.
func (e *env) place(t *testing.T, token, key string, req contract.PlaceOrderRequest) testutil.Answer {
	t.Helper()
	return e.call(t, http.MethodPost, "/v1/orders", token, req, keyHeader(key))
}

// mustPlace places an order that must succeed and returns it.
func (e *env) mustPlace(t *testing.T, token string, req contract.PlaceOrderRequest) contract.Order {
	t.Helper()
	a := e.place(t, token, newKey(), req)
	if a.Status != http.StatusCreated {
		t.Fatalf("place order: status %d, want 201: %s", a.Status, a.Body)
	}
	return testutil.MustJSON[contract.Order](t, a.Body)
}

// product reads a product at the product service.
func (e *env) product(t *testing.T, id string) contract.Product {
	t.Helper()
	a := testutil.Call(t, e.products, http.MethodGet, e.stack.Product.URL+"/v1/products/"+id, e.admin, nil, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("GET product %s: status %d: %s", id, a.Status, a.Body)
	}
	return testutil.MustJSON[contract.Product](t, a.Body)
}

// stockOf reads a product's stock at the product service.
func (e *env) stockOf(t *testing.T, id string) int {
	t.Helper()
	return e.product(t, id).Stock
}

// productsWithStock returns n products that have at least min in stock.
func (e *env) productsWithStock(t *testing.T, n, min int) []contract.Product {
	t.Helper()
	a := testutil.Call(t, e.products, http.MethodGet, e.stack.Product.URL+"/v1/products?limit=100", e.admin, nil, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("list products: status %d: %s", a.Status, a.Body)
	}
	var out []contract.Product
	for _, p := range testutil.MustJSON[contract.ProductPage](t, a.Body).Products {
		if p.Stock >= min {
			out = append(out, p)
		}
		if len(out) == n {
			return out
		}
	}
	t.Fatalf("fewer than %d products with %d in stock", n, min)
	return nil
}

// reserve takes stock directly at the product service's internal API,
// as the order service does, under a new reservation id it returns.
func (e *env) reserve(t *testing.T, items []contract.ReservationItem) string {
	t.Helper()
	id := ids.New(ids.OrderPrefix)
	a := testutil.Call(t, e.products, http.MethodPost, e.stack.Product.URL+"/internal/v1/reservations", e.stack.ServiceToken,
		contract.ReserveRequest{ReservationID: id, Items: items}, nil)
	if a.Status != http.StatusCreated {
		t.Fatalf("reserve %v: status %d: %s", items, a.Status, a.Body)
	}
	return id
}

// eventually polls cond every 20 ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seededOrders returns the orders the test stack seeds. Only created_at
// depends on the start time.
func seededOrders() []contract.Order {
	return seed.Orders(servicetest.SmallSeed, time.Now().UTC().Truncate(time.Hour))
}

// wantSameOrder checks the fields of an order other than created_at.
func wantSameOrder(t *testing.T, got, want contract.Order) {
	t.Helper()
	g, w := got, want
	g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("order\n got %s\nwant %s", gb, wb)
	}
}

// itemsTotal is Σ quantity × unit price.
func itemsTotal(items []contract.OrderItem) int64 {
	var sum int64
	for _, it := range items {
		sum += int64(it.Quantity) * it.UnitPriceCents
	}
	return sum
}
