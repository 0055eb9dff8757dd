package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/restclient"
)

// Orders is the client of the order service. Every call forwards the
// caller's own bearer token from the context; a customer sees only their
// own orders (anyone else's are NotFound), an admin everyone's.
//
// Besides the codes listed on each method, every call can fail with
// Unavailable (service down, 5xx, unreadable answer, or its breaker open),
// Timeout (the call timeout or the caller's deadline), Unauthenticated
// without a valid token, or the context's error when the caller cancelled.
// Place and Cancel are retried as reads are (see the package
// documentation), Place with the same key and body; after Unavailable or
// Timeout their outcome is still unknown, and Place may be repeated with
// the same key.
type Orders struct {
	c *restclient.Client
}

// OrderQuery selects a page of orders, newest first. Empty fields are left
// out: the caller's own orders for a customer or everyone's for an admin,
// the service's default page size (20), the first page.
type OrderQuery struct {
	// UserID is whose orders to list.
	UserID string
	// Limit is the page size, 1 to 100.
	Limit int
	// Cursor is the NextCursor of the previous page.
	Cursor string
}

// Get returns one order. It returns NotFound for an unknown order or
// another user's, and Invalid (param "id") for a malformed id, without a
// call.
func (o *Orders) Get(ctx context.Context, id string) (contract.Order, error) {
	if !ids.ValidOrder(id) {
		return contract.Order{}, malformedID("order")
	}
	var out contract.Order
	err := o.c.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "orders", id)}, &out)
	return out, err
}

// Batch returns the orders with the given ids in the order asked, repeats
// dropped; ids not found, another user's, or malformed (those are not
// sent) are listed in Missing. No ids, or only malformed ones, answer
// without a call. It returns Invalid for more than contract.MaxBatchIDs ids.
func (o *Orders) Batch(ctx context.Context, orderIDs []string) (contract.OrderBatch, error) {
	good, malformed, err := splitIDs(orderIDs, ids.ValidOrder)
	if err != nil {
		return contract.OrderBatch{}, err
	}
	out := contract.OrderBatch{Orders: room[contract.Order](len(good))}
	if len(good) > 0 {
		err = o.c.Do(ctx, restclient.Request{
			Method: http.MethodGet,
			Path:   restclient.Path("v1", "orders"),
			Query:  url.Values{"ids": {strings.Join(good, ",")}},
		}, &out)
		if err != nil {
			return contract.OrderBatch{}, err
		}
	}
	out.Orders = orEmpty(out.Orders)
	out.Missing = append(orEmpty(out.Missing), malformed...)
	return out, nil
}

// List returns one page of orders, newest first. It returns NotFound when
// a customer asks for another user's orders, and Invalid (with the param
// at fault) for a malformed user id, a limit out of range or a bad cursor.
func (o *Orders) List(ctx context.Context, q OrderQuery) (contract.OrderPage, error) {
	query := url.Values{}
	setIf(query, "user_id", q.UserID)
	setIntIf(query, "limit", q.Limit)
	setIf(query, "cursor", q.Cursor)
	out := contract.OrderPage{Orders: room[contract.Order](q.Limit)}
	err := o.c.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "orders"), Query: query}, &out)
	if err != nil {
		return contract.OrderPage{}, err
	}
	out.Orders = orEmpty(out.Orders)
	return out, nil
}

// Recent returns the newest orders of everyone, up to limit (the service's
// default, 20, when limit <= 0). It returns Forbidden for a caller who is
// not an admin and Invalid for a limit above 100.
func (o *Orders) Recent(ctx context.Context, limit int) ([]contract.Order, error) {
	out, err := o.recent(ctx, limit, url.Values{})
	if err != nil {
		return nil, err
	}
	return orEmpty(out.Orders), nil
}

// RecentWithStats returns what Recent and Stats return, in one call: the
// service reads both in one transaction. It returns the same errors as
// Recent. An order service older than include=stats answers the orders
// alone (a BFF upgraded first, in a rolling upgrade): the totals are then
// read with Stats, a second call.
func (o *Orders) RecentWithStats(ctx context.Context, limit int) ([]contract.Order, contract.OrderStats, error) {
	out, err := o.recent(ctx, limit, url.Values{"include": {contract.IncludeStats}})
	if err != nil {
		return nil, contract.OrderStats{}, err
	}
	if out.Stats == nil {
		stats, err := o.Stats(ctx)
		if err != nil {
			return nil, contract.OrderStats{}, err
		}
		out.Stats = &stats
	}
	return orEmpty(out.Orders), *out.Stats, nil
}

// recent reads the recent orders feed with query and the limit.
func (o *Orders) recent(ctx context.Context, limit int, query url.Values) (contract.OrderList, error) {
	setIntIf(query, "limit", limit)
	out := contract.OrderList{Orders: room[contract.Order](limit)}
	err := o.c.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "orders", "recent"), Query: query}, &out)
	return out, err
}

// Stats returns the shop's order totals. It returns Forbidden for a caller
// who is not an admin.
func (o *Orders) Stats(ctx context.Context) (contract.OrderStats, error) {
	var out contract.OrderStats
	err := o.c.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "orders", "stats")}, &out)
	return out, err
}

// Place places an order under idempotencyKey (1 to 255 visible ASCII
// characters, unique per intended order): the same key with the same
// request answers the order placed before. It returns Invalid (param
// "Idempotency-Key") for a malformed key, without a call; Invalid for a
// malformed request; Forbidden when a customer orders for someone else;
// Unprocessable (param "items") for an unknown product; InsufficientStock
// (shortages in Details["shortages"]); IdempotencyKeyReused when the key
// was used for another request; IdempotencyInProgress while the first
// request with the key runs; Unavailable when the product service is down.
func (o *Orders) Place(ctx context.Context, idempotencyKey string, req contract.PlaceOrderRequest) (contract.Order, error) {
	if !contract.ValidIdempotencyKey(idempotencyKey) {
		// Refused before the call: a control character would not even
		// make a valid header, and its failure must not count against the
		// order service's breaker.
		return contract.Order{}, apperr.InvalidParam(contract.IdempotencyKeyHeader,
			"the idempotency key must be 1 to %d visible ASCII characters", contract.MaxIdempotencyKeyLen)
	}
	// The key makes the call safe to send again: when a try's answer is
	// lost, the next try is answered the order that try placed
	// (Idempotent-Replayed), the same key and body sent again.
	ctx, _ = withRetrySafe(ctx)
	var out contract.Order
	err := o.c.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("v1", "orders"),
		Header: http.Header{contract.IdempotencyKeyHeader: {idempotencyKey}},
		Body:   req,
	}, &out)
	return out, err
}

// Cancel cancels a pending or paid order and returns it. It returns
// NotFound for an unknown order or another user's, NotCancellable for an
// order shipped, delivered or already cancelled, and Invalid (param "id")
// for a malformed id, without a call.
//
// A cancellation is retried like a read: sent again, it cancels the order
// if the first try did not reach the order service, and is refused as
// not_cancellable if it did. So when a retried cancellation is refused so,
// the order is read back, and if it is now CANCELLED that is the
// cancellation asked for, answered as a success: the user asked for the
// order to be cancelled and it is, once (the stock went back once). The
// only other way it can be CANCELLED is a cancellation by someone else
// (the user elsewhere, an admin) in the same moment, which the user could
// not tell apart either. A cancellation refused at its first try stays
// NotCancellable.
func (o *Orders) Cancel(ctx context.Context, id string) (contract.Order, error) {
	if !ids.ValidOrder(id) {
		return contract.Order{}, malformedID("order")
	}
	safe, tries := withRetrySafe(ctx)
	var out contract.Order
	err := o.c.Do(safe, restclient.Request{Method: http.MethodPost, Path: restclient.Path("v1", "orders", id, "cancel")}, &out)
	if apperr.Is(err, apperr.NotCancellable) && tries.retried.Load() {
		if got, gerr := o.Get(ctx, id); gerr == nil && got.Status == contract.StatusCancelled {
			return got, nil
		}
	}
	return out, err
}
