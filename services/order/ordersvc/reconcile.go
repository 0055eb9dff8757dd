package ordersvc

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// reconciler gives back the stock still owed to the product service: the
// reservations of placements that never wrote their order (the process
// died, or the product service could not be told) and the restocks of
// cancellations the product service did not take in time.
type reconciler struct {
	store    *store
	stock    stockReserver
	interval time.Duration
	grace    time.Duration
	// startedAt is when the service started: the first pass takes every
	// release recorded before it, whatever its age.
	startedAt time.Time
	logger    *slog.Logger
	metrics   *orderMetrics
}

// run makes a first pass over every release owed from before the start,
// then a pass every interval over those older than the grace period, until
// ctx ends.
func (rc *reconciler) run(ctx context.Context) {
	rc.pass(ctx, rc.startedAt)
	t := time.NewTicker(rc.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rc.pass(ctx, time.Now().Add(-rc.grace))
		}
	}
}

// pass releases every owed release recorded before cutoff, logging the
// ones that fail; they are tried again on the next pass.
func (rc *reconciler) pass(ctx context.Context, cutoff time.Time) {
	if err := rc.reconcile(ctx, cutoff); err != nil && ctx.Err() == nil {
		rc.logger.WarnContext(ctx, "reconcile stock releases", "err", err)
	}
}

// reconcile releases every owed release recorded before cutoff and returns
// the failures joined.
func (rc *reconciler) reconcile(ctx context.Context, cutoff time.Time) error {
	owed, err := rc.store.pendingReleases(ctx, cutoff)
	if err != nil {
		return err
	}
	var errs []error
	for _, pr := range owed {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		claimed, err := rc.store.claimRelease(ctx, pr.OrderID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !claimed {
			continue
		}
		if err := rc.stock.Release(ctx, pr.OrderID, pr.Items, pr.Restock); err != nil {
			rc.metrics.releaseReconciled(false)
			errs = append(errs, err)
			continue
		}
		rc.metrics.releaseReconciled(true)
		if err := rc.store.finishRelease(ctx, pr.OrderID); err != nil {
			errs = append(errs, err)
			continue
		}
		rc.logger.InfoContext(ctx, "released owed stock", "order_id", pr.OrderID, "restock", pr.Restock,
			"age", time.Since(pr.CreatedAt).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}
