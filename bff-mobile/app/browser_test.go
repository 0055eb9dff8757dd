package app_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/playground/browsertest"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

// TestPlaygroundInABrowser opens the development playground in headless
// Chromium: the headers editor holds the development API key, a query run
// with the page's own button shows the product service's product, the same
// query without the key is refused, the key is back after a reload, and
// every request the page makes stays on the BFF's own origin.
func TestPlaygroundInABrowser(t *testing.T) {
	env := startMobile(t, nil)
	id := seed.ProductID(0)
	product := rest[contract.Product](t, "", env.Stack.Product.URL+"/v1/products/"+id)

	p := browsertest.Open(t, env.URL+"/")

	// The app's documents are the tabs.
	tabs := p.Tabs()
	for _, name := range []string{"Home", "Login", "Product"} {
		if !slices.Contains(tabs, name) {
			t.Errorf("no %s tab; tabs: %v", name, tabs)
		}
	}

	// The key is in the headers editor, as JSON.
	var headers map[string]string
	if err := json.Unmarshal([]byte(p.Headers()), &headers); err != nil || headers[authn.APIKeyHeader] != apikey.DevKey {
		t.Fatalf("headers editor holds %q (%v), want %s: %s", p.Headers(), err, authn.APIKeyHeader, apikey.DevKey)
	}

	p.SetQuery(`{ product(id: "` + id + `") { name } }`)
	got := p.Run(product.Name)
	var answer struct {
		Data struct{ Product struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(got), &answer); err != nil || answer.Data.Product.Name != product.Name {
		t.Errorf("the result pane shows %s (%v), want the product %q", got, err, product.Name)
	}

	// The key the page sends is the one in the editor: without it, the
	// BFF refuses the request.
	p.SetHeaders(`{}`)
	if got := p.Run(authn.CodeInvalidAPIKey); strings.Contains(got, product.Name) {
		t.Errorf("answered without the key: %s", got)
	}

	// After a reload GraphiQL restores its tabs from the browser's storage
	// but, keeping tokens out of it, not their headers: the key comes back
	// as the page's default headers.
	p.WaitStored(id)
	p.Reload()
	if q := p.Query(); !strings.Contains(q, id) {
		t.Errorf("after a reload the tab holds %q, not the query it had", q)
	}
	if h := p.Headers(); !strings.Contains(h, apikey.DevKey) {
		t.Errorf("after a reload the headers editor holds %q", h)
	}
	p.Run(product.Name)

	reqs := p.CheckRequests()
	t.Logf("the page made %d requests, all to %s or data: URLs", len(reqs), env.URL)
}
