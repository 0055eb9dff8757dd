package productsvc_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
)

const (
	reservePath = "/internal/v1/reservations"
	// A well-formed product id that is not seeded.
	unknownProduct = "prd_zzzzzzzzzzzzzzzz"
)

func releasePath(id string) string { return reservePath + "/" + id + "/release" }

// inStock returns seeded products with stock, and one without.
func inStock(t *testing.T) (stocked []contract.Product, empty contract.Product) {
	t.Helper()
	for _, p := range seeded() {
		switch {
		case p.Stock >= 5:
			stocked = append(stocked, p)
		case p.Stock == 0 && empty.ID == "":
			empty = p
		}
	}
	if len(stocked) < 8 || empty.ID == "" {
		t.Fatalf("the seed lacks products to reserve: %d in stock, empty %q", len(stocked), empty.ID)
	}
	return stocked, empty
}

func TestReservations(t *testing.T) {
	e := newEnv(t)
	svc := e.stack.ServiceToken
	stocked, empty := inStock(t)
	customer := e.stack.Token(t, "grace@example.com", "grace123")
	admin := e.stack.Token(t, "admin@example.com", "admin123")

	t.Run("only the service token is admitted", func(t *testing.T) {
		body := contract.ReserveRequest{ReservationID: "ord_auth1", Items: []contract.ReservationItem{{ProductID: stocked[0].ID, Quantity: 1}}}
		for _, tc := range []struct {
			name, token string
			status      int
			code        string
		}{
			{"no token", "", 401, "unauthenticated"},
			{"customer token", customer, 403, "forbidden"},
			{"admin token", admin, 403, "forbidden"},
			{"wrong service token", svc + "x", 403, "forbidden"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, tc.token, body), tc.status, tc.code, "")
				testutil.WantProblem(t, e.call(t, http.MethodPost, releasePath("ord_auth1"), tc.token, "{}"), tc.status, tc.code, "")
			})
		}
		if got := e.stockOf(t, stocked[0].ID); got != stocked[0].Stock {
			t.Errorf("stock %d after refused calls, want %d", got, stocked[0].Stock)
		}
	})

	t.Run("reserve, replay, conflict, release", func(t *testing.T) {
		p, q := stocked[0], stocked[1]
		req := contract.ReserveRequest{ReservationID: "ord_flow1", Items: []contract.ReservationItem{
			{ProductID: p.ID, Quantity: 2}, {ProductID: q.ID, Quantity: 1}, {ProductID: p.ID, Quantity: 1},
		}}
		a := e.call(t, http.MethodPost, reservePath, svc, req)
		if a.Status != http.StatusCreated {
			t.Fatalf("reserve: status %d: %s", a.Status, a.Body)
		}
		want := contract.Reservation{ReservationID: "ord_flow1", Status: "held", Items: []contract.ReservedItem{
			{ProductID: p.ID, Quantity: 3, UnitPriceCents: p.PriceCents, Currency: contract.Currency},
			{ProductID: q.ID, Quantity: 1, UnitPriceCents: q.PriceCents, Currency: contract.Currency},
		}}
		if got := testutil.MustJSON[contract.Reservation](t, a.Body); !equalReservation(got, want) {
			t.Errorf("reserved %+v, want %+v", got, want)
		}
		if got := e.stockOf(t, p.ID); got != p.Stock-3 {
			t.Errorf("stock of %s %d, want %d", p.ID, got, p.Stock-3)
		}

		// The same items in another order and split differently: the
		// first answer again, nothing taken twice.
		replay := contract.ReserveRequest{ReservationID: "ord_flow1", Items: []contract.ReservationItem{
			{ProductID: q.ID, Quantity: 1}, {ProductID: p.ID, Quantity: 3},
		}}
		a = e.call(t, http.MethodPost, reservePath, svc, replay)
		if a.Status != http.StatusOK {
			t.Fatalf("replay: status %d, want 200: %s", a.Status, a.Body)
		}
		if got := testutil.MustJSON[contract.Reservation](t, a.Body); !equalReservation(got, want) {
			t.Errorf("replayed %+v, want %+v", got, want)
		}
		if got := e.stockOf(t, p.ID); got != p.Stock-3 {
			t.Errorf("stock of %s %d after replay, want %d", p.ID, got, p.Stock-3)
		}

		other := contract.ReserveRequest{ReservationID: "ord_flow1", Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
		testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, svc, other), 409, "conflict", "")

		for i := range 2 { // the second release changes nothing
			a = e.call(t, http.MethodPost, releasePath("ord_flow1"), svc, "{}")
			if a.Status != http.StatusOK {
				t.Fatalf("release %d: status %d: %s", i, a.Status, a.Body)
			}
			want.Status = "released"
			if got := testutil.MustJSON[contract.Reservation](t, a.Body); !equalReservation(got, want) {
				t.Errorf("release %d: %+v, want %+v", i, got, want)
			}
			if got := e.stockOf(t, p.ID); got != p.Stock {
				t.Errorf("release %d: stock of %s %d, want %d", i, p.ID, got, p.Stock)
			}
			if got := e.stockOf(t, q.ID); got != q.Stock {
				t.Errorf("release %d: stock of %s %d, want %d", i, q.ID, got, q.Stock)
			}
		}
		// A released reservation cannot be taken again, even with its items.
		testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, svc, req), 409, "conflict", "")
	})

	t.Run("unknown products reserve nothing", func(t *testing.T) {
		p := stocked[2]
		req := contract.ReserveRequest{ReservationID: "ord_unknown1", Items: []contract.ReservationItem{
			{ProductID: p.ID, Quantity: 1}, {ProductID: unknownProduct, Quantity: 1},
		}}
		prob := testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, svc, req), 404, "not_found", "")
		if got := detail[[]string](t, prob.Extra, "product_ids"); !slices.Equal(got, []string{unknownProduct}) {
			t.Errorf("product_ids %v, want [%s]", got, unknownProduct)
		}
		if got := e.stockOf(t, p.ID); got != p.Stock {
			t.Errorf("stock %d, want %d untouched", got, p.Stock)
		}
	})

	t.Run("insufficient stock lists every shortage and reserves nothing", func(t *testing.T) {
		short, fine := stocked[3], stocked[4]
		req := contract.ReserveRequest{ReservationID: "ord_short1", Items: []contract.ReservationItem{
			{ProductID: fine.ID, Quantity: 1},
			{ProductID: short.ID, Quantity: short.Stock + 1},
			{ProductID: empty.ID, Quantity: 1},
		}}
		prob := testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, svc, req), 409, "insufficient_stock", "")
		want := []contract.Shortage{
			{ProductID: short.ID, Requested: short.Stock + 1, Available: short.Stock},
			{ProductID: empty.ID, Requested: 1, Available: 0},
		}
		if got := detail[[]contract.Shortage](t, prob.Extra, "shortages"); !slices.Equal(got, want) {
			t.Errorf("shortages %+v, want %+v", got, want)
		}
		for _, p := range []contract.Product{short, fine, empty} {
			if got := e.stockOf(t, p.ID); got != p.Stock {
				t.Errorf("stock of %s %d, want %d untouched", p.ID, got, p.Stock)
			}
		}
		// The refused id was not recorded: it can still be reserved.
		req.Items = []contract.ReservationItem{{ProductID: short.ID, Quantity: short.Stock}}
		if a := e.call(t, http.MethodPost, reservePath, svc, req); a.Status != http.StatusCreated {
			t.Fatalf("reserve all the stock: status %d: %s", a.Status, a.Body)
		}
		if got := e.stockOf(t, short.ID); got != 0 {
			t.Errorf("stock %d after taking all of it, want 0", got)
		}
	})

	t.Run("restock under an unknown id puts items back once", func(t *testing.T) {
		p := stocked[5]
		body := contract.ReleaseRequest{Restock: true, Items: []contract.ReservationItem{
			{ProductID: p.ID, Quantity: 2}, {ProductID: unknownProduct, Quantity: 1}, {ProductID: p.ID, Quantity: 1},
		}}
		want := contract.Reservation{ReservationID: "ord_old1", Status: "released", Items: []contract.ReservedItem{
			{ProductID: p.ID, Quantity: 3, UnitPriceCents: p.PriceCents, Currency: contract.Currency},
		}}
		for i := range 2 {
			a := e.call(t, http.MethodPost, releasePath("ord_old1"), svc, body)
			if a.Status != http.StatusOK {
				t.Fatalf("restock %d: status %d: %s", i, a.Status, a.Body)
			}
			if got := testutil.MustJSON[contract.Reservation](t, a.Body); !equalReservation(got, want) {
				t.Errorf("restock %d: %+v, want %+v", i, got, want)
			}
			if got := e.stockOf(t, p.ID); got != p.Stock+3 {
				t.Errorf("restock %d: stock %d, want %d", i, got, p.Stock+3)
			}
		}
		late := contract.ReserveRequest{ReservationID: "ord_old1", Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
		testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, svc, late), 409, "conflict", "")
	})

	t.Run("a release before the reserve leaves a tombstone", func(t *testing.T) {
		p := stocked[6]
		// Items without restock are not put back; an empty body is {}.
		withItems := contract.ReleaseRequest{Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 4}}}
		for id, body := range map[string]any{"ord_late1": withItems, "ord_late2": "", "ord_late3": "{}"} {
			a := e.call(t, http.MethodPost, releasePath(id), svc, body)
			if a.Status != http.StatusOK {
				t.Fatalf("release %s: status %d: %s", id, a.Status, a.Body)
			}
			want := contract.Reservation{ReservationID: id, Status: "released", Items: []contract.ReservedItem{}}
			if got := testutil.MustJSON[contract.Reservation](t, a.Body); !equalReservation(got, want) {
				t.Errorf("release %s: %+v, want %+v", id, got, want)
			}
			late := contract.ReserveRequest{ReservationID: id, Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
			testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, svc, late), 409, "conflict", "")
		}
		if got := e.stockOf(t, p.ID); got != p.Stock {
			t.Errorf("stock %d, want %d untouched", got, p.Stock)
		}
	})

	t.Run("bad requests name the parameter", func(t *testing.T) {
		p := stocked[7].ID
		many := make([]contract.ReservationItem, 101)
		for i := range many {
			many[i] = contract.ReservationItem{ProductID: seed.ProductID(i), Quantity: 1}
		}
		item := func(id string, q int) []contract.ReservationItem {
			return []contract.ReservationItem{{ProductID: id, Quantity: q}}
		}
		tests := []struct {
			name  string
			path  string
			body  any
			param string
		}{
			{"malformed reservation id", reservePath, contract.ReserveRequest{ReservationID: "usr_1", Items: item(p, 1)}, "reservation_id"},
			{"missing reservation id", reservePath, contract.ReserveRequest{Items: item(p, 1)}, "reservation_id"},
			{"no items", reservePath, contract.ReserveRequest{ReservationID: "ord_bad1"}, "items"},
			{"101 items", reservePath, contract.ReserveRequest{ReservationID: "ord_bad1", Items: many}, "items"},
			{"quantity zero", reservePath, contract.ReserveRequest{ReservationID: "ord_bad1", Items: item(p, 0)}, "items[0].quantity"},
			{"quantity too large", reservePath, contract.ReserveRequest{ReservationID: "ord_bad1", Items: item(p, 1001)}, "items[0].quantity"},
			{"malformed product id", reservePath, contract.ReserveRequest{ReservationID: "ord_bad1", Items: item("prd_A", 1)}, "items[0].product_id"},
			{"unknown field", reservePath, `{"reservation_id":"ord_bad1","items":[],"extra":1}`, "extra"},
			{"not JSON", reservePath, `{"reservation_id":`, "body"},
			{"quantity of the wrong type", reservePath, `{"reservation_id":"ord_bad1","items":[{"product_id":"` + p + `","quantity":"1"}]}`, "items.quantity"},
			{"malformed release id", releasePath("prd_1"), "{}", "id"},
			{"release item quantity", releasePath("ord_bad2"), contract.ReleaseRequest{Restock: true, Items: item(p, -1)}, "items[0].quantity"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				testutil.WantProblem(t, e.call(t, http.MethodPost, tc.path, svc, tc.body), 400, "invalid_argument", tc.param)
			})
		}
		// None of the refused releases left a tombstone.
		req := contract.ReserveRequest{ReservationID: "ord_bad2", Items: item(p, 1)}
		if a := e.call(t, http.MethodPost, reservePath, svc, req); a.Status != http.StatusCreated {
			t.Errorf("reserve after a refused release: status %d: %s", a.Status, a.Body)
		}
	})
}

// TestNoOversell races 50 reservations of one unit for a product with
// exactly 10 in stock: exactly 10 win and the stock ends at 0.
func TestNoOversell(t *testing.T) {
	e := newEnv(t)
	svc := e.stack.ServiceToken
	page := get[contract.ProductPage](t, e, "/v1/products?limit=100", "")
	var p contract.Product
	for _, c := range page.Products {
		if c.Stock >= 10 {
			p = c
			break
		}
	}
	if p.ID == "" {
		t.Fatal("no product with 10 or more in stock")
	}
	if surplus := p.Stock - 10; surplus > 0 {
		req := contract.ReserveRequest{ReservationID: "ord_surplus", Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: surplus}}}
		if a := e.call(t, http.MethodPost, reservePath, svc, req); a.Status != http.StatusCreated {
			t.Fatalf("reserve the surplus: status %d: %s", a.Status, a.Body)
		}
	}
	if got := e.stockOf(t, p.ID); got != 10 {
		t.Fatalf("stock %d, want 10", got)
	}

	const n = 50
	statuses := make([]int, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req := contract.ReserveRequest{ReservationID: fmt.Sprintf("ord_race%d", i), Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
			a := e.call(t, http.MethodPost, reservePath, svc, req)
			statuses[i] = a.Status
			if a.Status != http.StatusCreated {
				var prob struct{ Code string }
				_ = json.Unmarshal(a.Body, &prob)
				codes[i] = prob.Code
			}
		})
	}
	close(start)
	wg.Wait()

	won, short := 0, 0
	for i, s := range statuses {
		switch {
		case s == http.StatusCreated:
			won++
		case s == http.StatusConflict && codes[i] == "insufficient_stock":
			short++
		default:
			t.Errorf("reservation %d: status %d code %q, want 201 or 409 insufficient_stock", i, s, codes[i])
		}
	}
	if won != 10 || short != n-10 {
		t.Errorf("%d reserved and %d short, want 10 and %d", won, short, n-10)
	}
	if got := e.stockOf(t, p.ID); got != 0 {
		t.Errorf("stock %d after the race, want 0", got)
	}
}

// TestDataSurvivesRestart stops and restarts the product service on the
// same data directory: stock, reservations and tombstones are kept and
// the catalogue is not seeded twice.
func TestDataSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	svc := e.stack.ServiceToken
	stocked, _ := inStock(t)
	p := stocked[0]
	req := contract.ReserveRequest{ReservationID: "ord_keep1", Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 2}}}
	if a := e.call(t, http.MethodPost, reservePath, svc, req); a.Status != http.StatusCreated {
		t.Fatalf("reserve: status %d: %s", a.Status, a.Body)
	}
	if a := e.call(t, http.MethodPost, releasePath("ord_gone1"), svc, "{}"); a.Status != http.StatusOK {
		t.Fatalf("release: status %d: %s", a.Status, a.Body)
	}

	url := e.stack.Product.URL
	e.stack.Stop(t, "product")
	e.stack.Start(t, "product")
	if e.stack.Product.URL != url {
		t.Fatalf("restarted at %s, want %s", e.stack.Product.URL, url)
	}

	if got := e.stockOf(t, p.ID); got != p.Stock-2 {
		t.Errorf("stock %d after restart, want %d", got, p.Stock-2)
	}
	if a := e.call(t, http.MethodPost, reservePath, svc, req); a.Status != http.StatusOK {
		t.Errorf("replay after restart: status %d, want 200: %s", a.Status, a.Body)
	}
	late := contract.ReserveRequest{ReservationID: "ord_gone1", Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
	testutil.WantProblem(t, e.call(t, http.MethodPost, reservePath, svc, late), 409, "conflict", "")
	admin := e.stack.Token(t, "admin@example.com", "admin123")
	if got := get[contract.Count](t, e, "/v1/products/count", admin); got.Count != len(seeded()) {
		t.Errorf("count %d after restart, want %d", got.Count, len(seeded()))
	}
}

// detail re-decodes a problem's extension member into T.
func detail[T any](t *testing.T, extra map[string]any, key string) T {
	t.Helper()
	raw, err := json.Marshal(extra[key])
	if err != nil {
		t.Fatalf("encode %s: %v", key, err)
	}
	return testutil.MustJSON[T](t, raw)
}

func equalReservation(a, b contract.Reservation) bool {
	return a.ReservationID == b.ReservationID && a.Status == b.Status && slices.Equal(a.Items, b.Items)
}
