package productsvc_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
)

// TestCatalogue covers the public reads over one stack; none of them
// changes data, so the subtests run in parallel.
func TestCatalogue(t *testing.T) {
	e := newEnv(t)
	products := seeded()
	admin := e.stack.Token(t, "admin@example.com", "admin123")
	customer := e.stack.Token(t, "ada@example.com", "ada123")

	t.Run("get by id", func(t *testing.T) {
		t.Parallel()
		want := products[1]
		for _, token := range []string{"", customer} {
			got := get[contract.Product](t, e, "/v1/products/"+want.ID, token)
			if got.ID != want.ID || got.SKU != want.SKU || got.Name != want.Name ||
				got.Description != want.Description || got.Category != want.Category ||
				got.PriceCents != want.PriceCents || got.Currency != contract.Currency ||
				got.ImageURL != want.ImageURL || got.Stock != want.Stock || got.Featured != want.Featured {
				t.Errorf("got %+v, want %+v", got, want)
			}
			if got.CreatedAt.Location() != time.UTC || got.CreatedAt.IsZero() || got.CreatedAt.After(time.Now()) {
				t.Errorf("created_at %v, want a past UTC time", got.CreatedAt)
			}
		}
	})

	t.Run("get unknown and malformed ids", func(t *testing.T) {
		t.Parallel()
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/products/prd_doesnotexist", "", nil), 404, "not_found", "")
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/products/usr_abc", "", nil), 400, "invalid_argument", "id")
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/products/PRD_ABC", "", nil), 400, "invalid_argument", "id")
	})

	t.Run("an invalid token is refused even on public reads", func(t *testing.T) {
		t.Parallel()
		a := e.call(t, http.MethodGet, "/v1/products/"+products[0].ID, "not-a-jwt", nil)
		testutil.WantProblem(t, a, 401, "unauthenticated", "")
		if a.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	})

	t.Run("batch in the order asked with missing and repeats", func(t *testing.T) {
		t.Parallel()
		ids := []string{products[4].ID, "prd_unknown1", products[0].ID, products[4].ID, products[7].ID}
		got := get[contract.ProductBatch](t, e, "/v1/products?ids="+strings.Join(ids, ","), "")
		want := []string{products[4].ID, products[0].ID, products[7].ID}
		if !slices.Equal(productIDs(got.Products), want) {
			t.Errorf("products %v, want %v", productIDs(got.Products), want)
		}
		if !slices.Equal(got.Missing, []string{"prd_unknown1"}) {
			t.Errorf("missing %v, want [prd_unknown1]", got.Missing)
		}
		if got.Products[0].Name != products[4].Name {
			t.Errorf("first product %q, want %q", got.Products[0].Name, products[4].Name)
		}
	})

	t.Run("batch of only unknown ids", func(t *testing.T) {
		t.Parallel()
		got := get[contract.ProductBatch](t, e, "/v1/products?ids=prd_nope1,prd_nope2", "")
		if len(got.Products) != 0 || !slices.Equal(got.Missing, []string{"prd_nope1", "prd_nope2"}) {
			t.Errorf("got %+v, want no products and both missing", got)
		}
	})

	t.Run("search and category filters", func(t *testing.T) {
		t.Parallel()
		p := products[2]
		word := strings.Fields(p.Name)[1] // the noun, e.g. "Cookbook"
		tests := []struct {
			name, query string
			match       func(contract.Product) bool
		}{
			{"name, lower case", "search=" + url.QueryEscape(strings.ToLower(word)),
				func(q contract.Product) bool { return containsFold(q.Name, word) || containsFold(q.SKU, word) }},
			{"name, upper case", "search=" + url.QueryEscape(strings.ToUpper(p.Name)),
				func(q contract.Product) bool { return containsFold(q.Name, p.Name) }},
			{"sku, lower case", "search=" + strings.ToLower(p.SKU),
				func(q contract.Product) bool { return q.SKU == p.SKU }},
			{"sku prefix", "search=ele-",
				func(q contract.Product) bool { return strings.HasPrefix(q.SKU, "ELE-") }},
			{"no match", "search=zzzz-none", func(contract.Product) bool { return false }},
			{"category, other case", "category=bOoKs",
				func(q contract.Product) bool { return q.Category == "Books" }},
			{"category with a space and ampersand", "category=" + url.QueryEscape("home & kitchen"),
				func(q contract.Product) bool { return q.Category == "Home & Kitchen" }},
			{"category is exact, not a prefix", "category=Book", func(contract.Product) bool { return false }},
			{"search within a category", "category=Electronics&search=" + url.QueryEscape(strings.Fields(products[0].Name)[0]),
				func(q contract.Product) bool {
					return q.Category == "Electronics" && containsFold(q.Name, strings.Fields(products[0].Name)[0])
				}},
			{"empty filters list everything", "search=&category=", func(contract.Product) bool { return true }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var want []contract.Product
				for _, q := range products {
					if tc.match(q) {
						want = append(want, q)
					}
				}
				got := get[contract.ProductPage](t, e, "/v1/products?limit=100&"+tc.query, "")
				if !slices.Equal(productIDs(got.Products), sortedIDs(want)) {
					t.Errorf("ids %v, want %v", productIDs(got.Products), sortedIDs(want))
				}
				if got.TotalCount != len(want) || got.NextCursor != nil {
					t.Errorf("total_count %d, next_cursor %v: want %d and null", got.TotalCount, got.NextCursor, len(want))
				}
			})
		}
	})

	t.Run("wildcard characters match nothing in plain names", func(t *testing.T) {
		t.Parallel()
		for _, s := range []string{"%", "_", `\`, "%25", "a%e", "c_o"} {
			got := get[contract.ProductPage](t, e, "/v1/products?search="+url.QueryEscape(s), "")
			if got.TotalCount != 0 || len(got.Products) != 0 {
				t.Errorf("search %q matched %d products, want none", s, got.TotalCount)
			}
		}
	})

	t.Run("pagination walks every page once", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			query string
			limit int
			want  []string
		}{
			{"", 7, sortedIDs(products)},
			{"", 1, sortedIDs(products)},
			{"", 30, sortedIDs(products)},
			{"category=Toys", 2, sortedIDs(filter(products, func(p contract.Product) bool { return p.Category == "Toys" }))},
		} {
			var got []string
			cursor := ""
			pages := 0
			for {
				q := url.Values{"limit": {strconv.Itoa(tc.limit)}}
				if tc.query != "" {
					extra, _ := url.ParseQuery(tc.query)
					for k, v := range extra {
						q[k] = v
					}
				}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				page := get[contract.ProductPage](t, e, "/v1/products?"+q.Encode(), "")
				pages++
				if page.TotalCount != len(tc.want) {
					t.Fatalf("%s limit %d: total_count %d, want %d", tc.query, tc.limit, page.TotalCount, len(tc.want))
				}
				if len(page.Products) > tc.limit {
					t.Fatalf("page of %d products, limit %d", len(page.Products), tc.limit)
				}
				got = append(got, productIDs(page.Products)...)
				if page.NextCursor == nil {
					break
				}
				if pages > len(tc.want)+1 {
					t.Fatal("pagination does not end")
				}
				cursor = *page.NextCursor
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s limit %d: walked %v, want %v", tc.query, tc.limit, got, tc.want)
			}
			if wantPages := (len(tc.want) + tc.limit - 1) / tc.limit; pages != max(wantPages, 1) {
				t.Errorf("%s limit %d: %d pages, want %d", tc.query, tc.limit, pages, wantPages)
			}
		}
	})

	t.Run("default page size", func(t *testing.T) {
		t.Parallel()
		page := get[contract.ProductPage](t, e, "/v1/products", "")
		if len(page.Products) != 20 || page.NextCursor == nil || page.TotalCount != len(products) {
			t.Errorf("got %d products, next %v, total %d: want 20, a cursor, %d",
				len(page.Products), page.NextCursor, page.TotalCount, len(products))
		}
	})

	t.Run("featured", func(t *testing.T) {
		t.Parallel()
		featured := sortedIDs(filter(products, func(p contract.Product) bool { return p.Featured }))
		if len(featured) < 2 {
			t.Fatalf("the seed has %d featured products, want at least 2", len(featured))
		}
		got := get[contract.ProductList](t, e, "/v1/products/featured", "")
		if !slices.Equal(productIDs(got.Products), featured) {
			t.Errorf("featured %v, want %v", productIDs(got.Products), featured)
		}
		for _, p := range got.Products {
			if !p.Featured {
				t.Errorf("%s is listed as featured but is not", p.ID)
			}
		}
		got = get[contract.ProductList](t, e, "/v1/products/featured?limit=1", customer)
		if !slices.Equal(productIDs(got.Products), featured[:1]) {
			t.Errorf("featured?limit=1 %v, want %v", productIDs(got.Products), featured[:1])
		}
	})

	t.Run("count is for admins", func(t *testing.T) {
		t.Parallel()
		got := get[contract.Count](t, e, "/v1/products/count", admin)
		if got.Count != len(products) {
			t.Errorf("count %d, want %d", got.Count, len(products))
		}
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/products/count", customer, nil), 403, "forbidden", "")
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/products/count", "", nil), 401, "unauthenticated", "")
	})

	t.Run("bad input names the parameter", func(t *testing.T) {
		t.Parallel()
		many := make([]string, 101)
		for i := range many {
			many[i] = seed.ProductID(i)
		}
		tests := []struct{ name, path, param string }{
			{"limit zero", "/v1/products?limit=0", "limit"},
			{"limit not a number", "/v1/products?limit=abc", "limit"},
			{"limit too large", "/v1/products?limit=101", "limit"},
			{"cursor garbage", "/v1/products?cursor=garbage!", "cursor"},
			{"cursor of another kind", "/v1/products?cursor=" + contract.EncodeCursor(contract.Cursor{Key: "x"}), "cursor"},
			{"search too long", "/v1/products?search=" + strings.Repeat("a", 201), "search"},
			{"category too long", "/v1/products?category=" + strings.Repeat("a", 101), "category"},
			{"101 ids", "/v1/products?ids=" + strings.Join(many, ","), "ids"},
			{"empty ids", "/v1/products?ids=", "ids"},
			{"malformed id in ids", "/v1/products?ids=" + products[0].ID + ",usr_1", "ids"},
			{"ids with search", "/v1/products?ids=" + products[0].ID + "&search=a", "search"},
			{"ids with category", "/v1/products?ids=" + products[0].ID + "&category=Books", "category"},
			{"ids with limit", "/v1/products?ids=" + products[0].ID + "&limit=5", "limit"},
			{"ids with cursor", "/v1/products?cursor=x&ids=" + products[0].ID, "cursor"},
			{"featured limit zero", "/v1/products/featured?limit=0", "limit"},
			{"featured limit too large", "/v1/products/featured?limit=1000", "limit"},
			{"malformed product id", "/v1/products/prd_" + strings.Repeat("a", 33), "id"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				testutil.WantProblem(t, e.call(t, http.MethodGet, tc.path, "", nil), 400, "invalid_argument", tc.param)
			})
		}
	})

	t.Run("unknown routes and methods are problems", func(t *testing.T) {
		t.Parallel()
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/nothing-here", "", nil), 404, "not_found", "")
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/products/"+products[0].ID+"/extra", "", nil), 404, "not_found", "")
		a := e.call(t, http.MethodDelete, "/v1/products/"+products[0].ID, "", nil)
		testutil.WantProblem(t, a, 405, "method_not_allowed", "")
		if !strings.Contains(a.Header.Get("Allow"), "GET") {
			t.Errorf("Allow %q, want GET listed", a.Header.Get("Allow"))
		}
	})

	t.Run("operations endpoints", func(t *testing.T) {
		t.Parallel()
		for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
			got := get[map[string]string](t, e, path, "")
			if got["status"] != want {
				t.Errorf("%s status %q, want %q", path, got["status"], want)
			}
		}
		a := e.call(t, http.MethodGet, "/openapi.yaml", "", nil)
		if a.Status != 200 || !strings.HasPrefix(string(a.Body), "openapi: 3.0.3") {
			t.Errorf("/openapi.yaml: status %d, body %.40q", a.Status, a.Body)
		}
		// The stack's client checks answers; a document fetched from the
		// service must also be loadable by it.
		testutil.MustLoadSpec(t, a.Body)
	})
}

func filter(ps []contract.Product, keep func(contract.Product) bool) []contract.Product {
	var out []contract.Product
	for _, p := range ps {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
