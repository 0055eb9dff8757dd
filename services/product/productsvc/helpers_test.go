package productsvc_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/product/productsvc"
	"github.com/acme/bff-gateway/services/servicetest"
)

// env is a running stack and a client that checks every answer of the
// product service against its OpenAPI description.
type env struct {
	stack  *servicetest.Stack
	client *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		stack:  servicetest.StartStack(t, servicetest.StackOptions{}),
		client: testutil.NewClient(t, productsvc.OpenAPI),
	}
	// Runs before the stack stops: a connection the client dialled but
	// never used is new to the server, and Shutdown waits 5 s for it.
	t.Cleanup(closeIdleConnections)
	return e
}

// closeIdleConnections closes the idle connections of the default
// transport, which the checking client sends through.
func closeIdleConnections() {
	if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
}

// call sends a request to the product service. A non-nil body is sent as
// is when []byte or string, else as JSON.
func (e *env) call(t *testing.T, method, path, token string, body any) testutil.Answer {
	t.Helper()
	return testutil.Call(t, e.client, method, e.stack.Product.URL+path, token, body, nil)
}

// get sends a GET and decodes a 200 answer into T.
func get[T any](t *testing.T, e *env, path, token string) T {
	t.Helper()
	a := e.call(t, http.MethodGet, path, token, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200: %s", path, a.Status, a.Body)
	}
	return testutil.MustJSON[T](t, a.Body)
}

// seeded returns the products the test stack seeds. Only created_at
// depends on the start time.
func seeded() []contract.Product {
	return seed.Products(servicetest.SmallSeed.Products, time.Now().UTC())
}

// sortedIDs returns the ids of products in listing order (name, then id).
func sortedIDs(products []contract.Product) []string {
	ps := slices.Clone(products)
	slices.SortFunc(ps, func(a, b contract.Product) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return productIDs(ps)
}

func productIDs(ps []contract.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// stockOf reads a product's stock through the API.
func (e *env) stockOf(t *testing.T, id string) int {
	t.Helper()
	return get[contract.Product](t, e, "/v1/products/"+id, "").Stock
}
