package productsvc_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/api"
	"github.com/acme/bff-gateway/internal/httpapi"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/product/productsvc"
)

// env is a running stack and a client that checks every answer of the
// product service against its OpenAPI description.
type env struct {
	stack  *testutil.Stack
	client *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		stack:  testutil.StartStack(t, testutil.StackOptions{}),
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

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request to the product service. A non-nil body is sent as
// is when []byte or string, else as JSON.
func (e *env) call(t *testing.T, method, path, token string, body any) answer {
	t.Helper()
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
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.stack.Product.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer of %s %s: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// get sends a GET and decodes a 200 answer into T.
func get[T any](t *testing.T, e *env, path, token string) T {
	t.Helper()
	a := e.call(t, http.MethodGet, path, token, nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200: %s", path, a.status, a.body)
	}
	return testutil.MustJSON[T](t, a.body)
}

// wantProblem checks that a is a problem document with the status, code
// and (when not empty) param, and returns it.
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

// seeded returns the products the test stack seeds. Only created_at
// depends on the start time.
func seeded() []api.Product {
	return seed.Products(testutil.SmallSeed.Products, time.Now().UTC())
}

// sortedIDs returns the ids of products in listing order (name, then id).
func sortedIDs(products []api.Product) []string {
	ps := slices.Clone(products)
	slices.SortFunc(ps, func(a, b api.Product) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return productIDs(ps)
}

func productIDs(ps []api.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// stockOf reads a product's stock through the API.
func (e *env) stockOf(t *testing.T, id string) int {
	t.Helper()
	return get[api.Product](t, e, "/v1/products/"+id, "").Stock
}
