package app_test

import (
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
		Order *struct {
			ID             string `json:"id"`
			Status         string `json:"status"`
			TotalFormatted string `json:"totalFormatted"`
		} `json:"order"`
		UserErrors []struct {
			Field   []string `json:"field"`
			Message string   `json:"message"`
			Code    string   `json:"code"`
		} `json:"userErrors"`
	} `json:"placeOrder"`
}

type line struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	grace := signIn(t, env, graceEmail, gracePassword)
	token := env.Stack.Token(t, graceEmail, gracePassword)
	stock := func(id string) int {
		t.Helper()
		return rest[contract.Product](t, token, env.Stack.Product.URL+"/v1/products/"+id).Stock
	}
	all := rest[contract.ProductPage](t, token, env.Stack.Product.URL+"/v1/products?limit=100")
	var inStock []contract.Product
	var soldOut *contract.Product
	for i, p := range all.Products {
		if p.Stock >= 3 {
			inStock = append(inStock, p)
		} else if p.Stock == 0 && soldOut == nil {
			soldOut = &all.Products[i]
		}
	}
	if len(inStock) < 2 || soldOut == nil {
		t.Fatal("the seed lacks products in stock or sold out")
	}
	p, other := inStock[0], inStock[1]
	before := stock(p.ID)

	// An order, then the same again under its key: one order, stock taken
	// once.
	vars := map[string]any{"items": []line{{p.ID, 2}}, "idempotencyKey": "mobile-order-1"}
	var firstID string
	for attempt := 1; attempt <= 2; attempt++ {
		r := grace.Op(t, "PlaceOrder", vars)
		out := bfftest.Decode[placeOrderData](t, r).PlaceOrder
		if len(r.Errors) > 0 || out == nil || out.Order == nil || len(out.UserErrors) > 0 {
			t.Fatalf("attempt %d: %s", attempt, r.Raw)
		}
		if out.Order.Status != "PENDING" || out.Order.TotalFormatted != usd(2*p.PriceCents) {
			t.Errorf("attempt %d: order %+v, want PENDING for %s", attempt, *out.Order, usd(2*p.PriceCents))
		}
		if attempt == 1 {
			firstID = out.Order.ID
		} else if out.Order.ID != firstID {
			t.Errorf("the same key again placed order %s, want %s", out.Order.ID, firstID)
		}
	}
	o := rest[contract.Order](t, token, env.Stack.Order.URL+"/v1/orders/"+firstID)
	if o.UserID != seed.UserID(2) || o.Status != contract.StatusPending || o.TotalCents != 2*p.PriceCents {
		t.Errorf("the order service has %+v, want Grace's pending order of %d cents", o, 2*p.PriceCents)
	}
	if after := stock(p.ID); after != before-2 {
		t.Errorf("stock %d after ordering 2 twice under one key, want %d", after, before-2)
	}

	tests := []struct {
		name  string
		items []line
		code  string
		field []string
	}{
		{"more than in stock", []line{{other.ID, other.Stock + 1}}, "OUT_OF_STOCK", []string{"items", "0", "productId"}},
		{"sold out", []line{{soldOut.ID, 1}}, "OUT_OF_STOCK", []string{"items", "0", "productId"}},
		{"quantity 0", []line{{other.ID, 1}, {p.ID, 0}}, "INVALID_QUANTITY", []string{"items", "1", "quantity"}},
		{"quantity 1001", []line{{other.ID, 1001}}, "INVALID_QUANTITY", []string{"items", "0", "quantity"}},
		{"unknown product", []line{{"prd_zzzzzzzzzzzzzzzz", 1}}, "UNKNOWN_PRODUCT", nil},
		{"malformed product id", []line{{"nope", 1}}, "UNKNOWN_PRODUCT", []string{"items", "0", "productId"}},
		{"no items", []line{}, "EMPTY_ORDER", []string{"items"}},
	}
	otherBefore := stock(other.ID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := grace.Op(t, "PlaceOrder", map[string]any{"items": tt.items, "idempotencyKey": "mobile-" + strings.ReplaceAll(tt.name, " ", "-")})
			out := bfftest.Decode[placeOrderData](t, r).PlaceOrder
			if len(r.Errors) > 0 || out == nil {
				t.Fatalf("%s", r.Raw)
			}
			if out.Order != nil || len(out.UserErrors) == 0 || out.UserErrors[0].Code != tt.code || out.UserErrors[0].Message == "" {
				t.Fatalf("want order null and a %s user error: %s", tt.code, r.Raw)
			}
			field := out.UserErrors[0].Field
			if tt.field != nil && !slices.Equal(field, tt.field) || len(field) == 0 || field[0] != "items" {
				t.Errorf("field %v, want %v (or under items)", field, tt.field)
			}
		})
	}
	if got := stock(other.ID); got != otherBefore {
		t.Errorf("refused orders changed the stock from %d to %d", otherBefore, got)
	}

	// Without a token there is no order.
	r := appClient(env).Op(t, "PlaceOrder", map[string]any{"items": []line{{p.ID, 1}}, "idempotencyKey": "mobile-anonymous"})
	if r.Status != http.StatusOK || bfftest.Decode[placeOrderData](t, r).PlaceOrder != nil {
		t.Errorf("PlaceOrder without a token: %d %s", r.Status, r.Raw)
	}
	wantError(t, r, "placeOrder", "UNAUTHENTICATED")
}
