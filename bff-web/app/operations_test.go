package app_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/acme/bff-gateway/bff-web/graph"
	"github.com/acme/bff-gateway/bff-web/graph/generated"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

// TestOperationsValidate checks that every document of the web client, with
// the fragments it uses, validates against the executable schema, and
// that every .graphql file of operations/ is covered.
func TestOperationsValidate(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{Resolvers: &graph.Resolver{}}).Schema()
	ops := bfftest.LoadOperations(t, "../operations")

	files, err := filepath.Glob("../operations/*.graphql")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	usedFragments := map[string]bool{}
	var names []string
	for name := range ops.Docs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		doc, err := ops.Document(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		q, errs := gqlparser.LoadQueryWithRules(schema, doc, rules.NewDefaultRules())
		if len(errs) > 0 {
			t.Errorf("%s does not validate: %v\n%s", name, errs, doc)
			continue
		}
		covered[name+".graphql"] = true
		if len(q.Operations) != 1 {
			t.Errorf("%s has %d operations, want 1", name, len(q.Operations))
			continue
		}
		o := q.Operations[0]
		if o.Name != name {
			t.Errorf("%s.graphql's operation is named %q", name, o.Name)
		}
		wantKind := ast.Query
		if slices.Contains([]string{"Login", "Logout", "PlaceOrder", "CancelOrder"}, name) {
			wantKind = ast.Mutation
		}
		if o.Operation != wantKind {
			t.Errorf("%s is a %s, want a %s", name, o.Operation, wantKind)
		}
		for _, f := range q.Fragments {
			usedFragments[f.Name] = true
		}
	}

	// fragments.graphql: every fragment in it validates and is used.
	src, err := os.ReadFile("../operations/fragments.graphql")
	if err != nil {
		t.Fatal(err)
	}
	frags, perr := gqlparser.LoadQueryWithRules(schema, string(src)+"\nquery UsesAll { featuredProducts { ...ProductCard } order(id: \"x\") { ...OrderSummary } }", rules.NewDefaultRules())
	if perr != nil {
		// A fragment never used does not validate on its own; report the
		// parse/type errors only.
		t.Errorf("fragments.graphql does not validate: %v", perr)
	} else {
		for _, f := range frags.Fragments {
			if !usedFragments[f.Name] {
				t.Errorf("fragment %s is used by no document", f.Name)
			}
		}
		covered["fragments.graphql"] = true
	}

	for _, f := range files {
		base := filepath.Base(f)
		if !covered[base] {
			t.Errorf("%s is not covered by a validated document", base)
		}
	}
	if len(files) != len(ops.Docs)+1 {
		t.Errorf("%d .graphql files, %d documents + fragments", len(files), len(ops.Docs))
	}
	for _, want := range []string{"AdminOverview", "CancelOrder", "Dashboard", "Login", "Logout", "OrderDetail", "PlaceOrder", "ProductSearch"} {
		if _, ok := ops.Docs[want]; !ok {
			t.Errorf("operations/ lacks %s.graphql", want)
		}
	}

	// The copy in operations/ is the client's contract, byte for byte.
	shared, _ := filepath.Glob("../../../shared/clients/web/*.graphql")
	for _, f := range shared {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join("../operations", filepath.Base(f)))
		if err != nil || string(got) != string(want) {
			t.Errorf("operations/%s differs from the client's %s", filepath.Base(f), f)
		}
	}
}

// dashboardData is the Dashboard document's answer.
type dashboardData struct {
	Viewer           *gqlUser     `json:"viewer"`
	FeaturedProducts []gqlProduct `json:"featuredProducts"`
}

const viewerOrdersDoc = `query ViewerOrders($first: Int, $after: String) {
  viewer { orders(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status placedAt itemCount total { cents currency formatted }
      items { quantity unitPrice { cents currency formatted } product { id name imageUrl } } } }
  } }
}`

func TestDashboard(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	adaToken := env.Stack.Token(t, adaEmail, adaPassword)
	adminToken := env.Stack.Token(t, adminEmail, adminPassword)
	featured := restGet[contract.ProductList](t, env.Stack.Product.URL+"/v1/products/featured?limit=4", "").Products
	if len(featured) != 4 {
		t.Fatalf("the product service has %d featured products, want 4", len(featured))
	}
	wantFeatured := func(t *testing.T, got []gqlProduct) {
		t.Helper()
		if len(got) != len(featured) {
			t.Fatalf("%d featured products, want %d", len(got), len(featured))
		}
		for i, p := range got {
			wantProduct(t, p, featured[i])
		}
	}

	t.Run("ada", func(t *testing.T) {
		t.Parallel()
		c := login(t, env, adaEmail, adaPassword)
		r := c.Op(t, "Dashboard", map[string]any{"orders": 5, "featured": 4})
		wantOK(t, r)
		got := bfftest.Decode[dashboardData](t, r)
		v := got.Viewer
		if v == nil {
			t.Fatalf("viewer is null: %s", r.Raw)
		}
		ada := restUser(t, env, adminToken, seed.UserID(1))
		if v.ID != ada.ID || v.Name != ada.Name || v.Email != ada.Email || v.Role != "CUSTOMER" || v.AvatarURL != ada.AvatarURL || v.AvatarURL == "" {
			t.Errorf("viewer %+v, want %+v as CUSTOMER", *v, ada)
		}

		page := restOrders(t, env, adaToken, 5, "")
		if page.TotalCount < seed.OrdersPerFixedCustomer {
			t.Fatalf("Ada has %d orders at the order service, want at least %d", page.TotalCount, seed.OrdersPerFixedCustomer)
		}
		conn := v.Orders
		if conn == nil {
			t.Fatal("viewer.orders is null")
		}
		if conn.TotalCount != page.TotalCount {
			t.Errorf("totalCount %d, want %d", conn.TotalCount, page.TotalCount)
		}
		if len(conn.Edges) != 5 || len(page.Orders) != 5 {
			t.Fatalf("%d edges (service: %d), want 5", len(conn.Edges), len(page.Orders))
		}
		products := restProducts(t, env, productIDsOf(page.Orders...))
		for i, e := range conn.Edges {
			wantOrder(t, e.Node, page.Orders[i], products)
			if e.Cursor == "" {
				t.Errorf("edge %d has no cursor", i)
			}
			if i > 0 && e.Node.PlacedAt > conn.Edges[i-1].Node.PlacedAt {
				t.Errorf("edge %d (%s) is newer than edge %d", i, e.Node.PlacedAt, i-1)
			}
		}
		if !conn.PageInfo.HasNextPage {
			t.Error("hasNextPage is false with more orders")
		}
		last := conn.Edges[len(conn.Edges)-1].Cursor
		if conn.PageInfo.EndCursor == nil || *conn.PageInfo.EndCursor != last {
			t.Errorf("endCursor %v, want the last edge's cursor %q", conn.PageInfo.EndCursor, last)
		}
		wantFeatured(t, got.FeaturedProducts)

		// The next page, after endCursor: the next five, no overlap.
		next := c.Query(t, viewerOrdersDoc, map[string]any{"first": 5, "after": last})
		wantOK(t, next)
		nconn := bfftest.Decode[struct{ Viewer gqlUser }](t, next).Viewer.Orders
		if nconn == nil {
			t.Fatal("viewer.orders is null on page 2")
		}
		npage := restOrders(t, env, adaToken, 5, *page.NextCursor)
		if len(nconn.Edges) != len(npage.Orders) || len(nconn.Edges) != min(5, page.TotalCount-5) {
			t.Fatalf("page 2 has %d edges, the service %d, want %d", len(nconn.Edges), len(npage.Orders), min(5, page.TotalCount-5))
		}
		if nconn.TotalCount != page.TotalCount {
			t.Errorf("page 2 totalCount %d, want %d", nconn.TotalCount, page.TotalCount)
		}
		seen := map[string]bool{}
		for _, e := range conn.Edges {
			seen[e.Node.ID] = true
		}
		nproducts := restProducts(t, env, productIDsOf(npage.Orders...))
		for i, e := range nconn.Edges {
			if seen[e.Node.ID] {
				t.Errorf("order %s is on both pages", e.Node.ID)
			}
			wantOrder(t, e.Node, npage.Orders[i], nproducts)
		}
		if nconn.PageInfo.HasNextPage != (page.TotalCount > 10) {
			t.Errorf("page 2 hasNextPage %v with %d orders", nconn.PageInfo.HasNextPage, page.TotalCount)
		}

		// Walking every page gives each order once, as many as totalCount.
		all := map[string]bool{}
		after := ""
		for pages := 0; ; pages++ {
			if pages > page.TotalCount {
				t.Fatal("the pages do not end")
			}
			vars := map[string]any{"first": 4}
			if after != "" {
				vars["after"] = after
			}
			r := c.Query(t, viewerOrdersDoc, vars)
			wantOK(t, r)
			pc := bfftest.Decode[struct{ Viewer gqlUser }](t, r).Viewer.Orders
			for _, e := range pc.Edges {
				if all[e.Node.ID] {
					t.Fatalf("order %s repeats", e.Node.ID)
				}
				all[e.Node.ID] = true
			}
			if !pc.PageInfo.HasNextPage {
				break
			}
			after = *pc.PageInfo.EndCursor
		}
		if len(all) != page.TotalCount {
			t.Errorf("walked %d orders, want %d", len(all), page.TotalCount)
		}

		// Bad page sizes are the caller's fault.
		for _, n := range []int{0, 101} {
			r := c.Query(t, viewerOrdersDoc, map[string]any{"first": n})
			wantError(t, r, "viewer.orders", "BAD_USER_INPUT")
		}
		bad := c.Query(t, viewerOrdersDoc, map[string]any{"first": 5, "after": "not a cursor"})
		wantError(t, bad, "viewer.orders", "BAD_USER_INPUT")
	})

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		c := login(t, env, graceEmail, gracePassword)
		r := c.Op(t, "Dashboard", nil)
		wantOK(t, r)
		got := bfftest.Decode[dashboardData](t, r)
		if got.Viewer == nil || got.Viewer.ID != seed.UserID(2) || got.Viewer.Orders == nil || len(got.Viewer.Orders.Edges) != 5 {
			t.Fatalf("Grace's dashboard with the default variables: %s", r.Raw)
		}
		wantFeatured(t, got.FeaturedProducts)
	})

	t.Run("admin", func(t *testing.T) {
		t.Parallel()
		c := login(t, env, adminEmail, adminPassword)
		r := c.Op(t, "Dashboard", map[string]any{"orders": 5, "featured": 4})
		wantOK(t, r)
		got := bfftest.Decode[dashboardData](t, r)
		admin := restUser(t, env, adminToken, seed.UserID(0))
		v := got.Viewer
		if v == nil || v.ID != admin.ID || v.Role != "ADMIN" || v.Email != adminEmail || v.Name != admin.Name {
			t.Fatalf("viewer %+v, want the admin", v)
		}
		// The admin's own orders, not everyone's.
		own := restGet[contract.OrderPage](t, env.Stack.Order.URL+"/v1/orders?limit=5&user_id="+admin.ID, adminToken)
		if v.Orders == nil || v.Orders.TotalCount != own.TotalCount || len(v.Orders.Edges) != len(own.Orders) {
			t.Errorf("the admin's orders %+v, want %d of %d", v.Orders, len(own.Orders), own.TotalCount)
		}
		if own.TotalCount == 0 && (v.Orders.PageInfo.HasNextPage || v.Orders.PageInfo.EndCursor != nil) {
			t.Errorf("an empty connection's pageInfo is %+v", v.Orders.PageInfo)
		}
		wantFeatured(t, got.FeaturedProducts)
	})

	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		c := env.NewClient()
		r := c.Op(t, "Dashboard", map[string]any{"orders": 5, "featured": 4})
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200", r.Status)
		}
		got := bfftest.Decode[dashboardData](t, r)
		if got.Viewer != nil {
			t.Errorf("viewer %+v, want null", got.Viewer)
		}
		wantError(t, r, "viewer", "UNAUTHENTICATED")
		wantOnlyErrors(t, r, "UNAUTHENTICATED")
		if len(r.Errors) != 1 {
			t.Errorf("%d errors, want 1: %+v", len(r.Errors), r.Errors)
		}
		wantFeatured(t, got.FeaturedProducts)
	})
}

// productSearchData is the ProductSearch document's answer.
type productSearchData struct {
	Products *gqlProductConnection `json:"products"`
}

func TestProductSearch(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	catalogue := restCatalogue(t, env)
	byID := map[string]contract.Product{}
	for _, p := range catalogue {
		byID[p.ID] = p
	}
	c := env.NewClient() // anonymous: the catalogue is public

	search := func(t *testing.T, vars map[string]any) *gqlProductConnection {
		t.Helper()
		r := c.Op(t, "ProductSearch", vars)
		wantOK(t, r)
		got := bfftest.Decode[productSearchData](t, r).Products
		if got == nil {
			t.Fatalf("products is null: %s", r.Raw)
		}
		for _, e := range got.Edges {
			p, ok := byID[e.Node.ID]
			if !ok {
				t.Fatalf("product %s is not in the catalogue", e.Node.ID)
			}
			if e.Node.Description == nil || *e.Node.Description == "" {
				t.Errorf("product %s has no description", e.Node.ID)
			}
			wantProduct(t, e.Node, p)
		}
		return got
	}

	t.Run("search", func(t *testing.T) {
		t.Parallel()
		// A word of the first product's name, in another case.
		words := strings.Fields(catalogue[0].Name)
		word := words[len(words)-1]
		q := strings.ToUpper(word[:1]) + strings.ToLower(word[1:])
		q = strings.Map(func(r rune) rune { // swap the case of each letter
			switch {
			case 'a' <= r && r <= 'z':
				return r - 'a' + 'A'
			case 'A' <= r && r <= 'Z':
				return r - 'A' + 'a'
			}
			return r
		}, q)
		var want []string
		for _, p := range catalogue {
			if strings.Contains(strings.ToLower(p.Name), strings.ToLower(word)) || strings.Contains(strings.ToLower(p.SKU), strings.ToLower(word)) {
				want = append(want, p.ID)
			}
		}
		got := search(t, map[string]any{"query": q, "first": 100})
		var ids []string
		for _, e := range got.Edges {
			ids = append(ids, e.Node.ID)
		}
		if !slices.Equal(ids, want) || got.TotalCount != len(want) || len(want) == 0 {
			t.Errorf("search %q: %v (total %d), want %v", q, ids, got.TotalCount, want)
		}
		if got.PageInfo.HasNextPage {
			t.Error("hasNextPage with every match on the page")
		}

		// By SKU too, in lower case.
		sku := strings.ToLower(catalogue[1].SKU)
		bySKU := search(t, map[string]any{"query": sku})
		if bySKU.TotalCount != 1 || len(bySKU.Edges) != 1 || bySKU.Edges[0].Node.ID != catalogue[1].ID {
			t.Errorf("search by sku %q: %+v, want %s", sku, bySKU, catalogue[1].ID)
		}

		none := search(t, map[string]any{"query": "zzzz-no-such-product"})
		if none.TotalCount != 0 || len(none.Edges) != 0 || none.PageInfo.HasNextPage || none.PageInfo.EndCursor != nil {
			t.Errorf("a search without matches: %+v", none)
		}
	})

	t.Run("category", func(t *testing.T) {
		t.Parallel()
		cat := seed.Categories()[1]
		var want []string
		for _, p := range catalogue {
			if p.Category == cat {
				want = append(want, p.ID)
			}
		}
		got := search(t, map[string]any{"category": cat, "first": 100})
		var ids []string
		for _, e := range got.Edges {
			ids = append(ids, e.Node.ID)
			if e.Node.Category != cat {
				t.Errorf("product %s is in %q, want %q", e.Node.ID, e.Node.Category, cat)
			}
		}
		if !slices.Equal(ids, want) || got.TotalCount != len(want) || len(want) == 0 {
			t.Errorf("category %q: %v (total %d), want %v", cat, ids, got.TotalCount, want)
		}
		rest := restGet[contract.ProductPage](t, env.Stack.Product.URL+"/v1/products?limit=1&category="+url.QueryEscape(cat), "")
		if got.TotalCount != rest.TotalCount {
			t.Errorf("totalCount %d, the product service %d", got.TotalCount, rest.TotalCount)
		}
	})

	t.Run("pages", func(t *testing.T) {
		t.Parallel()
		var ids []string
		seen := map[string]bool{}
		after := ""
		total := -1
		for pages := 0; ; pages++ {
			if pages > len(catalogue) {
				t.Fatal("the pages do not end")
			}
			vars := map[string]any{"first": 7}
			if after != "" {
				vars["after"] = after
			}
			got := search(t, vars)
			if total == -1 {
				total = got.TotalCount
			} else if got.TotalCount != total {
				t.Errorf("totalCount changed from %d to %d", total, got.TotalCount)
			}
			if len(got.Edges) == 0 || len(got.Edges) > 7 {
				t.Fatalf("page %d has %d edges", pages, len(got.Edges))
			}
			for _, e := range got.Edges {
				if seen[e.Node.ID] {
					t.Errorf("product %s repeats", e.Node.ID)
				}
				seen[e.Node.ID] = true
				ids = append(ids, e.Node.ID)
			}
			if got.PageInfo.EndCursor == nil || *got.PageInfo.EndCursor != got.Edges[len(got.Edges)-1].Cursor {
				t.Errorf("endCursor %v is not the last edge's cursor", got.PageInfo.EndCursor)
			}
			if !got.PageInfo.HasNextPage {
				if len(got.Edges) == 7 && len(ids) < total {
					t.Error("hasNextPage is false before the end")
				}
				break
			}
			if len(got.Edges) != 7 {
				t.Errorf("a page before the last has %d edges, want 7", len(got.Edges))
			}
			after = *got.PageInfo.EndCursor
		}
		if len(ids) != total || total != len(catalogue) {
			t.Errorf("walked %d products, totalCount %d, catalogue %d", len(ids), total, len(catalogue))
		}
		var want []string
		for _, p := range catalogue {
			want = append(want, p.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("the pages skip or reorder products:\n got %v\nwant %v", ids, want)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		for _, vars := range []map[string]any{
			{"first": 101},
			{"first": 0},
			{"first": -1},
			{"first": 5, "after": "not a cursor"},
			{"query": strings.Repeat("a", 201)},
		} {
			r := c.Op(t, "ProductSearch", vars)
			if r.Status != http.StatusOK {
				t.Errorf("%v: status %d, want 200", vars, r.Status)
			}
			if got := bfftest.Decode[productSearchData](t, r); got.Products != nil {
				t.Errorf("%v: products %+v, want null", vars, got.Products)
			}
			wantError(t, r, "products", "BAD_USER_INPUT")
		}
	})

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		got := search(t, nil)
		if len(got.Edges) != 20 || got.TotalCount != len(catalogue) || !got.PageInfo.HasNextPage {
			t.Errorf("the default page: %d edges of %d, hasNextPage %v", len(got.Edges), got.TotalCount, got.PageInfo.HasNextPage)
		}
	})
}

// orderDetailData is the OrderDetail document's answer.
type orderDetailData struct {
	Order *gqlOrder `json:"order"`
}

func TestOrderDetail(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	adaToken := env.Stack.Token(t, adaEmail, adaPassword)
	graceToken := env.Stack.Token(t, graceEmail, gracePassword)
	adminToken := env.Stack.Token(t, adminEmail, adminPassword)
	ada := restUser(t, env, adminToken, seed.UserID(1))
	grace := restUser(t, env, adminToken, seed.UserID(2))
	adaOrder := restOrders(t, env, adaToken, 1, "").Orders[0]
	graceOrder := restOrders(t, env, graceToken, 1, "").Orders[0]
	if adaOrder.UserID != ada.ID || graceOrder.UserID != grace.ID {
		t.Fatalf("the service's orders belong to %s and %s", adaOrder.UserID, graceOrder.UserID)
	}
	products := restProducts(t, env, productIDsOf(adaOrder, graceOrder))
	adaClient := login(t, env, adaEmail, adaPassword)
	adminClient := login(t, env, adminEmail, adminPassword)

	detail := func(t *testing.T, c *bfftest.Client, id string) (bfftest.Response, *gqlOrder) {
		t.Helper()
		r := c.Op(t, "OrderDetail", map[string]any{"id": id})
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200", r.Status)
		}
		return r, bfftest.Decode[orderDetailData](t, r).Order
	}
	wantCustomer := func(t *testing.T, o *gqlOrder, u contract.User) {
		t.Helper()
		if o.Customer == nil || o.Customer.ID != u.ID || o.Customer.Name != u.Name || o.Customer.Email != u.Email {
			t.Errorf("customer %+v, want %s %q %s", o.Customer, u.ID, u.Name, u.Email)
		}
	}
	wantNotFound := func(t *testing.T, r bfftest.Response, o *gqlOrder) {
		t.Helper()
		if o != nil {
			t.Errorf("order %+v, want null", o)
		}
		wantError(t, r, "order", "NOT_FOUND")
		wantOnlyErrors(t, r, "NOT_FOUND")
	}

	t.Run("own order", func(t *testing.T) {
		t.Parallel()
		r, o := detail(t, adaClient, adaOrder.ID)
		wantOK(t, r)
		if o == nil {
			t.Fatal("order is null")
		}
		wantOrder(t, *o, adaOrder, products)
		wantCustomer(t, o, ada)
	})

	t.Run("someone else's", func(t *testing.T) {
		t.Parallel()
		r, o := detail(t, adaClient, graceOrder.ID)
		wantNotFound(t, r, o)
		// Indistinguishable from an order that does not exist.
		r2, o2 := detail(t, adaClient, "ord_doesnotexist0000")
		wantNotFound(t, r2, o2)
		e1, _ := r.ErrorAt("order")
		e2, _ := r2.ErrorAt("order")
		if e1.Message != e2.Message {
			t.Errorf("someone else's order says %q, a missing one %q", e1.Message, e2.Message)
		}
	})

	t.Run("admin", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			order contract.Order
			user  contract.User
		}{{graceOrder, grace}, {adaOrder, ada}} {
			r, o := detail(t, adminClient, tc.order.ID)
			wantOK(t, r)
			if o == nil {
				t.Fatal("order is null")
			}
			wantOrder(t, *o, tc.order, products)
			wantCustomer(t, o, tc.user)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		r, o := detail(t, env.NewClient(), adaOrder.ID)
		if o != nil {
			t.Errorf("order %+v, want null", o)
		}
		wantError(t, r, "order", "UNAUTHENTICATED")
		wantOnlyErrors(t, r, "UNAUTHENTICATED")
	})

	t.Run("malformed id", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"not-an-order", "", "ord_", "ord_UPPER", "usr_" + seed.UserID(1)[4:], "../v1/orders/" + adaOrder.ID} {
			r, o := detail(t, adaClient, id)
			wantNotFound(t, r, o)
		}
	})
}

// adminOverviewData is the AdminOverview document's answer.
type adminOverviewData struct {
	Stats *struct {
		UserCount      *int      `json:"userCount"`
		ProductCount   *int      `json:"productCount"`
		OrderCount     *int      `json:"orderCount"`
		Revenue        *gqlMoney `json:"revenue"`
		OrdersByStatus []struct {
			Status string `json:"status"`
			Count  int    `json:"count"`
		} `json:"ordersByStatus"`
	} `json:"stats"`
	RecentOrders []gqlOrder `json:"recentOrders"`
}

func TestAdminOverview(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	adminToken := env.Stack.Token(t, adminEmail, adminPassword)

	t.Run("admin", func(t *testing.T) {
		t.Parallel()
		c := login(t, env, adminEmail, adminPassword)
		r := c.Op(t, "AdminOverview", map[string]any{"recent": 10})
		wantOK(t, r)
		got := bfftest.Decode[adminOverviewData](t, r)

		users := restGet[contract.Count](t, env.Stack.User.URL+"/v1/users/count", adminToken)
		products := restGet[contract.Count](t, env.Stack.Product.URL+"/v1/products/count", adminToken)
		stats := restGet[contract.OrderStats](t, env.Stack.Order.URL+"/v1/orders/stats", adminToken)
		s := got.Stats
		if s == nil {
			t.Fatal("stats is null")
		}
		if s.UserCount == nil || *s.UserCount != users.Count || users.Count != testSeed.Users {
			t.Errorf("userCount %v, want %d", s.UserCount, users.Count)
		}
		if s.ProductCount == nil || *s.ProductCount != products.Count || products.Count != testSeed.Products {
			t.Errorf("productCount %v, want %d", s.ProductCount, products.Count)
		}
		if s.OrderCount == nil || *s.OrderCount != stats.Count || stats.Count != testSeed.Orders {
			t.Errorf("orderCount %v, want %d", s.OrderCount, stats.Count)
		}
		if s.Revenue == nil {
			t.Error("revenue is null")
		} else {
			wantMoney(t, "revenue", *s.Revenue, stats.RevenueCents)
		}
		if len(s.OrdersByStatus) != len(contract.OrderStatuses) {
			t.Errorf("ordersByStatus has %d entries, want %d", len(s.OrdersByStatus), len(contract.OrderStatuses))
		}
		sum := 0
		for i, sc := range s.OrdersByStatus {
			if i < len(contract.OrderStatuses) && sc.Status != strings.ToUpper(contract.OrderStatuses[i]) {
				t.Errorf("ordersByStatus[%d] is %s, want %s", i, sc.Status, strings.ToUpper(contract.OrderStatuses[i]))
			}
			if want := stats.ByStatus[strings.ToLower(sc.Status)]; sc.Count != want {
				t.Errorf("ordersByStatus %s = %d, want %d", sc.Status, sc.Count, want)
			}
			sum += sc.Count
		}
		if sum != stats.Count {
			t.Errorf("ordersByStatus sums to %d, want %d", sum, stats.Count)
		}

		recent := restGet[contract.OrderList](t, env.Stack.Order.URL+"/v1/orders/recent?limit=10", adminToken).Orders
		if len(got.RecentOrders) != 10 || len(recent) != 10 {
			t.Fatalf("%d recent orders (service: %d), want 10", len(got.RecentOrders), len(recent))
		}
		prods := restProducts(t, env, productIDsOf(recent...))
		customers := map[string]contract.User{}
		for i, o := range got.RecentOrders {
			wantOrder(t, o, recent[i], prods)
			u, ok := customers[recent[i].UserID]
			if !ok {
				u = restUser(t, env, adminToken, recent[i].UserID)
				customers[u.ID] = u
			}
			if o.Customer == nil || o.Customer.ID != u.ID || o.Customer.Name != u.Name || o.Customer.Email != u.Email {
				t.Errorf("order %s customer %+v, want %s %q %s", o.ID, o.Customer, u.ID, u.Name, u.Email)
			}
		}
		if len(customers) < 2 {
			t.Logf("the recent orders have only %d customer(s)", len(customers))
		}

		def := c.Op(t, "AdminOverview", nil)
		wantOK(t, def)
		if n := len(bfftest.Decode[adminOverviewData](t, def).RecentOrders); n != 20 {
			t.Errorf("recentOrders with the default variables: %d, want 20", n)
		}
	})

	t.Run("customer", func(t *testing.T) {
		t.Parallel()
		c := login(t, env, adaEmail, adaPassword)
		r := c.Op(t, "AdminOverview", map[string]any{"recent": 10})
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200", r.Status)
		}
		got := bfftest.Decode[adminOverviewData](t, r)
		if got.Stats != nil || got.RecentOrders != nil {
			t.Errorf("a customer sees stats %+v, recentOrders %+v", got.Stats, got.RecentOrders)
		}
		wantError(t, r, "stats", "FORBIDDEN")
		wantError(t, r, "recentOrders", "FORBIDDEN")
		wantOnlyErrors(t, r, "FORBIDDEN")
		if len(r.Errors) != 2 {
			t.Errorf("%d errors, want 2: %+v", len(r.Errors), r.Errors)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		r := env.NewClient().Op(t, "AdminOverview", map[string]any{"recent": 10})
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200", r.Status)
		}
		got := bfftest.Decode[adminOverviewData](t, r)
		if got.Stats != nil || got.RecentOrders != nil {
			t.Errorf("anonymous sees stats %+v, recentOrders %+v", got.Stats, got.RecentOrders)
		}
		wantError(t, r, "stats", "UNAUTHENTICATED")
		wantError(t, r, "recentOrders", "UNAUTHENTICATED")
		wantOnlyErrors(t, r, "UNAUTHENTICATED")
	})

	t.Run("bad recent", func(t *testing.T) {
		t.Parallel()
		c := login(t, env, adminEmail, adminPassword)
		for _, n := range []int{101, 0} {
			r := c.Op(t, "AdminOverview", map[string]any{"recent": n})
			if got := bfftest.Decode[adminOverviewData](t, r); got.RecentOrders != nil {
				t.Errorf("recent %d: recentOrders has %d orders, want null", n, len(got.RecentOrders))
			}
			wantError(t, r, "recentOrders", "BAD_USER_INPUT")
			wantOnlyErrors(t, r, "BAD_USER_INPUT")
			if got := bfftest.Decode[adminOverviewData](t, r); got.Stats == nil || got.Stats.UserCount == nil {
				t.Errorf("recent %d: stats %+v, want them still answered", n, got.Stats)
			}
		}
	})
}

// TestGet checks GraphQL over GET: queries work, mutations are refused
// without being executed.
func TestGet(t *testing.T) {
	t.Parallel()
	env := startWeb(t)

	get := func(t *testing.T, c *bfftest.Client, q string) bfftest.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, env.URL+"/graphql?query="+url.QueryEscape(q), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Do(t, req)
	}

	t.Run("query", func(t *testing.T) {
		t.Parallel()
		r := get(t, env.NewClient(), "{featuredProducts{id}}")
		wantOK(t, r)
		got := bfftest.Decode[struct {
			FeaturedProducts []struct{ ID string } `json:"featuredProducts"`
		}](t, r)
		want := restGet[contract.ProductList](t, env.Stack.Product.URL+"/v1/products/featured?limit=4", "").Products
		if len(got.FeaturedProducts) != len(want) {
			t.Fatalf("%d featured products, want %d", len(got.FeaturedProducts), len(want))
		}
		for i, p := range got.FeaturedProducts {
			if p.ID != want[i].ID {
				t.Errorf("featured %d is %s, want %s", i, p.ID, want[i].ID)
			}
		}
	})

	t.Run("mutation refused", func(t *testing.T) {
		t.Parallel()
		c := login(t, env, adaEmail, adaPassword)
		adaToken := env.Stack.Token(t, adaEmail, adaPassword)
		var target contract.Product
		for _, p := range restCatalogue(t, env) {
			if p.Stock > 1 {
				target = p
				break
			}
		}
		before := restOrders(t, env, adaToken, 1, "").TotalCount

		r := get(t, c, `mutation { placeOrder(input: {items: [{productId: "`+target.ID+`", quantity: 1}], idempotencyKey: "get-mutation-1"}) { order { id } userErrors { code } } }`)
		if r.Status == http.StatusOK {
			t.Errorf("status 200 for a mutation over GET")
		}
		if len(r.Errors) == 0 {
			t.Errorf("no error for a mutation over GET: %s", r.Raw)
		}
		if d := strings.TrimSpace(string(r.Data)); d != "" && d != "null" {
			t.Errorf("data %s for a refused mutation", d)
		}
		r2 := get(t, c, `mutation { logout }`)
		if len(r2.Errors) == 0 {
			t.Errorf("no error for logout over GET: %s", r2.Raw)
		}

		if after := restOrders(t, env, adaToken, 1, "").TotalCount; after != before {
			t.Errorf("Ada has %d orders after a GET mutation, %d before", after, before)
		}
		if p := restProduct(t, env, target.ID); p.Stock != target.Stock {
			t.Errorf("stock of %s went from %d to %d after a GET mutation", target.ID, target.Stock, p.Stock)
		}
		// The session survived the GET logout.
		d := c.Op(t, "Dashboard", nil)
		wantOK(t, d)
	})

	// What gqlgen's transports refuse themselves carries a code too.
	t.Run("transport errors", func(t *testing.T) {
		t.Parallel()
		c := env.NewClient()
		for _, tc := range []struct{ method, contentType, body, query string }{
			{http.MethodGet, "", "", "query=" + url.QueryEscape("{featuredProducts{id}}") + "&variables=notjson"},
			{http.MethodPut, "application/json", `{"query":"{featuredProducts{id}}"}`, ""},
			{http.MethodPost, "text/plain", `{"query":"{featuredProducts{id}}"}`, ""},
			{http.MethodPost, "application/json", `{not json`, ""},
			{http.MethodPost, "application/json", `{"query":"{ nope }"}`, ""},
		} {
			req, err := http.NewRequest(tc.method, env.URL+"/graphql?"+tc.query, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			r := c.Do(t, req)
			if r.Status < 400 || r.Status >= 500 || len(r.Errors) == 0 {
				t.Errorf("%s %q %q: status %d, errors %d; want a 4xx with errors", tc.method, tc.body, tc.query, r.Status, len(r.Errors))
			}
		}
	})
}

// TestUpstreamFailureIsMasked stops the order service: the fields that
// need it fail with SERVICE_UNAVAILABLE, messages show no URL, host or
// port, and the rest of the answer still comes.
func TestUpstreamFailureIsMasked(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	ada := login(t, env, adaEmail, adaPassword)
	admin := login(t, env, adminEmail, adminPassword)
	orderID := seed.OrderID(0)
	env.Stack.Stop(t, "order")

	r := ada.Op(t, "Dashboard", nil)
	if r.Status != http.StatusOK {
		t.Errorf("status %d, want 200", r.Status)
	}
	e := wantError(t, r, "viewer.orders", "SERVICE_UNAVAILABLE")
	got := bfftest.Decode[dashboardData](t, r)
	if got.Viewer == nil || got.Viewer.ID != seed.UserID(1) || got.Viewer.Orders != nil {
		t.Errorf("viewer %+v, want Ada without orders", got.Viewer)
	}
	if len(got.FeaturedProducts) != 4 {
		t.Errorf("%d featured products without the order service, want 4", len(got.FeaturedProducts))
	}
	if strings.Contains(string(r.Raw), "127.0.0.1") || strings.Contains(string(r.Raw), "http://127") {
		t.Errorf("the answer shows an upstream address: %s", r.Raw)
	}
	if e.Message == "" {
		t.Error("empty message")
	}

	d := ada.Op(t, "OrderDetail", map[string]any{"id": orderID})
	wantError(t, d, "order", "SERVICE_UNAVAILABLE")

	p := ada.Op(t, "PlaceOrder", map[string]any{"input": map[string]any{
		"items": []map[string]any{{"productId": seed.ProductID(0), "quantity": 1}}, "idempotencyKey": "masked-1",
	}})
	wantError(t, p, "placeOrder", "SERVICE_UNAVAILABLE")

	a := admin.Op(t, "AdminOverview", map[string]any{"recent": 5})
	wantError(t, a, "recentOrders", "SERVICE_UNAVAILABLE")
	wantError(t, a, "stats.orderCount", "SERVICE_UNAVAILABLE")
	ov := bfftest.Decode[adminOverviewData](t, a)
	if ov.Stats == nil || ov.Stats.UserCount == nil || *ov.Stats.UserCount != testSeed.Users || ov.Stats.OrderCount != nil {
		t.Errorf("stats without the order service: %s", mustJSON(ov.Stats))
	}
	for _, resp := range []bfftest.Response{r, d, p, a} {
		wantOnlyErrors(t, resp, "SERVICE_UNAVAILABLE", "UPSTREAM_TIMEOUT")
		for _, e := range resp.Errors {
			if strings.Contains(e.Message, "dial") || strings.Contains(e.Message, "connection refused") {
				t.Errorf("message %q shows a transport error", e.Message)
			}
		}
	}
}
