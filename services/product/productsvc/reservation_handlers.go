package productsvc

import (
	"fmt"
	"net/http"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/services/internal/rest"
)

const (
	maxReservationItems = 100
	maxItemQuantity     = 1000
)

// reserve takes stock for an order, all or nothing: 201 with the new
// reservation, 200 when the same reservation is asked again.
// Errors: invalid_argument, conflict, not_found, insufficient_stock,
// unavailable.
func (h *handlers) reserve(w http.ResponseWriter, r *http.Request) error {
	var req contract.ReserveRequest
	if err := rest.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if !ids.ValidOrder(req.ReservationID) {
		return apperr.InvalidParam("reservation_id", "reservation_id must be an order id")
	}
	if len(req.Items) == 0 {
		return apperr.InvalidParam("items", "items must list 1 to %d products", maxReservationItems)
	}
	items, err := mergeItems(req.Items)
	if err != nil {
		return err
	}
	res, created, err := h.store.reserve(r.Context(), req.ReservationID, items)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return rest.JSON(w, status, res)
}

// release gives the stock of a reservation back; it is idempotent. An
// empty body is taken as {}.
// Errors: invalid_argument, unavailable.
func (h *handlers) release(w http.ResponseWriter, r *http.Request) error {
	id, err := rest.PathID(r, "id", ids.ValidOrder)
	if err != nil {
		return err
	}
	var req contract.ReleaseRequest
	if r.ContentLength != 0 {
		if err := rest.DecodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	var items []contract.ReservationItem
	if len(req.Items) > 0 {
		if items, err = mergeItems(req.Items); err != nil {
			return err
		}
	}
	res, err := h.store.release(r.Context(), id, items, req.Restock)
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, res)
}

// mergeItems checks up to maxReservationItems lines and sums the
// quantities of a product listed more than once, keeping the order in
// which products first appear.
func mergeItems(lines []contract.ReservationItem) ([]contract.ReservationItem, error) {
	if len(lines) > maxReservationItems {
		return nil, apperr.InvalidParam("items", "items must list 1 to %d products", maxReservationItems)
	}
	index := make(map[string]int, len(lines))
	out := make([]contract.ReservationItem, 0, len(lines))
	for i, it := range lines {
		if !ids.ValidProduct(it.ProductID) {
			return nil, apperr.InvalidParam(fmt.Sprintf("items[%d].product_id", i), "malformed product id")
		}
		if it.Quantity < 1 || it.Quantity > maxItemQuantity {
			return nil, apperr.InvalidParam(fmt.Sprintf("items[%d].quantity", i),
				"quantity must be from 1 to %d", maxItemQuantity)
		}
		if j, ok := index[it.ProductID]; ok {
			out[j].Quantity += it.Quantity
			continue
		}
		index[it.ProductID] = len(out)
		out = append(out, it)
	}
	return out, nil
}
