package ordersvc_test

import (
	"net/http"
	"testing"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
)

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seeded := seededOrders()
	cancel := func(t *testing.T, token, id string) testutil.Answer {
		t.Helper()
		return e.call(t, http.MethodPost, "/v1/orders/"+id+"/cancel", token, nil, nil)
	}

	t.Run("placed order gives its stock back", func(t *testing.T) {
		p := e.productsWithStock(t, 1, 4)[0]
		o := e.mustPlace(t, e.ada, contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 4}}})
		if got := e.stockOf(t, p.ID); got != p.Stock-4 {
			t.Fatalf("stock %d after ordering, want %d", got, p.Stock-4)
		}
		a := cancel(t, e.ada, o.ID)
		if a.Status != http.StatusOK {
			t.Fatalf("status %d: %s", a.Status, a.Body)
		}
		if got := testutil.MustJSON[contract.Order](t, a.Body); got.ID != o.ID || got.Status != contract.StatusCancelled || len(got.Items) != 1 {
			t.Errorf("answer %+v, want order %s cancelled with its item", got, o.ID)
		}
		if got := e.stockOf(t, p.ID); got != p.Stock {
			t.Errorf("stock %d after cancelling, want %d", got, p.Stock)
		}
		if got := get[contract.Order](t, e, "/v1/orders/"+o.ID, e.ada); got.Status != contract.StatusCancelled {
			t.Errorf("status %s after cancelling, want cancelled", got.Status)
		}
		testutil.WantProblem(t, cancel(t, e.ada, o.ID), http.StatusConflict, "not_cancellable", "")
		if got := e.stockOf(t, p.ID); got != p.Stock {
			t.Errorf("stock %d after a second cancel, want %d", got, p.Stock)
		}
	})

	t.Run("seeded pending order is restocked", func(t *testing.T) {
		o := seeded[0]
		if o.Status != contract.StatusPending || o.UserID != adaID {
			t.Fatalf("seed: order 0 is %s of %s, want pending of ada", o.Status, o.UserID)
		}
		before := map[string]int{}
		for _, it := range o.Items {
			before[it.ProductID] = e.stockOf(t, it.ProductID)
		}
		if a := cancel(t, e.ada, o.ID); a.Status != http.StatusOK {
			t.Fatalf("status %d: %s", a.Status, a.Body)
		}
		for _, it := range o.Items {
			if got := e.stockOf(t, it.ProductID); got != before[it.ProductID]+it.Quantity {
				t.Errorf("stock of %s is %d, want %d + %d", it.ProductID, got, before[it.ProductID], it.Quantity)
			}
		}
	})

	t.Run("admin cancels a customer's paid order", func(t *testing.T) {
		o := seeded[seed.OrdersPerFixedCustomer+1]
		if o.Status != contract.StatusPaid || o.UserID != graceID {
			t.Fatalf("seed: order is %s of %s, want paid of grace", o.Status, o.UserID)
		}
		if a := cancel(t, e.admin, o.ID); a.Status != http.StatusOK {
			t.Fatalf("status %d: %s", a.Status, a.Body)
		}
	})

	for _, i := range []int{2, 3, 4} { // shipped, delivered, cancelled
		o := seeded[i]
		t.Run("not cancellable when "+o.Status, func(t *testing.T) {
			testutil.WantProblem(t, cancel(t, e.ada, o.ID), http.StatusConflict, "not_cancellable", "")
			if got := get[contract.Order](t, e, "/v1/orders/"+o.ID, e.ada); got.Status != o.Status {
				t.Errorf("status %s, want it unchanged at %s", got.Status, o.Status)
			}
		})
	}

	t.Run("another customer's order is not found", func(t *testing.T) {
		o := seeded[seed.OrdersPerFixedCustomer] // grace's pending order
		testutil.WantProblem(t, cancel(t, e.ada, o.ID), http.StatusNotFound, "not_found", "")
		if got := get[contract.Order](t, e, "/v1/orders/"+o.ID, e.grace); got.Status != o.Status {
			t.Errorf("status %s, want it unchanged at %s", got.Status, o.Status)
		}
	})
	t.Run("unknown order", func(t *testing.T) {
		testutil.WantProblem(t, cancel(t, e.admin, "ord_nosuchorder"), http.StatusNotFound, "not_found", "")
	})
	t.Run("malformed id", func(t *testing.T) {
		testutil.WantProblem(t, cancel(t, e.admin, "nope"), http.StatusBadRequest, "invalid_argument", "id")
	})
	t.Run("anonymous", func(t *testing.T) {
		testutil.WantProblem(t, cancel(t, "", seeded[1].ID), http.StatusUnauthorized, "unauthenticated", "")
	})
}
