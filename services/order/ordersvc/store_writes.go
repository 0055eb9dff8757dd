package ordersvc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/services/internal/sqlitedb"
)

// Idempotency record states.
const (
	stateInProgress = "in_progress"
	stateCompleted  = "completed"
)

// placement is one attempt to place an order under an idempotency key.
type placement struct {
	Subject     string
	Key         string
	RequestHash string
	OrderID     string
	Items       []contract.ReservationItem
	At          time.Time
}

// idempotencyRecord is what a key already answered or is answering.
type idempotencyRecord struct {
	RequestHash string
	OrderID     string
	State       string
}

// pendingRelease is stock owed back to the product service.
type pendingRelease struct {
	OrderID   string
	Items     []contract.ReservationItem
	Restock   bool
	CreatedAt time.Time
}

// errReleaseClaimed means the reconciler took over a placement's
// reservation to release it, so the order can no longer be written.
var errReleaseClaimed = errors.New("reservation claimed for release")

// beginPlacement records, in one transaction, the idempotency key as in
// progress and the release owed should the process die once stock is
// reserved. When the key is already recorded for the caller it writes
// nothing and returns that record instead.
func (s *store) beginPlacement(ctx context.Context, p placement) (*idempotencyRecord, error) {
	items, err := json.Marshal(p.Items)
	if err != nil {
		return nil, fmt.Errorf("encode items: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin placement: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone
	var rec idempotencyRecord
	err = tx.QueryRowContext(ctx, `SELECT request_hash, order_id, state FROM idempotency_keys WHERE subject = ? AND key = ?`,
		p.Subject, p.Key).Scan(&rec.RequestHash, &rec.OrderID, &rec.State)
	switch {
	case err == nil:
		return &rec, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	at := formatTime(p.At)
	if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (subject, key, request_hash, order_id, state, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.Subject, p.Key, p.RequestHash, p.OrderID, stateInProgress, at); err != nil {
		return nil, fmt.Errorf("record idempotency key: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pending_releases (order_id, items, restock, created_at) VALUES (?, ?, 0, ?)`,
		p.OrderID, string(items), at); err != nil {
		return nil, fmt.Errorf("record pending release: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("begin placement: %w", err)
	}
	return nil, nil
}

// completePlacement writes the order and its items, marks the key
// completed and drops the owed release, in one transaction. It returns
// errReleaseClaimed when the reconciler has taken the release over.
func (s *store) completePlacement(ctx context.Context, p placement, o contract.Order) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("complete placement: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone
	res, err := tx.ExecContext(ctx, `DELETE FROM pending_releases WHERE order_id = ? AND releasing = 0`, p.OrderID)
	if err != nil {
		return fmt.Errorf("drop pending release: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errReleaseClaimed
	}
	if err := insertOrder(ctx, tx, o); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET state = ? WHERE subject = ? AND key = ? AND order_id = ?`,
		stateCompleted, p.Subject, p.Key, p.OrderID); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("complete placement: %w", err)
	}
	return nil
}

// abandonPlacement forgets an idempotency key whose order was not placed,
// so that the caller may retry. When released is set, nothing is owed to
// the product service any more and the pending release goes too; otherwise
// it stays for the reconciler.
func (s *store) abandonPlacement(ctx context.Context, p placement, released bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("abandon placement: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone
	if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE subject = ? AND key = ? AND order_id = ?`,
		p.Subject, p.Key, p.OrderID); err != nil {
		return fmt.Errorf("drop idempotency key: %w", err)
	}
	if released {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_releases WHERE order_id = ?`, p.OrderID); err != nil {
			return fmt.Errorf("drop pending release: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("abandon placement: %w", err)
	}
	return nil
}

// cancel sets an order's status to cancelled and records the stock owed
// back, in one transaction, and returns the cancelled order. visible says
// whether the caller may see an order of that user. It returns NotFound or
// NotCancellable.
func (s *store) cancel(ctx context.Context, id string, visible func(userID string) bool, at time.Time) (contract.Order, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return contract.Order{}, fmt.Errorf("cancel order: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone
	o, err := orderByID(ctx, tx, id)
	if err != nil {
		return contract.Order{}, err
	}
	if !visible(o.UserID) {
		return contract.Order{}, apperr.New(apperr.NotFound, "order not found")
	}
	if o.Status != contract.StatusPending && o.Status != contract.StatusPaid {
		return contract.Order{}, apperr.Errorf(apperr.NotCancellable, "an order that is %s cannot be cancelled", o.Status)
	}
	items, err := json.Marshal(reservationItems(o.Items))
	if err != nil {
		return contract.Order{}, fmt.Errorf("encode items: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ? WHERE id = ?`, contract.StatusCancelled, id); err != nil {
		return contract.Order{}, fmt.Errorf("cancel order: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pending_releases (order_id, items, restock, created_at) VALUES (?, ?, 1, ?)`,
		id, string(items), formatTime(at)); err != nil {
		return contract.Order{}, fmt.Errorf("record pending release: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return contract.Order{}, fmt.Errorf("cancel order: %w", err)
	}
	o.Status = contract.StatusCancelled
	return o, nil
}

// pendingReleases returns the releases owed that were recorded before
// cutoff, oldest first. A row whose time cannot be read counts as old.
func (s *store) pendingReleases(ctx context.Context, cutoff time.Time) ([]pendingRelease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT order_id, items, restock, created_at FROM pending_releases ORDER BY created_at, order_id`)
	if err != nil {
		return nil, fmt.Errorf("read pending releases: %w", err)
	}
	defer rows.Close()
	var out []pendingRelease
	for rows.Next() {
		var pr pendingRelease
		var items, created string
		if err := rows.Scan(&pr.OrderID, &items, &pr.Restock, &created); err != nil {
			return nil, fmt.Errorf("read pending releases: %w", err)
		}
		if err := json.Unmarshal([]byte(items), &pr.Items); err != nil {
			return nil, fmt.Errorf("decode items of pending release %s: %w", pr.OrderID, err)
		}
		if t, err := sqlitedb.ParseTime(created); err == nil {
			pr.CreatedAt = t
			if !t.Before(cutoff) {
				continue
			}
		}
		out = append(out, pr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pending releases: %w", err)
	}
	return out, nil
}

// claimRelease marks a pending release as being released, so that no
// order is written on its reservation any more. It reports false when the
// row is gone (the order was written or the release already done).
func (s *store) claimRelease(ctx context.Context, orderID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE pending_releases SET releasing = 1 WHERE order_id = ?`, orderID)
	if err != nil {
		return false, fmt.Errorf("claim pending release: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim pending release: %w", err)
	}
	return n == 1, nil
}

// finishRelease drops a release that the product service has applied,
// with the key of a placement that never wrote its order, so that the
// caller may retry it.
func (s *store) finishRelease(ctx context.Context, orderID string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish release: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op returning sql.ErrTxDone
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_releases WHERE order_id = ?`, orderID); err != nil {
		return fmt.Errorf("drop pending release: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE order_id = ? AND state = ?`, orderID, stateInProgress); err != nil {
		return fmt.Errorf("drop idempotency key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish release: %w", err)
	}
	return nil
}

// reservationItems returns the product and quantity of each order line.
func reservationItems(items []contract.OrderItem) []contract.ReservationItem {
	out := make([]contract.ReservationItem, len(items))
	for i, it := range items {
		out[i] = contract.ReservationItem{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return out
}
