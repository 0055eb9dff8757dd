package productsvc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// Reservation statuses.
const (
	statusHeld     = "held"
	statusReleased = "released"
)

// reserve takes stock for every item (merged, in the order first asked)
// in one write transaction, all or nothing, and records the reservation
// with the unit prices of this moment. Repeating a held reservation with
// the same items returns it again with created false.
// Errors: conflict (the id is taken by a released reservation or other
// items), not_found (unknown products, listed in product_ids),
// insufficient_stock (every short product, listed in shortages),
// unavailable (the database stayed busy).
func (s *store) reserve(ctx context.Context, id string, items []contract.ReservationItem) (res contract.Reservation, created bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return contract.Reservation{}, false, dbError("reserve stock", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone

	existing, found, err := readReservation(ctx, tx, id)
	if err != nil {
		return contract.Reservation{}, false, err
	}
	if found {
		if existing.Status == statusHeld && sameItems(existing.Items, items) {
			return existing, false, nil
		}
		if existing.Status == statusReleased {
			return contract.Reservation{}, false, apperr.Errorf(apperr.Conflict, "reservation %s was already released", id)
		}
		return contract.Reservation{}, false, apperr.Errorf(apperr.Conflict, "reservation %s already holds other items", id)
	}

	stock, err := stockOf(ctx, tx, items)
	if err != nil {
		return contract.Reservation{}, false, err
	}
	var missing []string
	var shortages []contract.Shortage
	for _, it := range items {
		p, ok := stock[it.ProductID]
		switch {
		case !ok:
			missing = append(missing, it.ProductID)
		case p.stock < it.Quantity:
			shortages = append(shortages, contract.Shortage{ProductID: it.ProductID, Requested: it.Quantity, Available: p.stock})
		}
	}
	if len(missing) > 0 {
		return contract.Reservation{}, false, apperr.New(apperr.NotFound, "unknown products").With("product_ids", missing)
	}
	if len(shortages) > 0 {
		return contract.Reservation{}, false, apperr.New(apperr.InsufficientStock, "not enough stock").With("shortages", shortages)
	}

	res = contract.Reservation{ReservationID: id, Status: statusHeld, Items: make([]contract.ReservedItem, 0, len(items))}
	for _, it := range items {
		r, err := tx.ExecContext(ctx, `UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?`,
			it.Quantity, it.ProductID, it.Quantity)
		if err != nil {
			return contract.Reservation{}, false, dbError("take stock", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return contract.Reservation{}, false, dbError("take stock", err)
		}
		if n != 1 {
			// The write lock is held since BEGIN IMMEDIATE, so the stock
			// read above cannot have changed.
			return contract.Reservation{}, false, fmt.Errorf("take stock of %s: %d rows changed", it.ProductID, n)
		}
		p := stock[it.ProductID]
		res.Items = append(res.Items, contract.ReservedItem{
			ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceCents: p.priceCents, Currency: p.currency,
		})
	}
	if err := insertReservation(ctx, tx, res, s.now()); err != nil {
		return contract.Reservation{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return contract.Reservation{}, false, dbError("reserve stock", err)
	}
	return res, true, nil
}

// release gives the stock of a held reservation back and marks it
// released; a released one is returned unchanged. An unknown id is
// recorded as released (so that a late reserve under it is a conflict),
// and with restock the given items of known products are put back first;
// unknown products among them are skipped.
// Errors: unavailable (the database stayed busy).
func (s *store) release(ctx context.Context, id string, items []contract.ReservationItem, restock bool) (contract.Reservation, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return contract.Reservation{}, dbError("release stock", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone

	res, found, err := readReservation(ctx, tx, id)
	if err != nil {
		return contract.Reservation{}, err
	}
	now := s.now()
	switch {
	case found && res.Status == statusReleased:
		return res, nil
	case found:
		for _, it := range res.Items {
			if err := addStock(ctx, tx, it.ProductID, it.Quantity); err != nil {
				return contract.Reservation{}, err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reservations SET status = ?, updated_at = ? WHERE id = ?`,
			statusReleased, now.UTC().Format(time.RFC3339), id); err != nil {
			return contract.Reservation{}, dbError("release reservation", err)
		}
		res.Status = statusReleased
	default:
		res = contract.Reservation{ReservationID: id, Status: statusReleased, Items: []contract.ReservedItem{}}
		if restock && len(items) > 0 {
			stock, err := stockOf(ctx, tx, items)
			if err != nil {
				return contract.Reservation{}, err
			}
			for _, it := range items {
				p, ok := stock[it.ProductID]
				if !ok {
					continue
				}
				if err := addStock(ctx, tx, it.ProductID, it.Quantity); err != nil {
					return contract.Reservation{}, err
				}
				res.Items = append(res.Items, contract.ReservedItem{
					ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceCents: p.priceCents, Currency: p.currency,
				})
			}
		}
		if err := insertReservation(ctx, tx, res, now); err != nil {
			return contract.Reservation{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return contract.Reservation{}, dbError("release stock", err)
	}
	return res, nil
}

// productStock is what a reservation needs to know of a product.
type productStock struct {
	stock      int
	priceCents int64
	currency   string
}

// stockOf returns the stock and price of the items' products that exist.
func stockOf(ctx context.Context, tx *sql.Tx, items []contract.ReservationItem) (map[string]productStock, error) {
	productIDs := make([]string, len(items))
	for i, it := range items {
		productIDs[i] = it.ProductID
	}
	in, args := sqlitedb.InList(productIDs)
	rows, err := tx.QueryContext(ctx,
		`SELECT id, stock, price_cents, currency FROM products WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, dbError("read stock", err)
	}
	defer rows.Close()
	out := make(map[string]productStock, len(items))
	for rows.Next() {
		var id string
		var p productStock
		if err := rows.Scan(&id, &p.stock, &p.priceCents, &p.currency); err != nil {
			return nil, dbError("read stock", err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("read stock", err)
	}
	return out, nil
}

func addStock(ctx context.Context, tx *sql.Tx, productID string, quantity int) error {
	if _, err := tx.ExecContext(ctx, `UPDATE products SET stock = stock + ? WHERE id = ?`, quantity, productID); err != nil {
		return dbError("put stock back", err)
	}
	return nil
}

// readReservation returns the reservation recorded under id with its
// items in the order reserved, and whether there is one.
func readReservation(ctx context.Context, tx *sql.Tx, id string) (contract.Reservation, bool, error) {
	res := contract.Reservation{ReservationID: id, Items: []contract.ReservedItem{}}
	err := tx.QueryRowContext(ctx, `SELECT status FROM reservations WHERE id = ?`, id).Scan(&res.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return contract.Reservation{}, false, nil
	}
	if err != nil {
		return contract.Reservation{}, false, dbError("read reservation", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT product_id, quantity, unit_price_cents, currency
		FROM reservation_items WHERE reservation_id = ? ORDER BY position`, id)
	if err != nil {
		return contract.Reservation{}, false, dbError("read reservation", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it contract.ReservedItem
		if err := rows.Scan(&it.ProductID, &it.Quantity, &it.UnitPriceCents, &it.Currency); err != nil {
			return contract.Reservation{}, false, dbError("read reservation", err)
		}
		res.Items = append(res.Items, it)
	}
	if err := rows.Err(); err != nil {
		return contract.Reservation{}, false, dbError("read reservation", err)
	}
	return res, true, nil
}

func insertReservation(ctx context.Context, tx *sql.Tx, res contract.Reservation, now time.Time) error {
	ts := now.UTC().Format(time.RFC3339)
	if _, err := tx.ExecContext(ctx, `INSERT INTO reservations (id, status, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		res.ReservationID, res.Status, ts, ts); err != nil {
		return dbError("record reservation", err)
	}
	for i, it := range res.Items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reservation_items
			(reservation_id, position, product_id, quantity, unit_price_cents, currency) VALUES (?, ?, ?, ?, ?, ?)`,
			res.ReservationID, i, it.ProductID, it.Quantity, it.UnitPriceCents, it.Currency); err != nil {
			return dbError("record reservation", err)
		}
	}
	return nil
}

// sameItems reports whether a recorded reservation holds exactly the
// (merged) items asked, in any order.
func sameItems(held []contract.ReservedItem, asked []contract.ReservationItem) bool {
	if len(held) != len(asked) {
		return false
	}
	want := make(map[string]int, len(asked))
	for _, it := range asked {
		want[it.ProductID] = it.Quantity
	}
	for _, it := range held {
		if q, ok := want[it.ProductID]; !ok || q != it.Quantity {
			return false
		}
	}
	return true
}
