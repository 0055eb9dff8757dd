package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

// orderListData is the OrderList document's answer.
type orderListData struct {
	MyOrders *struct {
		Items []struct {
			ID             string    `json:"id"`
			Status         string    `json:"status"`
			TotalFormatted string    `json:"totalFormatted"`
			ItemCount      int       `json:"itemCount"`
			PlacedAt       time.Time `json:"placedAt"`
		} `json:"items"`
		NextCursor *string `json:"nextCursor"`
	} `json:"myOrders"`
}

// TestOrderListPagesThroughAllOrders pages through Ada's orders five at a
// time and finds each of her orders once, in the order service's order.
func TestOrderListPagesThroughAllOrders(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	ada := signIn(t, env, adaEmail, adaPassword)
	token := env.Stack.Token(t, adaEmail, adaPassword)
	all := rest[contract.OrderPage](t, token, env.Stack.Order.URL+"/v1/orders?limit=100&user_id="+seed.UserID(1))
	if all.NextCursor != nil || len(all.Orders) <= 10 {
		t.Fatalf("Ada has %d orders (more: %v); the test wants 11 to 100", len(all.Orders), all.NextCursor != nil)
	}
	want := make([]string, len(all.Orders))
	byID := map[string]contract.Order{}
	for i, o := range all.Orders {
		want[i] = o.ID
		byID[o.ID] = o
	}

	var got []string
	var after *string
	for page := 1; ; page++ {
		vars := map[string]any{"first": 5}
		if after != nil {
			vars["after"] = *after
		}
		r := ada.Op(t, "OrderList", vars)
		list := bfftest.Decode[orderListData](t, r).MyOrders
		if len(r.Errors) > 0 || list == nil {
			t.Fatalf("page %d: %s", page, r.Raw)
		}
		for _, o := range list.Items {
			w := byID[o.ID]
			items := 0
			for _, it := range w.Items {
				items += it.Quantity
			}
			if o.Status != strings.ToUpper(w.Status) || o.TotalFormatted != usd(w.TotalCents) ||
				o.ItemCount != items || !o.PlacedAt.Equal(w.CreatedAt) {
				t.Errorf("order %+v, want %s %s with %d items placed %s", o, w.Status, usd(w.TotalCents), items, w.CreatedAt)
			}
			got = append(got, o.ID)
		}
		if list.NextCursor == nil {
			break
		}
		if len(list.Items) != 5 {
			t.Errorf("page %d has %d orders and a next cursor; want 5", page, len(list.Items))
		}
		if page > len(want) {
			t.Fatal("the pages do not end")
		}
		after = list.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("paging found\n%v\nwant\n%v", got, want)
	}

	// The default page is 20 orders.
	r := ada.Op(t, "OrderList", nil)
	if list := bfftest.Decode[orderListData](t, r).MyOrders; list == nil || len(list.Items) != min(20, len(want)) {
		t.Errorf("OrderList without variables: %s", r.Raw)
	}
}

func TestOrderListRefusals(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	ada := signIn(t, env, adaEmail, adaPassword)
	tests := []struct {
		name   string
		client *bfftest.Client
		vars   map[string]any
		code   string
	}{
		{"no token", appClient(env), nil, "UNAUTHENTICATED"},
		{"first 0", ada, map[string]any{"first": 0}, "BAD_USER_INPUT"},
		{"first 51", ada, map[string]any{"first": 51}, "BAD_USER_INPUT"},
		{"a cursor it did not make", ada, map[string]any{"after": "not a cursor"}, "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.client.Op(t, "OrderList", tt.vars)
			if r.Status != http.StatusOK || bfftest.Decode[orderListData](t, r).MyOrders != nil {
				t.Errorf("%d %s, want 200 and myOrders null", r.Status, r.Raw)
			}
			wantError(t, r, "myOrders", tt.code)
		})
	}
}
