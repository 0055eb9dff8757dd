package ordersvc_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
)

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ps := e.productsWithStock(t, 2, 5)
	p, q := ps[0], ps[1]
	req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{
		{ProductID: p.ID, Quantity: 3},
		{ProductID: q.ID, Quantity: 1},
	}}
	key := newKey()

	a := e.place(t, e.ada, key, req)
	if a.Status != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", a.Status, a.Body)
	}
	o := testutil.MustJSON[contract.Order](t, a.Body)
	if loc := a.Header.Get("Location"); loc != "/v1/orders/"+o.ID {
		t.Errorf("Location %q, want /v1/orders/%s", loc, o.ID)
	}
	if a.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a first placement is marked replayed")
	}
	wantItems := []contract.OrderItem{
		{ProductID: p.ID, Quantity: 3, UnitPriceCents: p.PriceCents},
		{ProductID: q.ID, Quantity: 1, UnitPriceCents: q.PriceCents},
	}
	want := contract.Order{ID: o.ID, UserID: adaID, Status: contract.StatusPending, Items: wantItems,
		TotalCents: 3*p.PriceCents + q.PriceCents, Currency: contract.Currency}
	wantSameOrder(t, o, want)
	if o.CreatedAt.IsZero() || o.CreatedAt.Location().String() != "UTC" {
		t.Errorf("created_at %v, want a UTC time", o.CreatedAt)
	}
	if got := e.stockOf(t, p.ID); got != p.Stock-3 {
		t.Errorf("stock of %s is %d, want %d", p.ID, got, p.Stock-3)
	}
	if got := e.stockOf(t, q.ID); got != q.Stock-1 {
		t.Errorf("stock of %s is %d, want %d", q.ID, got, q.Stock-1)
	}
	wantSameOrder(t, get[contract.Order](t, e, "/v1/orders/"+o.ID, e.ada), want)

	t.Run("same key and body replays", func(t *testing.T) {
		a := e.place(t, e.ada, key, req)
		if a.Status != http.StatusCreated || a.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("status %d, Idempotent-Replayed %q: want 201 and true: %s", a.Status, a.Header.Get("Idempotent-Replayed"), a.Body)
		}
		wantSameOrder(t, testutil.MustJSON[contract.Order](t, a.Body), want)
		if got := e.stockOf(t, p.ID); got != p.Stock-3 {
			t.Errorf("stock of %s is %d after a replay, want %d", p.ID, got, p.Stock-3)
		}
		if page := get[contract.OrderPage](t, e, "/v1/orders?limit=1", e.ada); page.Orders[0].ID != o.ID {
			t.Errorf("newest order of ada is %s, want %s only once", page.Orders[0].ID, o.ID)
		}
	})
	t.Run("same key other body", func(t *testing.T) {
		other := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
		testutil.WantProblem(t, e.place(t, e.ada, key, other), http.StatusUnprocessableEntity, "idempotency_key_reused", "")
		if got := e.stockOf(t, p.ID); got != p.Stock-3 {
			t.Errorf("stock of %s is %d, want %d", p.ID, got, p.Stock-3)
		}
	})
	t.Run("keys are per caller", func(t *testing.T) {
		mine := contract.PlaceOrderRequest{UserID: graceID, Items: []contract.ReservationItem{{ProductID: q.ID, Quantity: 1}}}
		a := e.place(t, e.grace, key, mine)
		if a.Status != http.StatusCreated || a.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("status %d: %s", a.Status, a.Body)
		}
		if got := testutil.MustJSON[contract.Order](t, a.Body); got.ID == o.ID || got.UserID != graceID {
			t.Errorf("grace's order %s of %s, want a new order of hers", got.ID, got.UserID)
		}
	})
	t.Run("admin for another user", func(t *testing.T) {
		got := e.mustPlace(t, e.admin, contract.PlaceOrderRequest{UserID: graceID, Items: []contract.ReservationItem{{ProductID: q.ID, Quantity: 1}}})
		if got.UserID != graceID {
			t.Errorf("user_id %s, want %s", got.UserID, graceID)
		}
		get[contract.Order](t, e, "/v1/orders/"+got.ID, e.grace)
	})
}

func TestPlaceOrderRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.productsWithStock(t, 1, 5)[0]
	valid := map[string]any{"user_id": adaID, "items": []map[string]any{{"product_id": p.ID, "quantity": 1}}}
	withItems := func(items ...map[string]any) map[string]any {
		return map[string]any{"user_id": adaID, "items": items}
	}
	line := func(id string, qty int) map[string]any { return map[string]any{"product_id": id, "quantity": qty} }
	fiftyOne := make([]map[string]any, 51)
	for i := range fiftyOne {
		fiftyOne[i] = line(fmt.Sprintf("prd_line%d", i), 1)
	}

	cases := []struct {
		name   string
		token  string
		header http.Header
		body   any
		status int
		code   string
		param  string
	}{
		{name: "anonymous", body: valid, status: 401, code: "unauthenticated"},
		{name: "no key", token: e.ada, header: http.Header{}, body: valid, status: 400, code: "invalid_argument", param: "Idempotency-Key"},
		{name: "key too long", token: e.ada, header: keyHeader(strings.Repeat("k", 256)), body: valid, status: 400, code: "invalid_argument", param: "Idempotency-Key"},
		{name: "key with a space", token: e.ada, header: keyHeader("my key"), body: valid, status: 400, code: "invalid_argument", param: "Idempotency-Key"},
		{name: "for another user", token: e.ada, body: map[string]any{"user_id": graceID, "items": valid["items"]}, status: 403, code: "forbidden"},
		{name: "malformed user_id", token: e.admin, body: map[string]any{"user_id": "ada", "items": valid["items"]}, status: 400, code: "invalid_argument", param: "user_id"},
		{name: "no items", token: e.ada, body: withItems(), status: 400, code: "invalid_argument", param: "items"},
		{name: "items missing", token: e.ada, body: map[string]any{"user_id": adaID}, status: 400, code: "invalid_argument", param: "items"},
		{name: "51 lines", token: e.ada, body: withItems(fiftyOne...), status: 400, code: "invalid_argument", param: "items"},
		{name: "zero quantity", token: e.ada, body: withItems(line(p.ID, 1), line("prd_other", 0)), status: 400, code: "invalid_argument", param: "items[1].quantity"},
		{name: "quantity over 1000", token: e.ada, body: withItems(line(p.ID, 1001)), status: 400, code: "invalid_argument", param: "items[0].quantity"},
		{name: "malformed product id", token: e.ada, body: withItems(line("PRD-1", 1)), status: 400, code: "invalid_argument", param: "items[0].product_id"},
		{name: "product twice", token: e.ada, body: withItems(line(p.ID, 1), line(p.ID, 2)), status: 400, code: "invalid_argument", param: "items[1].product_id"},
		{name: "unknown field", token: e.ada, body: map[string]any{"user_id": adaID, "items": valid["items"], "coupon": "FREE"}, status: 400, code: "invalid_argument", param: "coupon"},
		{name: "wrong type", token: e.ada, body: `{"user_id":"` + adaID + `","items":[{"product_id":"` + p.ID + `","quantity":"2"}]}`, status: 400, code: "invalid_argument", param: "items.quantity"},
		{name: "broken JSON", token: e.ada, body: `{"user_id":`, status: 400, code: "invalid_argument", param: "body"},
		{name: "empty body", token: e.ada, body: "", status: 400, code: "invalid_argument", param: "body"},
		{name: "over 1 MiB", token: e.ada, body: `{"user_id":"` + strings.Repeat("x", contract.MaxBodyBytes) + `"}`, status: 413, code: "payload_too_large"},
		{name: "not JSON", token: e.ada, header: http.Header{"Idempotency-Key": {newKey()}, "Content-Type": {"text/plain"}}, body: "hello", status: 415, code: "unsupported_media_type"},
		{name: "unknown product", token: e.ada, body: withItems(line(p.ID, 1), line("prd_nosuchproduct", 1)), status: 422, code: "unprocessable", param: "items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header
			if header == nil {
				header = keyHeader(newKey())
			}
			a := e.call(t, http.MethodPost, "/v1/orders", tc.token, tc.body, header)
			prob := testutil.WantProblem(t, a, tc.status, tc.code, tc.param)
			if tc.name == "unknown product" {
				ids, _ := prob.Extra["product_ids"].([]any)
				if len(ids) != 1 || ids[0] != "prd_nosuchproduct" {
					t.Errorf("product_ids %v, want [prd_nosuchproduct]", prob.Extra["product_ids"])
				}
			}
		})
	}
	if got := e.stockOf(t, p.ID); got != p.Stock {
		t.Errorf("stock of %s is %d after refused orders, want %d", p.ID, got, p.Stock)
	}
	if page := get[contract.OrderPage](t, e, "/v1/orders?limit=1", e.admin); page.TotalCount != servicetest.SmallSeed.Orders {
		t.Errorf("%d orders after refused placements, want %d", page.TotalCount, servicetest.SmallSeed.Orders)
	}
}

func TestPlaceOrderInsufficientStock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ps := e.productsWithStock(t, 2, 5)
	p, q := ps[0], ps[1]
	key := newKey()
	req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{
		{ProductID: q.ID, Quantity: 1},
		{ProductID: p.ID, Quantity: p.Stock + 1},
	}}
	prob := testutil.WantProblem(t, e.place(t, e.ada, key, req), http.StatusConflict, "insufficient_stock", "")
	raw, _ := json.Marshal(prob.Extra["shortages"])
	var shortages []contract.Shortage
	if err := json.Unmarshal(raw, &shortages); err != nil {
		t.Fatalf("shortages %s: %v", raw, err)
	}
	want := []contract.Shortage{{ProductID: p.ID, Requested: p.Stock + 1, Available: p.Stock}}
	if len(shortages) != 1 || shortages[0] != want[0] {
		t.Errorf("shortages %+v, want %+v", shortages, want)
	}
	if got := e.stockOf(t, p.ID); got != p.Stock {
		t.Errorf("stock of %s is %d, want %d", p.ID, got, p.Stock)
	}
	if got := e.stockOf(t, q.ID); got != q.Stock {
		t.Errorf("stock of %s is %d, want it untouched at %d", q.ID, got, q.Stock)
	}

	// A refused placement frees its key for the retry.
	req.Items[1].Quantity = p.Stock
	a := e.place(t, e.ada, key, req)
	if a.Status != http.StatusCreated || a.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry with the same key: status %d: %s", a.Status, a.Body)
	}
	if got := e.stockOf(t, p.ID); got != 0 {
		t.Errorf("stock of %s is %d after ordering all of it, want 0", p.ID, got)
	}
}

// TestConcurrentOrders races 50 placements for a product with 10 in stock:
// exactly 10 must win.
func TestConcurrentOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.productsWithStock(t, 1, 10)[0]
	if surplus := p.Stock - 10; surplus > 0 {
		e.reserve(t, []contract.ReservationItem{{ProductID: p.ID, Quantity: surplus}})
	}
	if got := e.stockOf(t, p.ID); got != 10 {
		t.Fatalf("stock %d, want 10", got)
	}

	// Warm the order service's JWKS cache first: this test is about the
	// stock race, not the first token verification.
	get[contract.OrderPage](t, e, "/v1/orders?limit=1", e.ada)

	const n = 50
	statuses := make([]int, n)
	placed := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token := e.ada
			if i%2 == 1 {
				token = e.admin
			}
			req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
			a, err := testutil.Send(t.Context(), e.orders, http.MethodPost, e.stack.Order.URL+"/v1/orders", token, req, keyHeader(newKey()))
			if err != nil {
				t.Errorf("placement %d: %v", i, err)
				return
			}
			statuses[i] = a.Status
			switch a.Status {
			case http.StatusCreated:
				placed[i] = testutil.MustJSON[contract.Order](t, a.Body).ID
			case http.StatusConflict:
				if p := testutil.MustJSON[problem.Problem](t, a.Body); p.Code != "insufficient_stock" {
					t.Errorf("placement %d: code %s, want insufficient_stock", i, p.Code)
				}
			default:
				t.Errorf("placement %d: status %d: %s", i, a.Status, a.Body)
			}
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 10 || count[http.StatusConflict] != 40 {
		t.Errorf("got %v, want 10 × 201 and 40 × 409", count)
	}
	if got := e.stockOf(t, p.ID); got != 0 {
		t.Errorf("stock %d after the race, want 0", got)
	}
	var won []string
	for _, id := range placed {
		if id != "" {
			won = append(won, id)
		}
	}
	batch := get[contract.OrderBatch](t, e, "/v1/orders?ids="+strings.Join(won, ","), e.ada)
	if len(batch.Orders) != len(won) || len(batch.Missing) != 0 {
		t.Errorf("ada sees %d of the %d orders placed (missing %v)", len(batch.Orders), len(won), batch.Missing)
	}
}
