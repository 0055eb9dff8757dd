package ordersvc

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// scannedStats are the order totals counted from the orders themselves, as
// /v1/orders/stats did before order_totals: what the triggers must keep.
func scannedStats(t *testing.T, s *store) contract.OrderStats {
	t.Helper()
	out, err := statsByQuery(context.Background(), s.db,
		`SELECT status, count(*), coalesce(sum(total_cents), 0) FROM orders GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantTotals(t *testing.T, s *store, when string) {
	t.Helper()
	got, err := s.stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := scannedStats(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: stats %+v, the orders add up to %+v", when, got, want)
	}
}

func openStore(t *testing.T, path string, migrations fs.FS) *store {
	t.Helper()
	db, err := sqlitedb.Open(context.Background(), path, migrations, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &store{db: db}
}

func allMigrations(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// randomOrders are n orders of random status and total.
func randomOrders(rng *rand.Rand, n int) []contract.Order {
	out := make([]contract.Order, n)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = contract.Order{
			ID: ids.New(ids.OrderPrefix), UserID: ids.New(ids.UserPrefix),
			Status:     contract.OrderStatuses[rng.IntN(len(contract.OrderStatuses))],
			TotalCents: rng.Int64N(100_000), Currency: contract.Currency,
			CreatedAt: at.Add(time.Duration(i) * time.Second),
		}
	}
	return out
}

func insert(t *testing.T, s *store, orders []contract.Order) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, o := range orders {
		if err := insertOrder(ctx, tx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestOrderTotalsFollowEveryWrite: after inserts, cancellations, other
// changes of status and of total, deletes, and a write rolled back, the
// totals read from order_totals are what the orders add up to.
func TestOrderTotalsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	s := openStore(t, filepath.Join(t.TempDir(), "orders.db"), allMigrations(t))
	wantTotals(t, s, "empty")
	orders := randomOrders(rng, 300)
	insert(t, s, orders)
	wantTotals(t, s, "after 300 inserts")

	everyone := func(string) bool { return true }
	cancelled := 0
	for _, o := range orders {
		if o.Status == contract.StatusPending || o.Status == contract.StatusPaid {
			if _, err := s.cancel(ctx, o.ID, everyone, time.Now()); err != nil {
				t.Fatal(err)
			}
			if cancelled++; cancelled == 40 {
				break
			}
		}
	}
	wantTotals(t, s, "after cancellations")

	for i, o := range orders[100:160] {
		status := contract.OrderStatuses[i%len(contract.OrderStatuses)]
		if _, err := s.db.ExecContext(ctx, `UPDATE orders SET status = ?, total_cents = ? WHERE id = ?`, status, rng.Int64N(5000), o.ID); err != nil {
			t.Fatal(err)
		}
	}
	wantTotals(t, s, "after changes of status and total")

	if _, err := s.db.ExecContext(ctx, `DELETE FROM orders WHERE id IN (?, ?, ?)`, orders[0].ID, orders[1].ID, orders[2].ID); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, s, "after deletes")

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := insertOrder(ctx, tx, randomOrders(rng, 1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, s, "after a rolled back insert")
}

// TestOrderTotalsCountTheOrdersOfBefore: a database written before
// order_totals existed gets totals of the orders it holds when migrated.
func TestOrderTotalsCountTheOrdersOfBefore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orders.db")
	first, err := fs.ReadFile(allMigrations(t), "00001_orders.sql")
	if err != nil {
		t.Fatal(err)
	}
	old := openStore(t, path, fstest.MapFS{"00001_orders.sql": {Data: first}})
	insert(t, old, randomOrders(rand.New(rand.NewPCG(3, 4)), 200))
	before := scannedStats(t, old)
	if err := old.db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openStore(t, path, allMigrations(t))
	wantTotals(t, s, "after the migration")
	if got := scannedStats(t, s); got.Count != 200 || !reflect.DeepEqual(got, before) {
		t.Fatalf("the migration changed the orders: %+v, were %+v", got, before)
	}
}
