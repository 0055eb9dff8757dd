package resolve_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/resolve"
	"github.com/acme/bff-gateway/internal/contract"
)

var errDown = apperr.New(apperr.Unavailable, "upstream down")

func customer(ctx context.Context, id string) context.Context {
	return auth.NewContextWithPrincipal(ctx, auth.Principal{Subject: id, Role: auth.RoleCustomer, Token: "token-" + id})
}

// assertBatches fails t unless got are the calls want, each call compared
// as a set of ids asked for once.
func assertBatches(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	sorted := make([][]string, len(got))
	for i, c := range got {
		sorted[i] = slices.Sorted(slices.Values(c))
	}
	if !slices.EqualFunc(sorted, want, slices.Equal) {
		t.Errorf("%s calls %v, want %v", what, got, want)
	}
}

func wantUser(id string) *model.User {
	return &model.User{
		ID: id, Email: id + "@example.com", Name: "Name " + id, FirstName: "First " + id,
		Role: auth.RoleCustomer, AvatarURL: "https://img.example.com/" + id + ".png", CreatedAt: createdAt,
	}
}

func wantProduct(id string) *model.Product {
	return &model.Product{
		ID: id, SKU: "SKU-" + id, Name: "Name " + id, Description: "About " + id, Category: "tools",
		Price: model.Money{Cents: 1999, Currency: "USD"}, ImageURL: "https://img.example.com/" + id + ".jpg",
		Stock: 4, Featured: true,
	}
}

func TestViewer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		principal string // "" for none
		usersErr  error
		want      *model.User
		wantCode  apperr.Code
		wantCalls [][]string
	}{
		{name: "no principal", wantCode: apperr.Unauthenticated},
		{name: "own user", principal: "usr_1", want: wantUser("usr_1"), wantCalls: [][]string{{"usr_1"}}},
		{name: "user gone", principal: "usr_gone", wantCode: apperr.NotFound, wantCalls: [][]string{{"usr_gone"}}},
		{name: "user service down", principal: "usr_1", usersErr: errDown, wantCode: apperr.Unavailable, wantCalls: [][]string{{"usr_1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users := newFakeUsers("usr_1", "usr_2")
			users.err = tt.usersErr
			ctx := withLoaders(context.Background(), users, newFakeProducts())
			if tt.principal != "" {
				ctx = customer(ctx, tt.principal)
			}
			got, err := resolve.Viewer(ctx)
			if tt.wantCode != "" {
				if got != nil || !apperr.Is(err, tt.wantCode) {
					t.Errorf("got %+v, %v; want %s", got, err, tt.wantCode)
				}
			} else if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
			if tt.usersErr != nil && !errors.Is(err, tt.usersErr) {
				t.Errorf("err %v, want the user service's error", err)
			}
			// Viewer waits for its load, so every call has been made.
			assertBatches(t, "user", users.Calls(), tt.wantCalls)
		})
	}
}

func TestProduct(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		id        string
		sourceErr error
		want      *model.Product
		wantCode  apperr.Code
		wantCalls [][]string
	}{
		{name: "known", id: "prd_1", want: wantProduct("prd_1"), wantCalls: [][]string{{"prd_1"}}},
		{name: "unknown", id: "prd_404", wantCode: apperr.NotFound, wantCalls: [][]string{{"prd_404"}}},
		{name: "source down", id: "prd_1", sourceErr: errDown, wantCode: apperr.Unavailable, wantCalls: [][]string{{"prd_1"}}},
		{name: "empty", id: "", wantCode: apperr.NotFound},
		{name: "prefix only", id: "prd_", wantCode: apperr.NotFound},
		{name: "upper case", id: "prd_ABC", wantCode: apperr.NotFound},
		{name: "another kind", id: "usr_1", wantCode: apperr.NotFound},
		{name: "a list", id: "prd_1,prd_2", wantCode: apperr.NotFound},
		{name: "a path", id: "prd_1/../x", wantCode: apperr.NotFound},
		{name: "too long", id: "prd_" + strings.Repeat("a", 33), wantCode: apperr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			products := newFakeProducts("prd_1", "prd_ABC", "prd_1,prd_2")
			products.err = tt.sourceErr
			ctx := withLoaders(context.Background(), newFakeUsers(), products)
			got, err := resolve.Product(ctx, tt.id)
			if tt.wantCode != "" {
				if got != nil || !apperr.Is(err, tt.wantCode) {
					t.Errorf("got %+v, %v; want %s", got, err, tt.wantCode)
				}
			} else if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
			// Product waits for its load, so every call has been made.
			assertBatches(t, "product", products.Calls(), tt.wantCalls)
		})
	}
}

func TestFeatured(t *testing.T) {
	t.Parallel()
	t.Run("converts the products", func(t *testing.T) {
		t.Parallel()
		src := &fakeFeatured{list: []contract.Product{product("prd_1"), product("prd_2"), product("prd_3")}}
		got, err := resolve.Featured(context.Background(), src, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := []*model.Product{wantProduct("prd_1"), wantProduct("prd_2")}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if got := src.Limits(); !slices.Equal(got, []int{2}) {
			t.Errorf("asked for limits %v, want [2]", got)
		}
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		got, err := resolve.Featured(context.Background(), &fakeFeatured{}, 6)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("got %#v, %v; want an empty list", got, err)
		}
	})
	t.Run("passes the error through", func(t *testing.T) {
		t.Parallel()
		got, err := resolve.Featured(context.Background(), &fakeFeatured{err: errDown}, 6)
		if got != nil || !errors.Is(err, errDown) {
			t.Errorf("got %+v, %v; want the source's error", got, err)
		}
	})
}

func testOrders() []contract.Order {
	return []contract.Order{
		{ID: "ord_1", UserID: "usr_1", Status: "paid", Currency: "USD", TotalCents: 2500, CreatedAt: createdAt,
			Items: []contract.OrderItem{{ProductID: "prd_1", Quantity: 2, UnitPriceCents: 500}, {ProductID: "prd_2", Quantity: 1, UnitPriceCents: 1500}}},
		{ID: "ord_2", UserID: "usr_2", Status: "shipped", Currency: "USD", TotalCents: 1800, CreatedAt: createdAt.Add(1),
			Items: []contract.OrderItem{{ProductID: "prd_2", Quantity: 1, UnitPriceCents: 1500}, {ProductID: "prd_3", Quantity: 3, UnitPriceCents: 100}}},
		{ID: "ord_3", UserID: "usr_1", Status: "cancelled", Currency: "USD", TotalCents: 100, CreatedAt: createdAt.Add(2),
			Items: []contract.OrderItem{{ProductID: "prd_3", Quantity: 1, UnitPriceCents: 100}}},
	}
}

func wantOrders() []*model.Order {
	usd := func(c int) model.Money { return model.Money{Cents: c, Currency: "USD"} }
	return []*model.Order{
		{ID: "ord_1", UserID: "usr_1", Status: model.OrderStatusPaid, PlacedAt: createdAt, Total: usd(2500),
			Items: []*model.OrderItem{{ProductID: "prd_1", Quantity: 2, UnitPrice: usd(500)}, {ProductID: "prd_2", Quantity: 1, UnitPrice: usd(1500)}}},
		{ID: "ord_2", UserID: "usr_2", Status: model.OrderStatusShipped, PlacedAt: createdAt.Add(1), Total: usd(1800),
			Items: []*model.OrderItem{{ProductID: "prd_2", Quantity: 1, UnitPrice: usd(1500)}, {ProductID: "prd_3", Quantity: 3, UnitPrice: usd(100)}}},
		{ID: "ord_3", UserID: "usr_1", Status: model.OrderStatusCancelled, PlacedAt: createdAt.Add(2), Total: usd(100),
			Items: []*model.OrderItem{{ProductID: "prd_3", Quantity: 1, UnitPrice: usd(100)}}},
	}
}

// resolveFields reads, as gqlgen does, the products of every item of
// orders and, when customers is set, the customer of every order: each
// was attached with its list, so reading them calls nothing. Without
// customers, an order's customer was not attached and reading it is an
// error (a resolver that forgot to attach), never a call.
func resolveFields(t *testing.T, orders []*model.Order, customers bool) {
	t.Helper()
	for _, o := range orders {
		for _, it := range o.Items {
			if p, err := it.Product(); err != nil || !reflect.DeepEqual(p, wantProduct(it.ProductID)) {
				t.Errorf("product %s of %s: %+v, %v", it.ProductID, o.ID, p, err)
			}
		}
		u, err := o.Customer()
		switch {
		case customers && (err != nil || !reflect.DeepEqual(u, wantUser(o.UserID))):
			t.Errorf("customer %s of %s: %+v, %v", o.UserID, o.ID, u, err)
		case !customers && err == nil:
			t.Errorf("customer %s of %s was attached, not asked for: %+v", o.UserID, o.ID, u)
		}
	}
}

// withoutRefs returns copies of orders without what was attached to
// them, to compare with wantOrders.
func withoutRefs(orders []*model.Order) []*model.Order {
	out := make([]*model.Order, len(orders))
	for i, o := range orders {
		c := &model.Order{ID: o.ID, UserID: o.UserID, Status: o.Status, PlacedAt: o.PlacedAt, Total: o.Total,
			Items: make([]*model.OrderItem, len(o.Items))}
		for j, it := range o.Items {
			c.Items[j] = &model.OrderItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
		}
		out[i] = c
	}
	return out
}

func TestOrders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		orders        []contract.Order
		want          []*model.Order
		customers     bool
		wantProducts  [][]string
		wantCustomers [][]string
	}{
		{name: "with customers", orders: testOrders(), want: wantOrders(), customers: true,
			wantProducts: [][]string{{"prd_1", "prd_2", "prd_3"}}, wantCustomers: [][]string{{"usr_1", "usr_2"}}},
		{name: "without customers", orders: testOrders(), want: wantOrders(),
			wantProducts: [][]string{{"prd_1", "prd_2", "prd_3"}}},
		{name: "none", orders: nil, want: []*model.Order{}, customers: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users := newFakeUsers("usr_1", "usr_2", "usr_9")
			products := newFakeProducts("prd_1", "prd_2", "prd_3")
			ctx := withLoaders(context.Background(), users, products)

			got := resolve.Orders(ctx, tt.orders, resolve.Refs{Products: true, Customers: tt.customers})

			if !reflect.DeepEqual(withoutRefs(got), tt.want) {
				t.Errorf("orders %+v, want %+v", got, tt.want)
			}
			resolveFields(t, got, tt.customers)
			assertBatches(t, "product", products.Calls(), tt.wantProducts)
			// A user loaded now goes in a call of its own unless customers
			// were queued (or sent) before.
			if _, err := resolve.User(ctx, "usr_9"); err != nil {
				t.Fatal(err)
			}
			assertBatches(t, "user", users.Calls(), append(tt.wantCustomers, []string{"usr_9"}))
		})
	}
}

func TestOrder(t *testing.T) {
	t.Parallel()
	order := testOrders()[1]
	tests := []struct {
		name          string
		principal     bool
		id            string
		getErr        error
		customer      bool
		want          *model.Order
		wantCode      apperr.Code
		wantGets      [][]string
		wantCustomers [][]string
	}{
		{name: "no principal", id: "ord_2", wantCode: apperr.Unauthenticated},
		{name: "empty id", principal: true, id: "", wantCode: apperr.NotFound},
		{name: "prefix only", principal: true, id: "ord_", wantCode: apperr.NotFound},
		{name: "another kind", principal: true, id: "prd_2", wantCode: apperr.NotFound},
		{name: "upper case", principal: true, id: "ord_X", wantCode: apperr.NotFound},
		{name: "a path", principal: true, id: "ord_2/cancel", wantCode: apperr.NotFound},
		{name: "someone else's", principal: true, id: "ord_2", getErr: apperr.New(apperr.NotFound, "order not found"),
			wantCode: apperr.NotFound, wantGets: [][]string{{"ord_2"}}},
		{name: "order service down", principal: true, id: "ord_2", getErr: errDown,
			wantCode: apperr.Unavailable, wantGets: [][]string{{"ord_2"}}},
		{name: "with its customer", principal: true, id: "ord_2", customer: true, want: wantOrders()[1],
			wantGets: [][]string{{"ord_2"}}, wantCustomers: [][]string{{"usr_2"}}},
		{name: "without its customer", principal: true, id: "ord_2", want: wantOrders()[1],
			wantGets: [][]string{{"ord_2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users := newFakeUsers("usr_1", "usr_2", "usr_9")
			products := newFakeProducts("prd_1", "prd_2", "prd_3")
			orders := &fakeOrders{orders: map[string]contract.Order{"ord_2": order}, err: tt.getErr}
			ctx := withLoaders(context.Background(), users, products)
			if tt.principal {
				ctx = customer(ctx, "usr_2")
			}

			got, err := resolve.Order(ctx, orders, tt.id, resolve.Refs{Products: true, Customers: tt.customer})

			assertBatches(t, "order", orders.Calls(), tt.wantGets)
			if tt.wantCode != "" {
				if got != nil || !apperr.Is(err, tt.wantCode) {
					t.Errorf("got %+v, %v; want %s", got, err, tt.wantCode)
				}
				if tt.getErr != nil && !errors.Is(err, tt.getErr) {
					t.Errorf("err %v, want the getter's error %v", err, tt.getErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(withoutRefs([]*model.Order{got})[0], tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			resolveFields(t, []*model.Order{got}, tt.customer)
			assertBatches(t, "product", products.Calls(), [][]string{{"prd_2", "prd_3"}})
			if _, err := resolve.User(ctx, "usr_9"); err != nil {
				t.Fatal(err)
			}
			assertBatches(t, "user", users.Calls(), append(tt.wantCustomers, []string{"usr_9"}))
		})
	}
}

// TestAttachGivesEachItemItsOwnOutcome: an unknown product is NOT_FOUND
// on its item alone; a product service that fails leaves every item with
// its error; with FirstItemOnly only first items' products are asked for
// and attached.
func TestAttachGivesEachItemItsOwnOutcome(t *testing.T) {
	t.Parallel()
	t.Run("one unknown product", func(t *testing.T) {
		t.Parallel()
		ctx := withLoaders(context.Background(), newFakeUsers(), newFakeProducts("prd_1", "prd_3"))
		got := resolve.Orders(ctx, testOrders(), resolve.Refs{Products: true})
		for _, o := range got {
			for _, it := range o.Items {
				p, err := it.Product()
				switch {
				case it.ProductID == "prd_2" && (p != nil || !apperr.Is(err, apperr.NotFound)):
					t.Errorf("%s/%s: %+v, %v; want NOT_FOUND", o.ID, it.ProductID, p, err)
				case it.ProductID != "prd_2" && (err != nil || p.ID != it.ProductID):
					t.Errorf("%s/%s: %+v, %v", o.ID, it.ProductID, p, err)
				}
			}
		}
	})
	t.Run("product service down", func(t *testing.T) {
		t.Parallel()
		products := newFakeProducts("prd_1", "prd_2", "prd_3")
		products.err = errDown
		ctx := withLoaders(context.Background(), newFakeUsers(), products)
		for _, o := range resolve.Orders(ctx, testOrders(), resolve.Refs{Products: true}) {
			for _, it := range o.Items {
				if p, err := it.Product(); p != nil || !errors.Is(err, errDown) {
					t.Errorf("%s/%s: %+v, %v; want the service's error", o.ID, it.ProductID, p, err)
				}
			}
		}
	})
	t.Run("first items only", func(t *testing.T) {
		t.Parallel()
		products := newFakeProducts("prd_1", "prd_2", "prd_3")
		ctx := withLoaders(context.Background(), newFakeUsers(), products)
		got := resolve.Orders(ctx, testOrders(), resolve.Refs{Products: true, FirstItemOnly: true})
		assertBatches(t, "product", products.Calls(), [][]string{{"prd_1", "prd_2", "prd_3"}})
		if u, err := got[1].ThumbnailURL(); err != nil || u == nil || !strings.Contains(*u, "prd_2") {
			t.Errorf("thumbnail of ord_2: %v, %v; want its first item's (prd_2)", u, err)
		}
		if _, err := got[1].Items[1].Product(); err == nil {
			t.Error("the second item's product was attached, not asked for")
		}
	})
}

// TestAttachMakesEachProductAndCustomerOnce checks that the items naming
// one product, and the orders of one customer, share one model of it
// (made once per list, not once per item or order), and that what they
// share is the right one.
func TestAttachMakesEachProductAndCustomerOnce(t *testing.T) {
	t.Parallel()
	ctx := withLoaders(context.Background(), newFakeUsers("usr_1", "usr_2"), newFakeProducts("prd_1", "prd_2", "prd_3"))
	got := resolve.Orders(ctx, testOrders(), resolve.Refs{Products: true, Customers: true})
	products := map[string]*model.Product{}
	for _, o := range got {
		for _, it := range o.Items {
			p, err := it.Product()
			if err != nil || p.ID != it.ProductID {
				t.Fatalf("%s/%s: %+v, %v", o.ID, it.ProductID, p, err)
			}
			if seen, ok := products[p.ID]; ok && seen != p {
				t.Errorf("%s/%s: a model of its own; want the one the other items of %s share", o.ID, p.ID, p.ID)
			}
			products[p.ID] = p
		}
	}
	first, err1 := got[0].Customer()
	third, err3 := got[2].Customer()
	second, err2 := got[1].Customer()
	switch {
	case err1 != nil || err2 != nil || err3 != nil:
		t.Fatalf("customers: %v, %v, %v", err1, err2, err3)
	case first.ID != "usr_1" || second.ID != "usr_2":
		t.Errorf("customers %s and %s, want usr_1 and usr_2", first.ID, second.ID)
	case first != third:
		t.Error("the two orders of usr_1 have a model each; want one shared")
	}
}
