package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/playground/browsertest"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

// TestPlaygroundInABrowser opens the development playground in headless
// Chromium: it runs a query with the page's own button and shows the
// product service's names, signs in with the Login tab (the session cookie
// is set HttpOnly, out of the page's reach) and then runs as the user, and
// every request the page makes stays on the BFF's own origin.
func TestPlaygroundInABrowser(t *testing.T) {
	env := startWeb(t)
	featured := restGet[contract.ProductList](t, env.Stack.Product.URL+"/v1/products/featured?limit=2", "")
	if len(featured.Products) != 2 {
		t.Fatalf("the product service has %d featured products, want 2", len(featured.Products))
	}

	p := browsertest.Open(t, env.URL+"/")

	// The client's documents are the tabs, Login with the demo account.
	tabs := p.Tabs()
	for _, name := range []string{"Login", "Dashboard", "ProductSearch"} {
		if !slices.Contains(tabs, name) {
			t.Errorf("no %s tab; tabs: %v", name, tabs)
		}
	}

	// The explorer plugin lists the schema's root fields.
	p.Click(`.graphiql-sidebar button[aria-label="Show GraphiQL Explorer"]`)
	p.WaitText(".graphiql-plugin", "featuredProducts")

	// A query typed into the first tab and run with the run button.
	p.SetQuery(`{ featuredProducts(first: 2) { name } }`)
	got := p.Run(featured.Products[0].Name)
	for _, prod := range featured.Products {
		if !strings.Contains(got, prod.Name) {
			t.Errorf("the result pane lacks %q: %s", prod.Name, got)
		}
	}

	// Without a session the viewer is refused.
	p.SetQuery(`{ viewer { name email } }`)
	if got := p.Run("UNAUTHENTICATED"); strings.Contains(got, "Ada Lovelace") {
		t.Errorf("the viewer answered before signing in: %s", got)
	}

	// The Login tab as it opens: the mutation and the demo account.
	p.SelectTab("Login")
	if q := p.Query(); !strings.Contains(q, "mutation Login") {
		t.Fatalf("the Login tab holds %q", q)
	}
	got = p.Run("Ada Lovelace")
	var login struct {
		Data struct {
			Login struct {
				Viewer struct{ Name, Email string }
			}
		}
	}
	if err := json.Unmarshal([]byte(got), &login); err != nil || login.Data.Login.Viewer.Email != adaEmail {
		t.Errorf("login answered %s (%v)", got, err)
	}
	var session bool
	for _, c := range p.Cookies() {
		if c.Name == env.Config.Auth.SessionCookie {
			session = true
			if !c.HTTPOnly || c.SameSite != "Strict" {
				t.Errorf("session cookie HttpOnly=%v SameSite=%q", c.HTTPOnly, c.SameSite)
			}
		}
	}
	if !session {
		t.Fatalf("no %s cookie after the Login tab ran; cookies: %v", env.Config.Auth.SessionCookie, p.Cookies())
	}
	if doc := browsertest.Eval[string](p, `document.cookie`); strings.Contains(doc, env.Config.Auth.SessionCookie) {
		t.Errorf("the page's script can read the session cookie: %q", doc)
	}

	// Back in the first tab, the same query now runs as Ada.
	p.SelectTab("<untitled>")
	p.SetQuery(`{ viewer { name email } }`)
	got = p.Run("Ada Lovelace")
	if strings.Contains(got, "UNAUTHENTICATED") || !strings.Contains(got, adaEmail) {
		t.Errorf("the viewer query after signing in answered %s", got)
	}

	reqs := p.CheckRequests()
	t.Logf("the page made %d requests, all to %s or data: URLs", len(reqs), env.URL)
	// Every GraphQL request went as a JSON POST, which the CSRF check
	// lets through with the session cookie.
	var posts int
	for _, r := range reqs {
		if !strings.HasSuffix(r.URL, "/graphql") {
			continue
		}
		posts++
		if r.Method != http.MethodPost || r.ContentType != "application/json" {
			t.Errorf("%s %s with Content-Type %q, want a POST of application/json", r.Method, r.URL, r.ContentType)
		}
	}
	if posts < 5 {
		t.Errorf("%d requests to /graphql, want the introspection and four runs; requests: %v", posts, reqs)
	}
}

// TestPlaygroundAssetsAreServedByTheBFF: the page names only the BFF's own
// files, which come with their content types and a long cache lifetime,
// under the playground's policy; in production none of it is served.
func TestPlaygroundAssetsAreServedByTheBFF(t *testing.T) {
	env := startWeb(t)
	resp, err := http.Get(env.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	if strings.Contains(page, "https://") || strings.Contains(page, "http://") {
		t.Errorf("the page names another origin:\n%s", page)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("page policy %q", csp)
	}
	var assets []string
	for _, kind := range []struct{ attr, ext, contentType string }{
		{`<script type="module" src="`, ".js", "text/javascript; charset=utf-8"},
		{`<link rel="stylesheet" href="`, ".css", "text/css; charset=utf-8"},
	} {
		_, rest, ok := strings.Cut(page, kind.attr)
		if !ok {
			t.Fatalf("the page has no %s", kind.attr)
		}
		path, _, _ := strings.Cut(rest, `"`)
		if !strings.HasPrefix(path, "/playground/assets/") || !strings.HasSuffix(path, kind.ext) {
			t.Errorf("asset %q", path)
			continue
		}
		r, err := http.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != kind.contentType ||
			!strings.Contains(r.Header.Get("Cache-Control"), "immutable") || r.Header.Get("Content-Security-Policy") != csp {
			t.Errorf("GET %s: %d, headers %v", path, r.StatusCode, r.Header)
		}
		assets = append(assets, path)
	}

	// In production there is no playground: neither the page nor its
	// files.
	prod := startWebWith(t, seed.Sizes{}, func(c *config.Config) { c.Env = "production" })
	for _, path := range append([]string{"/"}, assets...) {
		r, err := http.Get(prod.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("production: GET %s answered %d, want 404", path, r.StatusCode)
		}
	}
}
