package ordersvc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// store keeps orders, their items, idempotency records and owed stock
// releases in SQLite.
type store struct {
	db *sql.DB
}

// dbTimeLayout is how timestamps are stored: UTC with a fixed width, so
// that text order is time order (the keyset pagination relies on it).
const dbTimeLayout = contract.SortableTimeLayout

func formatTime(t time.Time) string { return t.UTC().Format(dbTimeLayout) }

const orderColumns = `id, user_id, status, total_cents, currency, created_at`

func scanOrder(row interface{ Scan(...any) error }) (contract.Order, error) {
	var o contract.Order
	var created string
	if err := row.Scan(&o.ID, &o.UserID, &o.Status, &o.TotalCents, &o.Currency, &created); err != nil {
		return contract.Order{}, err
	}
	t, err := sqlitedb.ParseTime(created)
	if err != nil {
		return contract.Order{}, fmt.Errorf("parse created_at of %s: %w", o.ID, err)
	}
	o.CreatedAt = t
	o.Items = []contract.OrderItem{}
	return o, nil
}

// querier is what reads need: the database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// byID returns one order with its items, or NotFound.
func (s *store) byID(ctx context.Context, id string) (contract.Order, error) {
	return orderByID(ctx, s.db, id)
}

func orderByID(ctx context.Context, q querier, id string) (contract.Order, error) {
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return contract.Order{}, apperr.New(apperr.NotFound, "order not found")
	}
	if err != nil {
		return contract.Order{}, fmt.Errorf("read order: %w", err)
	}
	orders := []contract.Order{o}
	if err := withItems(ctx, q, orders); err != nil {
		return contract.Order{}, err
	}
	return orders[0], nil
}

// byIDs returns the orders found with their items, keyed by id.
func (s *store) byIDs(ctx context.Context, ids []string) (map[string]contract.Order, error) {
	in, args := sqlitedb.InList(ids)
	q := `SELECT ` + orderColumns + ` FROM orders WHERE id IN (` + in + `)`
	orders, err := queryOrders(ctx, s.db, q, args...)
	if err != nil {
		return nil, err
	}
	found := make(map[string]contract.Order, len(orders))
	for _, o := range orders {
		found[o.ID] = o
	}
	return found, nil
}

// page returns up to limit orders newest first (of one user, or of
// everyone when userID is ""), after the cursor when one is given, and
// whether more follow.
func (s *store) page(ctx context.Context, userID string, after *contract.Cursor, limit int) ([]contract.Order, bool, error) {
	return pageOf(ctx, s.db, userID, after, limit)
}

func pageOf(ctx context.Context, db querier, userID string, after *contract.Cursor, limit int) ([]contract.Order, bool, error) {
	var where []string
	var args []any
	if userID != "" {
		where = append(where, `user_id = ?`)
		args = append(args, userID)
	}
	if after != nil {
		where = append(where, `(created_at, id) < (?, ?)`)
		args = append(args, after.Key, after.ID)
	}
	q := `SELECT ` + orderColumns + ` FROM orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	orders, err := queryOrders(ctx, db, q, args...)
	if err != nil {
		return nil, false, err
	}
	if len(orders) > limit {
		return orders[:limit], true, nil
	}
	return orders, false, nil
}

// count returns the number of orders of one user, or of everyone when
// userID is "".
func (s *store) count(ctx context.Context, userID string) (int, error) {
	q, args := `SELECT count(*) FROM orders`, []any(nil)
	if userID != "" {
		q, args = q+` WHERE user_id = ?`, []any{userID}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count orders: %w", err)
	}
	return n, nil
}

// stats returns the shop's order totals; revenue leaves cancelled orders
// out. They are read from order_totals, which triggers keep in step with
// every write to orders (migration 00002), not by scanning the orders.
func (s *store) stats(ctx context.Context) (contract.OrderStats, error) {
	return statsOf(ctx, s.db)
}

// recentWithStats returns the newest limit orders of everyone and the
// order totals, read in one transaction: the totals count exactly the
// orders the list could show (an order placed between two separate reads
// could be in one and not the other).
func (s *store) recentWithStats(ctx context.Context, limit int) ([]contract.Order, contract.OrderStats, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, contract.OrderStats{}, fmt.Errorf("recent orders with stats: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a read: nothing to commit
	stats, err := statsOf(ctx, tx)
	if err != nil {
		return nil, contract.OrderStats{}, err
	}
	orders, _, err := pageOf(ctx, tx, "", nil, limit)
	if err != nil {
		return nil, contract.OrderStats{}, err
	}
	return orders, stats, nil
}

func statsOf(ctx context.Context, db querier) (contract.OrderStats, error) {
	return statsByQuery(ctx, db, `SELECT status, count, total_cents FROM order_totals`)
}

// statsByQuery returns the order totals from a query whose rows are a
// status, its number of orders and the sum of their totals.
func statsByQuery(ctx context.Context, db querier, query string) (contract.OrderStats, error) {
	out := contract.OrderStats{Currency: contract.Currency, ByStatus: make(map[string]int, len(contract.OrderStatuses))}
	for _, st := range contract.OrderStatuses {
		out.ByStatus[st] = 0
	}
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return contract.OrderStats{}, fmt.Errorf("order stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		var sum int64
		if err := rows.Scan(&status, &n, &sum); err != nil {
			return contract.OrderStats{}, fmt.Errorf("order stats: %w", err)
		}
		out.ByStatus[status] = n
		out.Count += n
		if status != contract.StatusCancelled {
			out.RevenueCents += sum
		}
	}
	if err := rows.Err(); err != nil {
		return contract.OrderStats{}, fmt.Errorf("order stats: %w", err)
	}
	return out, nil
}

// queryOrders runs an order query and loads the items of every order found
// with one more query.
func queryOrders(ctx context.Context, db querier, q string, args ...any) ([]contract.Order, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	defer rows.Close()
	orders := []contract.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("read orders: %w", err)
		}
		orders = append(orders, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	rows.Close()
	if err := withItems(ctx, db, orders); err != nil {
		return nil, err
	}
	return orders, nil
}

// withItems fills in the items of orders with a single query.
func withItems(ctx context.Context, q querier, orders []contract.Order) error {
	if len(orders) == 0 {
		return nil
	}
	index := make(map[string]int, len(orders))
	ids := make([]string, len(orders))
	for i, o := range orders {
		index[o.ID] = i
		ids[i] = o.ID
	}
	in, args := sqlitedb.InList(ids)
	rows, err := q.QueryContext(ctx, `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items
		WHERE order_id IN (`+in+`) ORDER BY order_id, line`, args...)
	if err != nil {
		return fmt.Errorf("read order items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var orderID string
		var it contract.OrderItem
		if err := rows.Scan(&orderID, &it.ProductID, &it.Quantity, &it.UnitPriceCents); err != nil {
			return fmt.Errorf("read order items: %w", err)
		}
		i := index[orderID]
		orders[i].Items = append(orders[i].Items, it)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read order items: %w", err)
	}
	return nil
}

// execer is what writes need: a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertOrder writes an order and its items.
func insertOrder(ctx context.Context, tx execer, o contract.Order) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, user_id, status, total_cents, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		o.ID, o.UserID, o.Status, o.TotalCents, o.Currency, formatTime(o.CreatedAt)); err != nil {
		return fmt.Errorf("insert order %s: %w", o.ID, err)
	}
	for line, it := range o.Items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)`,
			o.ID, line, it.ProductID, it.Quantity, it.UnitPriceCents); err != nil {
			return fmt.Errorf("insert item of order %s: %w", o.ID, err)
		}
	}
	return nil
}

// seedIfEmpty inserts the seed orders in one transaction when the table is
// empty.
func (s *store) seedIfEmpty(ctx context.Context, orders []contract.Order) (bool, error) {
	return sqlitedb.SeedIfEmpty(ctx, s.db, "orders", func(tx *sql.Tx) error {
		for _, o := range orders {
			if err := insertOrder(ctx, tx, o); err != nil {
				return fmt.Errorf("seed orders: %w", err)
			}
		}
		return nil
	})
}
