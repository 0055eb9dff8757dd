package ordersvc

import (
	"context"
	"net/http"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/services/internal/platform"
	"github.com/acme/bff-gateway/services/internal/rest"
)

// stockReserver is the product service's stock reservation API.
type stockReserver interface {
	Reserve(ctx context.Context, reservationID string, items []contract.ReservationItem) (contract.Reservation, error)
	Release(ctx context.Context, reservationID string, items []contract.ReservationItem, restock bool) error
}

// handlers serves the order service's API.
type handlers struct {
	store   *store
	stock   stockReserver
	now     func() time.Time
	metrics *orderMetrics
}

const (
	defaultPageSize = 20
)

func (h *handlers) routes(verifier *auth.Verifier) *http.ServeMux {
	mux := http.NewServeMux()
	authed := platform.Authenticate(verifier)
	mux.Handle("GET /v1/orders/{id}", authed(rest.HandlerFunc(h.getOrder)))
	mux.Handle("GET /v1/orders", authed(rest.HandlerFunc(h.listOrders)))
	mux.Handle("GET /v1/orders/recent", authed(rest.HandlerFunc(h.recentOrders)))
	mux.Handle("GET /v1/orders/stats", authed(rest.HandlerFunc(h.orderStats)))
	mux.Handle("POST /v1/orders", authed(rest.HandlerFunc(h.placeOrder)))
	mux.Handle("POST /v1/orders/{id}/cancel", authed(rest.HandlerFunc(h.cancelOrder)))
	return mux
}

// canSee reports whether p may see the orders of userID: an admin every
// user's, a customer only their own.
func canSee(p auth.Principal, userID string) bool {
	return p.IsAdmin() || p.Subject == userID
}

// getOrder returns one order: a customer only their own (anyone else's is
// not_found), an admin any. Errors: invalid_argument, unauthenticated,
// not_found.
func (h *handlers) getOrder(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequirePrincipal(r.Context())
	if err != nil {
		return err
	}
	id, err := rest.PathID(r, "id", ids.ValidOrder)
	if err != nil {
		return err
	}
	o, err := h.store.byID(r.Context(), id)
	if err != nil {
		return err
	}
	if !canSee(p, o.UserID) {
		return apperr.New(apperr.NotFound, "order not found")
	}
	return rest.JSON(w, http.StatusOK, o)
}

// listOrders answers a batch read when ?ids= is given, else one page of a
// user's orders (or of everyone's, for an admin) newest first.
// Errors: invalid_argument, unauthenticated, not_found.
func (h *handlers) listOrders(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequirePrincipal(r.Context())
	if err != nil {
		return err
	}
	if r.URL.Query().Has("ids") {
		return h.batchOrders(w, r, p)
	}
	return h.pageOrders(w, r, p)
}

// batchOrders returns the orders asked for by ?ids= in the order asked,
// with the ids not found (or not visible to a customer) in missing.
func (h *handlers) batchOrders(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	for _, param := range []string{"user_id", "limit", "cursor"} {
		if r.URL.Query().Has(param) {
			return apperr.InvalidParam(param, "%s cannot be combined with ids", param)
		}
	}
	want, err := rest.IDsParam(r, "ids", ids.ValidOrder)
	if err != nil {
		return err
	}
	found, err := h.store.byIDs(r.Context(), want)
	if err != nil {
		return err
	}
	for id, o := range found {
		if !canSee(p, o.UserID) {
			delete(found, id) // someone else's order is missing, not forbidden
		}
	}
	var out contract.OrderBatch
	out.Orders, out.Missing = contract.InOrder(want, found)
	return rest.JSON(w, http.StatusOK, out)
}

// pageOrders returns one page of orders newest first. A customer lists
// their own (another user's are not_found); an admin any user's, or
// everyone's without user_id.
func (h *handlers) pageOrders(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	userID, err := userIDParam(r)
	if err != nil {
		return err
	}
	if !p.IsAdmin() {
		if userID != "" && userID != p.Subject {
			return apperr.New(apperr.NotFound, "user not found")
		}
		userID = p.Subject
	}
	limit, err := rest.IntParam(r, "limit", defaultPageSize, 1, contract.MaxPageSize)
	if err != nil {
		return err
	}
	after, err := cursorParam(r)
	if err != nil {
		return err
	}
	orders, more, err := h.store.page(r.Context(), userID, after, limit)
	if err != nil {
		return err
	}
	total, err := h.store.count(r.Context(), userID)
	if err != nil {
		return err
	}
	out := contract.OrderPage{Orders: orders, TotalCount: total}
	if more {
		next := contract.OrderCursor(orders[len(orders)-1])
		out.NextCursor = &next
	}
	return rest.JSON(w, http.StatusOK, out)
}

// recentOrders returns the newest orders of everyone, and with
// ?include=stats the order totals too, read with them in one transaction.
// Admin only. Errors: invalid_argument, unauthenticated, forbidden.
func (h *handlers) recentOrders(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.RequireAdmin(r.Context()); err != nil {
		return err
	}
	limit, err := rest.IntParam(r, "limit", defaultPageSize, 1, contract.MaxPageSize)
	if err != nil {
		return err
	}
	withStats, err := includeStats(r)
	if err != nil {
		return err
	}
	if !withStats {
		orders, _, err := h.store.page(r.Context(), "", nil, limit)
		if err != nil {
			return err
		}
		return rest.JSON(w, http.StatusOK, contract.OrderList{Orders: orders})
	}
	orders, stats, err := h.store.recentWithStats(r.Context(), limit)
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, contract.OrderList{Orders: orders, Stats: &stats})
}

// includeStats reads the include query parameter of the recent orders:
// absent, or contract.IncludeStats.
func includeStats(r *http.Request) (bool, error) {
	if !r.URL.Query().Has("include") {
		return false, nil
	}
	if r.URL.Query().Get("include") != contract.IncludeStats {
		return false, apperr.InvalidParam("include", "include must be %q", contract.IncludeStats)
	}
	return true, nil
}

// orderStats returns the shop's order totals. Admin only.
// Errors: unauthenticated, forbidden.
func (h *handlers) orderStats(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.RequireAdmin(r.Context()); err != nil {
		return err
	}
	stats, err := h.store.stats(r.Context())
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, stats)
}

// userIDParam returns the user_id query parameter, "" when absent, or
// Invalid naming it when malformed.
func userIDParam(r *http.Request) (string, error) {
	if !r.URL.Query().Has("user_id") {
		return "", nil
	}
	id := r.URL.Query().Get("user_id")
	if !ids.ValidUser(id) {
		return "", apperr.InvalidParam("user_id", "malformed user_id")
	}
	return id, nil
}

// cursorParam returns the decoded cursor query parameter, nil when absent,
// or Invalid naming it when it is not a cursor of this listing.
func cursorParam(r *http.Request) (*contract.Cursor, error) {
	if !r.URL.Query().Has("cursor") {
		return nil, nil
	}
	c, err := contract.DecodeCursor(r.URL.Query().Get("cursor"))
	if err != nil || !ids.ValidOrder(c.ID) {
		return nil, apperr.InvalidParam("cursor", "malformed cursor")
	}
	if _, err := time.Parse(dbTimeLayout, c.Key); err != nil {
		return nil, apperr.InvalidParam("cursor", "malformed cursor")
	}
	return &c, nil
}
