package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

// placeOrderData is the PlaceOrder document's answer.
type placeOrderData struct {
	PlaceOrder *struct {
		Order      *gqlOrder      `json:"order"`
		UserErrors []gqlUserError `json:"userErrors"`
	} `json:"placeOrder"`
}

// cancelOrderData is the CancelOrder document's answer.
type cancelOrderData struct {
	CancelOrder *struct {
		Order *struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"order"`
		UserErrors []gqlUserError `json:"userErrors"`
	} `json:"cancelOrder"`
}

type line struct {
	id  string
	qty int
}

func placeVars(key string, lines ...line) map[string]any {
	items := make([]map[string]any, len(lines))
	for i, l := range lines {
		items[i] = map[string]any{"productId": l.id, "quantity": l.qty}
	}
	return map[string]any{"input": map[string]any{"items": items, "idempotencyKey": key}}
}

// inStock returns n distinct products of the catalogue with at least min
// stock, skipping those in skip.
func inStock(t testing.TB, catalogue []contract.Product, n, min int, skip map[string]bool) []contract.Product {
	t.Helper()
	var out []contract.Product
	for _, p := range catalogue {
		if p.Stock >= min && !skip[p.ID] {
			out = append(out, p)
			skip[p.ID] = true
			if len(out) == n {
				return out
			}
		}
	}
	t.Fatalf("fewer than %d products with %d in stock", n, min)
	return nil
}

// wantUserErrors checks that a payload has no order and exactly the user
// errors (code and field) wanted, each with a message.
func wantUserErrors(t testing.TB, what string, order any, got []gqlUserError, want ...gqlUserError) {
	t.Helper()
	if o := mustJSON(order); o != "null" {
		t.Errorf("%s: order %s, want null", what, o)
	}
	if len(got) != len(want) {
		t.Errorf("%s: userErrors %s, want %s", what, mustJSON(got), mustJSON(want))
		return
	}
	for i, w := range want {
		if got[i].Code != w.Code || !slices.Equal(got[i].Field, w.Field) || got[i].Message == "" {
			t.Errorf("%s: userErrors[%d] = %s, want code %s field %v and a message", what, i, mustJSON(got[i]), w.Code, w.Field)
		}
	}
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	adaToken := env.Stack.Token(t, adaEmail, adaPassword)
	catalogue := restCatalogue(t, env)
	used := map[string]bool{}
	c := login(t, env, adaEmail, adaPassword)

	place := func(t *testing.T, vars map[string]any) (bfftest.Response, placeOrderData) {
		t.Helper()
		r := c.Op(t, "PlaceOrder", vars)
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200", r.Status)
		}
		return r, bfftest.Decode[placeOrderData](t, r)
	}

	t.Run("success and idempotency", func(t *testing.T) {
		ps := inStock(t, catalogue, 2, 5, used)
		a, b := restProduct(t, env, ps[0].ID), restProduct(t, env, ps[1].ID)
		countBefore := restOrders(t, env, adaToken, 1, "").TotalCount
		vars := placeVars("place-success-1", line{a.ID, 3}, line{b.ID, 1})

		r, got := place(t, vars)
		wantOK(t, r)
		if got.PlaceOrder == nil || got.PlaceOrder.Order == nil {
			t.Fatalf("no order: %s", r.Raw)
		}
		if len(got.PlaceOrder.UserErrors) != 0 {
			t.Errorf("userErrors %s on success", mustJSON(got.PlaceOrder.UserErrors))
		}
		o := got.PlaceOrder.Order
		if o.Status != "PENDING" {
			t.Errorf("status %s, want PENDING", o.Status)
		}
		wantMoney(t, "total", o.Total, 3*a.PriceCents+b.PriceCents)
		if o.ItemCount != 4 {
			t.Errorf("itemCount %d, want 4", o.ItemCount)
		}
		stored := restOrder(t, env, adaToken, o.ID)
		if stored.UserID != seed.UserID(1) || stored.Status != contract.StatusPending {
			t.Errorf("the order service holds %+v, want Ada's pending order", stored)
		}
		wantOrder(t, *o, stored, map[string]contract.Product{a.ID: a, b.ID: b})
		if o.Items[0].Product == nil || o.Items[0].Product.ID != a.ID || o.Items[1].Product == nil || o.Items[1].Product.ID != b.ID {
			t.Errorf("items %s, want %s then %s", mustJSON(o.Items), a.ID, b.ID)
		}
		if na := restProduct(t, env, a.ID).Stock; na != a.Stock-3 {
			t.Errorf("stock of %s is %d, want %d", a.ID, na, a.Stock-3)
		}
		if nb := restProduct(t, env, b.ID).Stock; nb != b.Stock-1 {
			t.Errorf("stock of %s is %d, want %d", b.ID, nb, b.Stock-1)
		}

		// The same key again: the same order, nothing new.
		r2, again := place(t, vars)
		wantOK(t, r2)
		if again.PlaceOrder == nil || again.PlaceOrder.Order == nil || again.PlaceOrder.Order.ID != o.ID {
			t.Fatalf("the same key answers %s, want order %s", r2.Raw, o.ID)
		}
		if na := restProduct(t, env, a.ID).Stock; na != a.Stock-3 {
			t.Errorf("stock of %s is %d after a retry, want %d", a.ID, na, a.Stock-3)
		}
		if nb := restProduct(t, env, b.ID).Stock; nb != b.Stock-1 {
			t.Errorf("stock of %s is %d after a retry, want %d", b.ID, nb, b.Stock-1)
		}
		if n := restOrders(t, env, adaToken, 1, "").TotalCount; n != countBefore+1 {
			t.Errorf("Ada has %d orders, want %d", n, countBefore+1)
		}

		// The new order is Ada's newest on her dashboard.
		d := c.Op(t, "Dashboard", map[string]any{"orders": 1})
		wantOK(t, d)
		dash := bfftest.Decode[dashboardData](t, d)
		if dash.Viewer == nil || dash.Viewer.Orders == nil || len(dash.Viewer.Orders.Edges) != 1 ||
			dash.Viewer.Orders.Edges[0].Node.ID != o.ID || dash.Viewer.Orders.TotalCount != countBefore+1 {
			t.Errorf("the dashboard's newest order: %s, want %s", d.Raw, o.ID)
		}

		// The same key for a different order is the user's to fix.
		r3, other := place(t, placeVars("place-success-1", line{a.ID, 1}))
		if other.PlaceOrder == nil {
			t.Fatalf("placeOrder is null: %s", r3.Raw)
		}
		wantUserErrors(t, "reused key", other.PlaceOrder.Order, other.PlaceOrder.UserErrors,
			gqlUserError{Code: "IDEMPOTENCY_KEY_REUSED", Field: []string{"idempotencyKey"}})
		if na := restProduct(t, env, a.ID).Stock; na != a.Stock-3 {
			t.Errorf("stock of %s is %d after a reused key, want %d", a.ID, na, a.Stock-3)
		}
	})

	t.Run("user errors", func(t *testing.T) {
		p := inStock(t, catalogue, 1, 2, used)[0]
		p = restProduct(t, env, p.ID)
		q := inStock(t, catalogue, 1, 2, used)[0]
		var soldOut contract.Product
		for _, x := range catalogue {
			if x.Stock == 0 {
				soldOut = x
				break
			}
		}
		countBefore := restOrders(t, env, adaToken, 1, "").TotalCount
		at := func(parts ...string) []string { return append([]string{"input", "items"}, parts...) }

		cases := []struct {
			name  string
			lines []line
			want  []gqlUserError
		}{
			{"more than the stock", []line{{p.ID, p.Stock + 1}}, []gqlUserError{{Code: "OUT_OF_STOCK", Field: at("0", "productId")}}},
			{"short on the second line", []line{{q.ID, 1}, {p.ID, p.Stock + 1}}, []gqlUserError{{Code: "OUT_OF_STOCK", Field: at("1", "productId")}}},
			{"quantity 0", []line{{p.ID, 0}}, []gqlUserError{{Code: "INVALID_QUANTITY", Field: at("0", "quantity")}}},
			{"quantity 1001", []line{{p.ID, 1001}}, []gqlUserError{{Code: "INVALID_QUANTITY", Field: at("0", "quantity")}}},
			{"negative quantity", []line{{q.ID, 1}, {p.ID, -2}}, []gqlUserError{{Code: "INVALID_QUANTITY", Field: at("1", "quantity")}}},
			{"unknown product", []line{{"prd_doesnotexist", 1}}, []gqlUserError{{Code: "UNKNOWN_PRODUCT", Field: at("0", "productId")}}},
			{"unknown product on the second line", []line{{q.ID, 1}, {"prd_doesnotexist", 1}}, []gqlUserError{{Code: "UNKNOWN_PRODUCT", Field: at("1", "productId")}}},
			{"malformed product id", []line{{"not a product", 1}}, []gqlUserError{{Code: "UNKNOWN_PRODUCT", Field: at("0", "productId")}}},
			{"empty order", nil, []gqlUserError{{Code: "EMPTY_ORDER", Field: at()}}},
		}
		if soldOut.ID != "" {
			cases = append(cases, struct {
				name  string
				lines []line
				want  []gqlUserError
			}{"sold out", []line{{soldOut.ID, 1}}, []gqlUserError{{Code: "OUT_OF_STOCK", Field: at("0", "productId")}}})
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r, got := place(t, placeVars(fmt.Sprintf("user-error-%d", i), tc.lines...))
				wantOK(t, r)
				if got.PlaceOrder == nil {
					t.Fatalf("placeOrder is null: %s", r.Raw)
				}
				wantUserErrors(t, tc.name, got.PlaceOrder.Order, got.PlaceOrder.UserErrors, tc.want...)
			})
		}
		if got := restProduct(t, env, p.ID).Stock; got != p.Stock {
			t.Errorf("stock of %s went from %d to %d with refused orders", p.ID, p.Stock, got)
		}
		if got := restProduct(t, env, q.ID).Stock; got != q.Stock {
			t.Errorf("stock of %s went from %d to %d with refused orders", q.ID, q.Stock, got)
		}
		if n := restOrders(t, env, adaToken, 1, "").TotalCount; n != countBefore {
			t.Errorf("Ada has %d orders after refused ones, want %d", n, countBefore)
		}

		// An unusable idempotency key is a bad argument, not a user error.
		r := c.Op(t, "PlaceOrder", placeVars("", line{p.ID, 1}))
		wantError(t, r, "placeOrder", "BAD_USER_INPUT")
		r = c.Op(t, "PlaceOrder", placeVars("has space", line{p.ID, 1}))
		wantError(t, r, "placeOrder", "BAD_USER_INPUT")

		// A document that does not match the input type never runs.
		bad := c.Op(t, "PlaceOrder", map[string]any{"input": map[string]any{"items": []map[string]any{{"productId": p.ID, "quantity": "two"}}, "idempotencyKey": "typed-1"}})
		if len(bad.Errors) == 0 || (bad.Data != nil && strings.TrimSpace(string(bad.Data)) != "null") {
			t.Errorf("a quantity of the wrong type: %s", bad.Raw)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		p := restProduct(t, env, catalogue[0].ID)
		r := env.NewClient().Op(t, "PlaceOrder", placeVars("anonymous-1", line{p.ID, 1}))
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200", r.Status)
		}
		if got := bfftest.Decode[placeOrderData](t, r); got.PlaceOrder != nil {
			t.Errorf("placeOrder %s, want null", mustJSON(got.PlaceOrder))
		}
		wantError(t, r, "placeOrder", "UNAUTHENTICATED")
		wantOnlyErrors(t, r, "UNAUTHENTICATED")
		if got := restProduct(t, env, p.ID).Stock; got != p.Stock {
			t.Errorf("stock of %s went from %d to %d", p.ID, p.Stock, got)
		}
	})
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	adaToken := env.Stack.Token(t, adaEmail, adaPassword)
	graceToken := env.Stack.Token(t, graceEmail, gracePassword)
	adminToken := env.Stack.Token(t, adminEmail, adminPassword)
	catalogue := restCatalogue(t, env)
	c := login(t, env, adaEmail, adaPassword)

	cancel := func(t *testing.T, id string) (bfftest.Response, cancelOrderData) {
		t.Helper()
		r := c.Op(t, "CancelOrder", map[string]any{"id": id})
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200", r.Status)
		}
		return r, bfftest.Decode[cancelOrderData](t, r)
	}

	t.Run("fresh order", func(t *testing.T) {
		p := inStock(t, catalogue, 1, 3, map[string]bool{})[0]
		p = restProduct(t, env, p.ID)
		r := c.Op(t, "PlaceOrder", placeVars("cancel-fresh-1", line{p.ID, 2}))
		wantOK(t, r)
		placed := bfftest.Decode[placeOrderData](t, r)
		if placed.PlaceOrder == nil || placed.PlaceOrder.Order == nil {
			t.Fatalf("no order placed: %s", r.Raw)
		}
		id := placed.PlaceOrder.Order.ID
		if got := restProduct(t, env, p.ID).Stock; got != p.Stock-2 {
			t.Fatalf("stock %d after the order, want %d", got, p.Stock-2)
		}

		cr, got := cancel(t, id)
		wantOK(t, cr)
		if got.CancelOrder == nil || got.CancelOrder.Order == nil {
			t.Fatalf("no order: %s", cr.Raw)
		}
		if got.CancelOrder.Order.ID != id || got.CancelOrder.Order.Status != "CANCELLED" {
			t.Errorf("order %+v, want %s CANCELLED", *got.CancelOrder.Order, id)
		}
		if len(got.CancelOrder.UserErrors) != 0 {
			t.Errorf("userErrors %s", mustJSON(got.CancelOrder.UserErrors))
		}
		if s := restOrder(t, env, adaToken, id).Status; s != contract.StatusCancelled {
			t.Errorf("the order service says %s", s)
		}
		if got := restProduct(t, env, p.ID).Stock; got != p.Stock {
			t.Errorf("stock %d after cancelling, want %d back", got, p.Stock)
		}

		// Cancelled already: not cancellable, and the stock stays.
		cr2, again := cancel(t, id)
		wantOK(t, cr2)
		if again.CancelOrder == nil {
			t.Fatalf("cancelOrder is null: %s", cr2.Raw)
		}
		wantUserErrors(t, "cancel twice", again.CancelOrder.Order, again.CancelOrder.UserErrors,
			gqlUserError{Code: "NOT_CANCELLABLE", Field: []string{"id"}})
		if got := restProduct(t, env, p.ID).Stock; got != p.Stock {
			t.Errorf("stock %d after cancelling twice, want %d", got, p.Stock)
		}
	})

	t.Run("not cancellable", func(t *testing.T) {
		// Ada's seeded orders are in every status.
		byStatus := map[string]contract.Order{}
		after := ""
		for {
			page := restOrders(t, env, adaToken, 100, after)
			for _, o := range page.Orders {
				if _, ok := byStatus[o.Status]; !ok {
					byStatus[o.Status] = o
				}
			}
			if page.NextCursor == nil {
				break
			}
			after = *page.NextCursor
		}
		for _, status := range []string{contract.StatusShipped, contract.StatusDelivered, contract.StatusCancelled} {
			o, ok := byStatus[status]
			if !ok {
				t.Fatalf("Ada has no %s order", status)
			}
			r, got := cancel(t, o.ID)
			wantOK(t, r)
			if got.CancelOrder == nil {
				t.Fatalf("cancelOrder is null: %s", r.Raw)
			}
			wantUserErrors(t, "cancel a "+status+" order", got.CancelOrder.Order, got.CancelOrder.UserErrors,
				gqlUserError{Code: "NOT_CANCELLABLE", Field: []string{"id"}})
			if s := restOrder(t, env, adaToken, o.ID).Status; s != status {
				t.Errorf("the %s order is now %s", status, s)
			}
		}
	})

	t.Run("someone else's", func(t *testing.T) {
		var graces []contract.Order
		for _, o := range restOrders(t, env, graceToken, 100, "").Orders {
			if o.Status == contract.StatusPending || o.Status == contract.StatusPaid {
				graces = append(graces, o)
			}
		}
		if len(graces) == 0 {
			t.Fatal("Grace has no cancellable order")
		}
		for _, id := range []string{graces[0].ID, "ord_doesnotexist0000", "not-an-order"} {
			r, got := cancel(t, id)
			wantOK(t, r)
			if got.CancelOrder == nil {
				t.Fatalf("cancelOrder is null: %s", r.Raw)
			}
			wantUserErrors(t, "cancel "+id, got.CancelOrder.Order, got.CancelOrder.UserErrors,
				gqlUserError{Code: "NOT_FOUND", Field: []string{"id"}})
		}
		if s := restOrder(t, env, adminToken, graces[0].ID).Status; s != graces[0].Status {
			t.Errorf("Grace's order went from %s to %s", graces[0].Status, s)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		r := env.NewClient().Op(t, "CancelOrder", map[string]any{"id": seed.OrderID(0)})
		if got := bfftest.Decode[cancelOrderData](t, r); got.CancelOrder != nil {
			t.Errorf("cancelOrder %s, want null", mustJSON(got.CancelOrder))
		}
		wantError(t, r, "cancelOrder", "UNAUTHENTICATED")
		wantOnlyErrors(t, r, "UNAUTHENTICATED")
	})
}
