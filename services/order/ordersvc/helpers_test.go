package ordersvc_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/api"
	"github.com/acme/bff-gateway/internal/httpapi"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/order/ordersvc"
	"github.com/acme/bff-gateway/services/product/productsvc"
)

// The demo accounts' user ids.
var (
	adminID = seed.UserID(0)
	adaID   = seed.UserID(1)
	graceID = seed.UserID(2)
)

// env is a running stack, clients that check every answer of the order and
// product services against their OpenAPI descriptions, and the demo
// accounts' tokens.
type env struct {
	stack    *testutil.Stack
	orders   *http.Client
	products *http.Client
	admin    string
	ada      string
	grace    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, testutil.StackOptions{})
}

func newEnvWith(t *testing.T, opts testutil.StackOptions) *env {
	t.Helper()
	s := testutil.StartStack(t, opts)
	return &env{
		stack:    s,
		orders:   testutil.NewClient(t, ordersvc.OpenAPI),
		products: testutil.NewClient(t, productsvc.OpenAPI),
		admin:    s.Token(t, "admin@example.com", "admin123"),
		ada:      s.Token(t, "ada@example.com", "ada123"),
		grace:    s.Token(t, "grace@example.com", "grace123"),
	}
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// send sends a request with c and returns the answer. A non-nil body is
// sent as is when []byte or string, else as JSON.
func send(c *http.Client, method, url, token string, body any, header http.Header) (answer, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{}, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// call sends a request to the order service.
func (e *env) call(t *testing.T, method, path, token string, body any, header http.Header) answer {
	t.Helper()
	a, err := send(e.orders, method, e.stack.Order.URL+path, token, body, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// get sends a GET to the order service and decodes a 200 answer into T.
func get[T any](t *testing.T, e *env, path, token string) T {
	t.Helper()
	a := e.call(t, http.MethodGet, path, token, nil, nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200: %s", path, a.status, a.body)
	}
	return testutil.MustJSON[T](t, a.body)
}

// keyHeader returns a header carrying an Idempotency-Key.
func keyHeader(key string) http.Header {
	return http.Header{"Idempotency-Key": {key}}
}

// newKey returns a fresh idempotency key.
func newKey() string { return ids.New("key-") }

// place places an order and returns the answer.
func (e *env) place(t *testing.T, token, key string, req api.PlaceOrderRequest) answer {
	t.Helper()
	return e.call(t, http.MethodPost, "/v1/orders", token, req, keyHeader(key))
}

// mustPlace places an order that must succeed and returns it.
func (e *env) mustPlace(t *testing.T, token string, req api.PlaceOrderRequest) api.Order {
	t.Helper()
	a := e.place(t, token, newKey(), req)
	if a.status != http.StatusCreated {
		t.Fatalf("place order: status %d, want 201: %s", a.status, a.body)
	}
	return testutil.MustJSON[api.Order](t, a.body)
}

// wantProblem checks that a is a problem document with the status, code
// and param, and returns it.
func wantProblem(t *testing.T, a answer, status int, code, param string) httpapi.Problem {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Errorf("Content-Type %q, want %q", ct, httpapi.ProblemContentType)
	}
	p := testutil.MustJSON[httpapi.Problem](t, a.body)
	if string(p.Code) != code {
		t.Errorf("code %q, want %q (%s)", p.Code, code, a.body)
	}
	if p.Param != param {
		t.Errorf("param %q, want %q (%s)", p.Param, param, a.body)
	}
	if p.Status != status || p.RequestID == "" {
		t.Errorf("problem status %d, request_id %q: want %d and an id", p.Status, p.RequestID, status)
	}
	return p
}

// product reads a product at the product service.
func (e *env) product(t *testing.T, id string) api.Product {
	t.Helper()
	a, err := send(e.products, http.MethodGet, e.stack.Product.URL+"/v1/products/"+id, e.admin, nil, nil)
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("GET product %s: %v status %d: %s", id, err, a.status, a.body)
	}
	return testutil.MustJSON[api.Product](t, a.body)
}

// stockOf reads a product's stock at the product service.
func (e *env) stockOf(t *testing.T, id string) int {
	t.Helper()
	return e.product(t, id).Stock
}

// productsWithStock returns n products that have at least min in stock.
func (e *env) productsWithStock(t *testing.T, n, min int) []api.Product {
	t.Helper()
	a, err := send(e.products, http.MethodGet, e.stack.Product.URL+"/v1/products?limit=100", e.admin, nil, nil)
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("list products: %v status %d: %s", err, a.status, a.body)
	}
	var out []api.Product
	for _, p := range testutil.MustJSON[api.ProductPage](t, a.body).Products {
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
func (e *env) reserve(t *testing.T, items []api.ReservationItem) string {
	t.Helper()
	id := ids.New(ids.OrderPrefix)
	a, err := send(e.products, http.MethodPost, e.stack.Product.URL+"/internal/v1/reservations", e.stack.ServiceToken,
		api.ReserveRequest{ReservationID: id, Items: items}, nil)
	if err != nil || a.status != http.StatusCreated {
		t.Fatalf("reserve %v: %v status %d: %s", items, err, a.status, a.body)
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
func seededOrders() []api.Order {
	return seed.Orders(testutil.SmallSeed, time.Now().UTC().Truncate(time.Hour))
}

// wantSameOrder checks the fields of an order other than created_at.
func wantSameOrder(t *testing.T, got, want api.Order) {
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
func itemsTotal(items []api.OrderItem) int64 {
	var sum int64
	for _, it := range items {
		sum += int64(it.Quantity) * it.UnitPriceCents
	}
	return sum
}
