package ordersvc_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
)

// openOrdersDB opens the order service's database directly, as a crash
// would have left it.
func openOrdersDB(t *testing.T, e *env) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.stack.DataDir, "orders.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatalf("open orders.db: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestCrashRecovery simulates a crash after stock was reserved and before
// the order was written: the owed release recorded before reserving is
// applied when the service starts again, and the key becomes usable.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.productsWithStock(t, 1, 3)[0]
	items := []contract.ReservationItem{{ProductID: p.ID, Quantity: 3}}
	orderID := e.reserve(t, items)
	if got := e.stockOf(t, p.ID); got != p.Stock-3 {
		t.Fatalf("stock %d after reserving, want %d", got, p.Stock-3)
	}

	e.stack.Stop(t, "order")
	db := openOrdersDB(t, e)
	itemsJSON, _ := json.Marshal(items)
	now := time.Now().UTC().Format(time.RFC3339)
	if _, err := db.Exec(`INSERT INTO pending_releases (order_id, items, restock, created_at) VALUES (?, ?, ?, ?)`,
		orderID, string(itemsJSON), false, now); err != nil {
		t.Fatalf("insert pending release: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO idempotency_keys (subject, key, request_hash, order_id, state, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		adaID, "crashed-key", "0000", orderID, "in_progress", now); err != nil {
		t.Fatalf("insert idempotency key: %v", err)
	}
	e.stack.Start(t, "order")

	eventually(t, 5*time.Second, "stock restored", func() bool { return e.stockOf(t, p.ID) == p.Stock })
	eventually(t, 5*time.Second, "pending release dropped", func() bool { return countRows(t, db, "pending_releases") == 0 })
	a := e.place(t, e.ada, "crashed-key", contract.PlaceOrderRequest{UserID: adaID, Items: items})
	if a.Status != http.StatusCreated || a.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("placing with the crashed placement's key: status %d: %s", a.Status, a.Body)
	}
	if got := e.stockOf(t, p.ID); got != p.Stock-3 {
		t.Errorf("stock %d after placing, want %d", got, p.Stock-3)
	}
}

// TestIdempotencyInProgress: a key whose placement is still running
// answers 409 to the same request and 422 to another.
func TestIdempotencyInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.productsWithStock(t, 1, 1)[0]
	req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 1}}}
	canonical, _ := json.Marshal(req)
	sum := sha256.Sum256(canonical)
	db := openOrdersDB(t, e)
	if _, err := db.Exec(`INSERT INTO idempotency_keys (subject, key, request_hash, order_id, state, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		adaID, "running-key", hex.EncodeToString(sum[:]), "ord_running", "in_progress", time.Now().UTC().Format(time.RFC3339)); err != nil {
		t.Fatalf("insert idempotency key: %v", err)
	}
	testutil.WantProblem(t, e.place(t, e.ada, "running-key", req), http.StatusConflict, "idempotency_in_progress", "")
	req.Items[0].Quantity = 2
	testutil.WantProblem(t, e.place(t, e.ada, "running-key", req), http.StatusUnprocessableEntity, "idempotency_key_reused", "")
	if got := e.stockOf(t, p.ID); got != p.Stock {
		t.Errorf("stock %d, want it untouched at %d", got, p.Stock)
	}
}

// TestProductServiceDown: placing answers 503 and keeps no stock; a
// cancellation still succeeds and its stock comes back once the product
// service is up and the order service reconciles (here at its restart).
// Orders survive the restart.
func TestProductServiceDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.productsWithStock(t, 1, 2)[0]
	req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: p.ID, Quantity: 2}}}
	placed := e.mustPlace(t, e.ada, req)
	statsBefore := get[contract.OrderStats](t, e, "/v1/orders/stats", e.admin)

	e.stack.Stop(t, "product")
	key := newKey()
	testutil.WantProblem(t, e.place(t, e.ada, key, req), http.StatusServiceUnavailable, "unavailable", "")
	a := e.call(t, http.MethodPost, "/v1/orders/"+placed.ID+"/cancel", e.ada, nil, nil)
	if a.Status != http.StatusOK || testutil.MustJSON[contract.Order](t, a.Body).Status != contract.StatusCancelled {
		t.Fatalf("cancel with the product service down: status %d: %s", a.Status, a.Body)
	}
	e.stack.Start(t, "product")
	if got := e.stockOf(t, p.ID); got != p.Stock-2 {
		t.Fatalf("stock %d before reconciling, want %d", got, p.Stock-2)
	}

	e.stack.Stop(t, "order")
	e.stack.Start(t, "order")
	eventually(t, 5*time.Second, "stock restored", func() bool { return e.stockOf(t, p.ID) == p.Stock })

	got := get[contract.Order](t, e, "/v1/orders/"+placed.ID, e.ada)
	if got.Status != contract.StatusCancelled || got.TotalCents != placed.TotalCents || !got.CreatedAt.Equal(placed.CreatedAt) {
		t.Errorf("after restart: %+v, want %+v cancelled", got, placed)
	}
	statsAfter := get[contract.OrderStats](t, e, "/v1/orders/stats", e.admin)
	if statsAfter.Count != statsBefore.Count || statsAfter.RevenueCents != statsBefore.RevenueCents-placed.TotalCents {
		t.Errorf("stats after restart %+v, before %+v", statsAfter, statsBefore)
	}

	// The failed placement freed its key.
	a = e.place(t, e.ada, key, req)
	if a.Status != http.StatusCreated {
		t.Fatalf("retry after the outage: status %d: %s", a.Status, a.Body)
	}
	if got := e.stockOf(t, p.ID); got != p.Stock-2 {
		t.Errorf("stock %d after the retry, want %d", got, p.Stock-2)
	}
}

// TestReconcilerRetriesPeriodically: with a short interval and no grace,
// a restock the product service missed is applied without a restart.
func TestReconcilerRetriesPeriodically(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, servicetest.StackOptions{Env: map[string]string{
		"RECONCILE_INTERVAL": "50ms",
		"RELEASE_GRACE":      "0s",
	}})
	o := seededOrders()[0]
	before := map[string]int{}
	for _, it := range o.Items {
		before[it.ProductID] = e.stockOf(t, it.ProductID)
	}
	e.stack.Stop(t, "product")
	if a := e.call(t, http.MethodPost, "/v1/orders/"+o.ID+"/cancel", e.ada, nil, nil); a.Status != http.StatusOK {
		t.Fatalf("cancel: status %d: %s", a.Status, a.Body)
	}
	e.stack.Start(t, "product")
	for _, it := range o.Items {
		eventually(t, 5*time.Second, "restock of "+it.ProductID, func() bool {
			return e.stockOf(t, it.ProductID) == before[it.ProductID]+it.Quantity
		})
	}
}
