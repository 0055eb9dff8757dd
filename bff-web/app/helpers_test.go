package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
)

// The demo accounts.
const (
	adminEmail    = "admin@example.com"
	adminPassword = "admin123"
	adaEmail      = "ada@example.com"
	adaPassword   = "ada123"
	graceEmail    = "grace@example.com"
	gracePassword = "grace123"
)

// testSeed is the small seed with enough products for five featured ones
// (every tenth product is featured), so that featuredProducts(first: 4)
// can answer four.
var testSeed = seed.Sizes{Users: 20, Products: 50, Orders: 200}

// startWeb starts the services and the web BFF for one test function.
func startWeb(t *testing.T) *bfftest.Env {
	t.Helper()
	return bfftest.Start(t, bfftest.Options{
		Kind:          config.Web,
		Build:         app.NewWithDeps,
		OperationsDir: "../operations",
		Stack:         servicetest.StackOptions{Seed: testSeed},
	})
}

// wantOK fails unless r is an HTTP 200 answer without errors.
func wantOK(t testing.TB, r bfftest.Response) {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("status %d, errors %+v; want 200 without errors (answer %.500s)", r.Status, r.Errors, r.Raw)
	}
}

// wantError fails unless r has an error with the code at the dotted path,
// and returns it.
func wantError(t testing.TB, r bfftest.Response, path, code string) bfftest.Error {
	t.Helper()
	e, ok := r.ErrorAt(path)
	if !ok {
		t.Errorf("no error at %q, want %s; errors %+v", path, code, r.Errors)
		return e
	}
	if e.Code() != code {
		t.Errorf("error at %q has code %q, want %q (%q)", path, e.Code(), code, e.Message)
	}
	return e
}

// wantOnlyErrors fails unless every error of r has one of the codes.
func wantOnlyErrors(t testing.TB, r bfftest.Response, codes ...string) {
	t.Helper()
	for _, e := range r.Errors {
		found := false
		for _, c := range codes {
			found = found || e.Code() == c
		}
		if !found {
			t.Errorf("unexpected error %q (%s) at %q, want only %v", e.Message, e.Code(), e.PathString(), codes)
		}
	}
}

// login returns a new client signed in through the Login document.
func login(t testing.TB, env *bfftest.Env, email, password string) *bfftest.Client {
	t.Helper()
	c := env.NewClient()
	r := c.Op(t, "Login", map[string]any{"email": email, "password": password})
	wantOK(t, r)
	got := bfftest.Decode[struct {
		Login struct{ Viewer gqlUser } `json:"login"`
	}](t, r)
	if got.Login.Viewer.Email != email {
		t.Fatalf("signed in as %q, want %q", got.Login.Viewer.Email, email)
	}
	return c
}

// restGet GETs a service URL with token and decodes the 200 answer.
func restGet[T any](t testing.TB, rawURL, token string) T {
	t.Helper()
	status, body := testutil.Do(t, http.DefaultClient, http.MethodGet, rawURL, token, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %.300s", rawURL, status, body)
	}
	return testutil.MustJSON[T](t, body)
}

// restProduct reads one product from the product service.
func restProduct(t testing.TB, env *bfftest.Env, id string) contract.Product {
	t.Helper()
	return restGet[contract.Product](t, env.Stack.Product.URL+"/v1/products/"+id, "")
}

// restProducts reads products by id from the product service, by id.
func restProducts(t testing.TB, env *bfftest.Env, ids []string) map[string]contract.Product {
	t.Helper()
	out := map[string]contract.Product{}
	if len(ids) == 0 {
		return out
	}
	b := restGet[contract.ProductBatch](t, env.Stack.Product.URL+"/v1/products?ids="+url.QueryEscape(strings.Join(unique(ids), ",")), "")
	for _, p := range b.Products {
		out[p.ID] = p
	}
	return out
}

// restCatalogue reads the whole catalogue (at most 100 products) in the
// service's order.
func restCatalogue(t testing.TB, env *bfftest.Env) []contract.Product {
	t.Helper()
	page := restGet[contract.ProductPage](t, env.Stack.Product.URL+"/v1/products?limit=100", "")
	if page.NextCursor != nil {
		t.Fatalf("the catalogue has more than 100 products (%d)", page.TotalCount)
	}
	return page.Products
}

// restUser reads one user from the user service with an admin's token.
func restUser(t testing.TB, env *bfftest.Env, adminToken, id string) contract.User {
	t.Helper()
	return restGet[contract.User](t, env.Stack.User.URL+"/v1/users/"+id, adminToken)
}

// restOrder reads one order from the order service.
func restOrder(t testing.TB, env *bfftest.Env, token, id string) contract.Order {
	t.Helper()
	return restGet[contract.Order](t, env.Stack.Order.URL+"/v1/orders/"+id, token)
}

// restOrders reads one page of the token's user's orders, newest first.
func restOrders(t testing.TB, env *bfftest.Env, token string, limit int, cursor string) contract.OrderPage {
	t.Helper()
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return restGet[contract.OrderPage](t, env.Stack.Order.URL+"/v1/orders?"+q.Encode(), token)
}

func unique(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// The GraphQL answers' shapes.
type gqlMoney struct {
	Cents     int    `json:"cents"`
	Currency  string `json:"currency"`
	Formatted string `json:"formatted"`
}

type gqlProduct struct {
	ID          string   `json:"id"`
	SKU         string   `json:"sku"`
	Name        string   `json:"name"`
	Category    string   `json:"category"`
	Price       gqlMoney `json:"price"`
	ImageURL    string   `json:"imageUrl"`
	InStock     bool     `json:"inStock"`
	Description *string  `json:"description"`
}

type gqlItem struct {
	Quantity  int      `json:"quantity"`
	UnitPrice gqlMoney `json:"unitPrice"`
	Product   *struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		ImageURL string `json:"imageUrl"`
	} `json:"product"`
}

type gqlOrder struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	PlacedAt  string    `json:"placedAt"`
	ItemCount int       `json:"itemCount"`
	Total     gqlMoney  `json:"total"`
	Items     []gqlItem `json:"items"`
	Customer  *gqlUser  `json:"customer"`
}

type gqlPageInfo struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor"`
}

type gqlOrderConnection struct {
	TotalCount int         `json:"totalCount"`
	PageInfo   gqlPageInfo `json:"pageInfo"`
	Edges      []struct {
		Cursor string   `json:"cursor"`
		Node   gqlOrder `json:"node"`
	} `json:"edges"`
}

type gqlProductConnection struct {
	TotalCount int         `json:"totalCount"`
	PageInfo   gqlPageInfo `json:"pageInfo"`
	Edges      []struct {
		Cursor string     `json:"cursor"`
		Node   gqlProduct `json:"node"`
	} `json:"edges"`
}

type gqlUser struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	Email     string              `json:"email"`
	Role      string              `json:"role"`
	AvatarURL string              `json:"avatarUrl"`
	Orders    *gqlOrderConnection `json:"orders"`
}

type gqlUserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

// formatted writes cents as the contract shows USD amounts: "$1,234.50".
func formatted(cents int64) string {
	s := strconv.FormatInt(cents/100, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return fmt.Sprintf("$%s.%02d", s, cents%100)
}

// wantMoney checks a Money against cents of the shop's currency.
func wantMoney(t testing.TB, what string, got gqlMoney, cents int64) {
	t.Helper()
	want := gqlMoney{Cents: int(cents), Currency: contract.Currency, Formatted: formatted(cents)}
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// wantProduct checks a product of the answer against the service's.
func wantProduct(t testing.TB, got gqlProduct, want contract.Product) {
	t.Helper()
	if got.ID != want.ID || got.SKU != want.SKU || got.Name != want.Name || got.Category != want.Category ||
		got.ImageURL != want.ImageURL || got.InStock != (want.Stock > 0) {
		t.Errorf("product %+v, want %+v", got, want)
	}
	if got.Description != nil && *got.Description != want.Description {
		t.Errorf("product %s description %q, want %q", want.ID, *got.Description, want.Description)
	}
	wantMoney(t, "price of "+want.ID, got.Price, want.PriceCents)
}

// wantOrder checks an order of the answer against the service's, its
// items' products against products.
func wantOrder(t testing.TB, got gqlOrder, want contract.Order, products map[string]contract.Product) {
	t.Helper()
	if got.ID != want.ID {
		t.Fatalf("order %s, want %s", got.ID, want.ID)
	}
	if got.Status != strings.ToUpper(want.Status) {
		t.Errorf("order %s status %q, want %q", want.ID, got.Status, strings.ToUpper(want.Status))
	}
	placed, err := time.Parse(time.RFC3339, got.PlacedAt)
	if err != nil || !strings.HasSuffix(got.PlacedAt, "Z") {
		t.Errorf("order %s placedAt %q is not RFC 3339 in UTC", want.ID, got.PlacedAt)
	} else if d := placed.Sub(want.CreatedAt); d < -time.Second || d > time.Second {
		t.Errorf("order %s placedAt %s, want %s", want.ID, got.PlacedAt, want.CreatedAt.UTC().Format(time.RFC3339))
	}
	wantMoney(t, "total of "+want.ID, got.Total, want.TotalCents)
	if len(got.Items) != len(want.Items) {
		t.Fatalf("order %s has %d items, want %d", want.ID, len(got.Items), len(want.Items))
	}
	count := 0
	for i, it := range got.Items {
		w := want.Items[i]
		count += w.Quantity
		if it.Quantity != w.Quantity {
			t.Errorf("order %s item %d quantity %d, want %d", want.ID, i, it.Quantity, w.Quantity)
		}
		wantMoney(t, fmt.Sprintf("unit price of order %s item %d", want.ID, i), it.UnitPrice, w.UnitPriceCents)
		p, ok := products[w.ProductID]
		switch {
		case it.Product == nil:
			t.Errorf("order %s item %d has no product, want %s", want.ID, i, w.ProductID)
		case !ok:
			t.Errorf("order %s item %d: product %s unknown to the product service", want.ID, i, w.ProductID)
		case it.Product.ID != p.ID || it.Product.Name != p.Name || it.Product.ImageURL != p.ImageURL:
			t.Errorf("order %s item %d product %+v, want %s %q %s", want.ID, i, *it.Product, p.ID, p.Name, p.ImageURL)
		}
	}
	if got.ItemCount != count {
		t.Errorf("order %s itemCount %d, want %d", want.ID, got.ItemCount, count)
	}
}

// productIDsOf lists the products the orders' items refer to.
func productIDsOf(orders ...contract.Order) []string {
	var out []string
	for _, o := range orders {
		for _, it := range o.Items {
			out = append(out, it.ProductID)
		}
	}
	return out
}

// mustJSON encodes v for failure messages.
func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
