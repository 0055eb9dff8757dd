package ordersvc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/requestctx"
	"github.com/acme/bff-gateway/services/internal/rest"
)

// Placement limits and headers.
const (
	replayedHeader     = "Idempotent-Replayed"
	ordersLocationBase = "/v1/orders/"
)

// placeOrder places an order under the caller's Idempotency-Key: stock is
// reserved at the product service, then the order is written with the
// prices reserved. Repeating the request with the same key and body
// answers the same order again. Errors: invalid_argument, unauthenticated,
// forbidden, payload_too_large, unsupported_media_type,
// idempotency_key_reused, idempotency_in_progress, insufficient_stock,
// unprocessable, unavailable, internal.
func (h *handlers) placeOrder(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequirePrincipal(r.Context())
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req contract.PlaceOrderRequest
	if err := rest.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := validatePlaceOrder(p, req); err != nil {
		return err
	}
	o, replayed, err := h.place(r.Context(), p, key, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", ordersLocationBase+o.ID)
	if replayed {
		w.Header().Set(replayedHeader, "true")
	}
	return rest.JSON(w, http.StatusCreated, o)
}

// idempotencyKey returns the Idempotency-Key header: 1 to 255 visible
// ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get(contract.IdempotencyKeyHeader)
	if !contract.ValidIdempotencyKey(key) {
		return "", apperr.InvalidParam(contract.IdempotencyKeyHeader, "the %s header must be 1 to %d visible ASCII characters",
			contract.IdempotencyKeyHeader, contract.MaxIdempotencyKeyLen)
	}
	return key, nil
}

// validatePlaceOrder checks a placement: a well-formed user id that a
// customer may only give as their own, and 1 to 50 lines of distinct
// products in quantities of 1 to 1000.
func validatePlaceOrder(p auth.Principal, req contract.PlaceOrderRequest) error {
	if !ids.ValidUser(req.UserID) {
		return apperr.InvalidParam("user_id", "user_id must be a user id")
	}
	if !canSee(p, req.UserID) {
		return apperr.New(apperr.Forbidden, "a customer can only order for themselves")
	}
	if len(req.Items) == 0 || len(req.Items) > contract.MaxOrderLines {
		return apperr.InvalidParam("items", "items must hold 1 to %d lines", contract.MaxOrderLines)
	}
	seen := make(map[string]bool, len(req.Items))
	for i, it := range req.Items {
		if !ids.ValidProduct(it.ProductID) {
			return apperr.InvalidParam(fmt.Sprintf("items[%d].product_id", i), "product_id must be a product id")
		}
		if seen[it.ProductID] {
			return apperr.InvalidParam(fmt.Sprintf("items[%d].product_id", i), "a product may appear on one line only")
		}
		seen[it.ProductID] = true
		if it.Quantity < 1 || it.Quantity > contract.MaxLineQuantity {
			return apperr.InvalidParam(fmt.Sprintf("items[%d].quantity", i), "quantity must be from 1 to %d", contract.MaxLineQuantity)
		}
	}
	return nil
}

// requestHash is the SHA-256 of the request's canonical JSON encoding.
func requestHash(req contract.PlaceOrderRequest) (string, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("encode request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// place runs a placement to its end and reports whether the order is a
// replay of an earlier one. The steps are ordered so that a crash at any
// point leaves either the order written or its reservation owed back (a
// pending release, handled by the reconciler).
func (h *handlers) place(ctx context.Context, p auth.Principal, key string, req contract.PlaceOrderRequest) (contract.Order, bool, error) {
	hash, err := requestHash(req)
	if err != nil {
		return contract.Order{}, false, err
	}
	pl := placement{
		Subject:     p.Subject,
		Key:         key,
		RequestHash: hash,
		OrderID:     ids.New(ids.OrderPrefix),
		Items:       req.Items,
		At:          h.now(),
	}
	prev, err := h.store.beginPlacement(ctx, pl)
	if err != nil {
		return contract.Order{}, false, err
	}
	if prev != nil {
		o, err := h.replay(ctx, prev, hash)
		return o, err == nil, err
	}
	// From here on the placement runs to its end even if the caller goes
	// away, so that a retry finds it completed or abandoned.
	ctx = context.WithoutCancel(ctx)
	res, err := h.stock.Reserve(ctx, pl.OrderID, pl.Items)
	if err != nil {
		return contract.Order{}, false, h.reserveFailed(ctx, pl, err)
	}
	o, err := newOrder(pl, req.UserID, res)
	if err == nil {
		err = h.store.completePlacement(ctx, pl, o)
	}
	if err != nil {
		h.giveUp(ctx, pl)
		if errors.Is(err, errReleaseClaimed) {
			return contract.Order{}, false, apperr.Wrap(apperr.Unavailable, "the order could not be placed in time, try again", err)
		}
		return contract.Order{}, false, err
	}
	h.metrics.orderPlaced()
	return o, false, nil
}

// replay answers a key already used by the caller: the same order for the
// same request once completed. Errors: idempotency_key_reused,
// idempotency_in_progress.
func (h *handlers) replay(ctx context.Context, prev *idempotencyRecord, hash string) (contract.Order, error) {
	switch {
	case prev.RequestHash != hash:
		return contract.Order{}, apperr.New(apperr.IdempotencyKeyReused, "this Idempotency-Key was used for a different request")
	case prev.State != stateCompleted:
		return contract.Order{}, apperr.New(apperr.IdempotencyInProgress, "a request with this Idempotency-Key is still in progress")
	}
	return h.store.byID(ctx, prev.OrderID)
}

// reserveFailed undoes a placement whose reservation failed and returns
// the error to answer: insufficient_stock with the shortages, unprocessable
// for unknown products, unavailable when the product service could not be
// reached (whatever it may have reserved is released, now or by the
// reconciler).
func (h *handlers) reserveFailed(ctx context.Context, pl placement, err error) error {
	code := apperr.CodeOf(err)
	switch code {
	case apperr.Unavailable, apperr.Timeout, apperr.Internal:
		h.giveUp(ctx, pl)
		return apperr.Wrap(apperr.Unavailable, "the product service is unavailable, try again", err)
	}
	// The product service refused: nothing was reserved.
	h.abandon(ctx, pl, true)
	upstream, _ := apperr.As(err)
	switch code {
	case apperr.InsufficientStock:
		h.metrics.orderRefused("insufficient_stock")
		e := apperr.New(apperr.InsufficientStock, "some products are short of stock")
		if upstream != nil && upstream.Details["shortages"] != nil {
			e = e.With("shortages", upstream.Details["shortages"])
		}
		return e
	case apperr.NotFound:
		h.metrics.orderRefused("unknown_product")
		e := &apperr.Error{Code: apperr.Unprocessable, Message: "some products do not exist", Param: "items"}
		if upstream != nil && upstream.Details["product_ids"] != nil {
			e = e.With("product_ids", upstream.Details["product_ids"])
		}
		return e
	}
	return apperr.Wrap(apperr.Internal, "the product service refused the reservation", err)
}

// giveUp releases whatever a placement may have reserved and forgets its
// key. When the release fails, the pending release stays for the
// reconciler.
func (h *handlers) giveUp(ctx context.Context, pl placement) {
	err := h.stock.Release(ctx, pl.OrderID, pl.Items, false)
	if err != nil {
		requestctx.LoggerFromContext(ctx).WarnContext(ctx, "release failed, left to the reconciler",
			"order_id", pl.OrderID, "err", err)
	}
	h.abandon(ctx, pl, err == nil)
}

// abandon forgets a placement's key, and its pending release when nothing
// is owed; a failure is logged (the reconciler clears both later).
func (h *handlers) abandon(ctx context.Context, pl placement, released bool) {
	if err := h.store.abandonPlacement(ctx, pl, released); err != nil {
		requestctx.LoggerFromContext(ctx).ErrorContext(ctx, "abandon placement", "order_id", pl.OrderID, "err", err)
	}
}

// newOrder builds the order of a placement at the prices reserved.
func newOrder(pl placement, userID string, res contract.Reservation) (contract.Order, error) {
	reserved := make(map[string]contract.ReservedItem, len(res.Items))
	for _, it := range res.Items {
		reserved[it.ProductID] = it
	}
	o := contract.Order{
		ID:        pl.OrderID,
		UserID:    userID,
		Status:    contract.StatusPending,
		Items:     make([]contract.OrderItem, 0, len(pl.Items)),
		Currency:  contract.Currency,
		CreatedAt: pl.At.UTC().Truncate(time.Microsecond),
	}
	for _, it := range pl.Items {
		r, ok := reserved[it.ProductID]
		if !ok || r.Quantity != it.Quantity || r.Currency != contract.Currency || r.UnitPriceCents < 0 {
			return contract.Order{}, fmt.Errorf("reservation %s does not match line %s", pl.OrderID, it.ProductID)
		}
		o.Items = append(o.Items, contract.OrderItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceCents: r.UnitPriceCents})
		o.TotalCents += int64(it.Quantity) * r.UnitPriceCents
	}
	return o, nil
}

// cancelOrder cancels a pending or paid order and gives its stock back: a
// customer only their own (anyone else's is not_found). When the product
// service cannot take the stock now, the order is cancelled all the same
// and the reconciler returns the stock later. Errors: invalid_argument,
// unauthenticated, not_found, not_cancellable.
func (h *handlers) cancelOrder(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequirePrincipal(r.Context())
	if err != nil {
		return err
	}
	id, err := rest.PathID(r, "id", ids.ValidOrder)
	if err != nil {
		return err
	}
	o, err := h.store.cancel(r.Context(), id, func(userID string) bool { return canSee(p, userID) }, h.now())
	if err != nil {
		return err
	}
	h.metrics.orderCancelled()
	ctx := context.WithoutCancel(r.Context())
	if err := h.stock.Release(ctx, o.ID, reservationItems(o.Items), true); err != nil {
		requestctx.LoggerFromContext(ctx).WarnContext(ctx, "restock failed, left to the reconciler", "order_id", o.ID, "err", err)
	} else if err := h.store.finishRelease(ctx, o.ID); err != nil {
		requestctx.LoggerFromContext(ctx).ErrorContext(ctx, "finish release", "order_id", o.ID, "err", err)
	}
	return rest.JSON(w, http.StatusOK, o)
}
