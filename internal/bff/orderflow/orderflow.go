// Package orderflow is the placeOrder and cancelOrder mutations both BFFs
// share: it checks the input against the contract's limits, passes the
// client's idempotency key to the order service (upstream.Orders sends a
// placement whose answer was lost again under that same key, so that the
// client gets the one order placed), and turns the problems a user can fix
// into UserErrors with the schema's codes.
package orderflow

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
)

// Placer places orders at the order service (upstream.Orders does).
type Placer interface {
	Place(ctx context.Context, idempotencyKey string, req contract.PlaceOrderRequest) (contract.Order, error)
}

// Canceller cancels orders at the order service (upstream.Orders does).
type Canceller interface {
	Cancel(ctx context.Context, id string) (contract.Order, error)
}

// Line is one line of an order as the client sent it.
type Line struct {
	ProductID string
	Quantity  int
}

// Outcome is the result of a mutation: an order, or the user errors that
// say why there is none.
type Outcome struct {
	Order      *model.Order
	UserErrors []*model.UserError
}

// Place places an order for the signed-in user. itemsPath is the path of
// the items argument, for UserError.field (e.g. ["input", "items"]). It
// returns UNAUTHENTICATED without a user, BAD_USER_INPUT for a malformed
// idempotency key, and upstream failures as errors; everything the user can
// fix comes back as UserErrors.
func Place(ctx context.Context, orders Placer, idempotencyKey string, lines []Line, itemsPath []string) (Outcome, error) {
	p, err := auth.RequirePrincipal(ctx)
	if err != nil {
		return Outcome{}, err
	}
	if !contract.ValidIdempotencyKey(idempotencyKey) {
		return Outcome{}, apperr.InvalidParam("idempotencyKey", "idempotencyKey must be 1 to %d visible ASCII characters", contract.MaxIdempotencyKeyLen)
	}
	if errs := check(lines, itemsPath); len(errs) > 0 {
		return Outcome{UserErrors: errs}, nil
	}
	req := contract.PlaceOrderRequest{UserID: p.Subject, Items: make([]contract.ReservationItem, len(lines))}
	for i, l := range lines {
		req.Items[i] = contract.ReservationItem{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	order, err := orders.Place(ctx, idempotencyKey, req)
	if err != nil {
		if errs := placeUserErrors(err, lines, itemsPath); errs != nil {
			return Outcome{UserErrors: errs}, nil
		}
		return Outcome{}, err
	}
	return Outcome{Order: model.OrderFromAPI(order), UserErrors: []*model.UserError{}}, nil
}

// check finds the problems of the lines before anything is sent.
func check(lines []Line, itemsPath []string) []*model.UserError {
	if len(lines) == 0 {
		return []*model.UserError{userError(model.UserErrorCodeEmptyOrder, "Add at least one item to the order.", itemsPath)}
	}
	var errs []*model.UserError
	if len(lines) > contract.MaxOrderLines {
		errs = append(errs, userError(model.UserErrorCodeInvalidQuantity,
			fmt.Sprintf("An order can have at most %d lines.", contract.MaxOrderLines), itemsPath))
	}
	seen := map[string]int{}
	for i, l := range lines {
		// Each field path is a slice of its own: two appends to one shared
		// prefix would write into the same backing array.
		at := func(field string) []string { return slices.Concat(itemsPath, []string{strconv.Itoa(i), field}) }
		if !ids.ValidProduct(l.ProductID) {
			errs = append(errs, userError(model.UserErrorCodeUnknownProduct, "This product does not exist.", at("productId")))
		} else if first, dup := seen[l.ProductID]; dup {
			errs = append(errs, userError(model.UserErrorCodeInvalidQuantity,
				fmt.Sprintf("This product is already on line %d; change its quantity there.", first+1), at("productId")))
		} else {
			seen[l.ProductID] = i
		}
		if l.Quantity < 1 || l.Quantity > contract.MaxLineQuantity {
			errs = append(errs, userError(model.UserErrorCodeInvalidQuantity,
				fmt.Sprintf("The quantity must be from 1 to %d.", contract.MaxLineQuantity), at("quantity")))
		}
	}
	return errs
}

// placeUserErrors turns the order service's refusals that the user can fix
// into UserErrors; it returns nil for any other error.
func placeUserErrors(err error, lines []Line, itemsPath []string) []*model.UserError {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	lineOf := func(productID string) []string {
		for i, l := range lines {
			if l.ProductID == productID {
				return append(append([]string{}, itemsPath...), strconv.Itoa(i), "productId")
			}
		}
		return itemsPath
	}
	switch e.Code {
	case apperr.InsufficientStock:
		var errs []*model.UserError
		for _, s := range shortages(e.Details["shortages"]) {
			msg := "This product is out of stock."
			if s.Available > 0 {
				msg = fmt.Sprintf("Only %d left in stock.", s.Available)
			}
			errs = append(errs, userError(model.UserErrorCodeOutOfStock, msg, lineOf(s.ProductID)))
		}
		if len(errs) == 0 {
			errs = append(errs, userError(model.UserErrorCodeOutOfStock, "Some products are out of stock.", itemsPath))
		}
		return errs
	case apperr.Unprocessable, apperr.NotFound:
		var errs []*model.UserError
		for _, id := range stringList(e.Details["product_ids"]) {
			errs = append(errs, userError(model.UserErrorCodeUnknownProduct, "This product does not exist.", lineOf(id)))
		}
		if len(errs) == 0 {
			errs = append(errs, userError(model.UserErrorCodeUnknownProduct, "A product of the order does not exist.", itemsPath))
		}
		return errs
	case apperr.IdempotencyKeyReused:
		return []*model.UserError{userError(model.UserErrorCodeIdempotencyKeyReused,
			"This idempotency key was used for a different order.", []string{"idempotencyKey"})}
	case apperr.IdempotencyInProgress:
		return []*model.UserError{userError(model.UserErrorCodeInProgress,
			"This order is still being placed; try again in a moment.", []string{"idempotencyKey"})}
	case apperr.Invalid:
		return []*model.UserError{userError(model.UserErrorCodeInvalidQuantity, e.Message, itemsPath)}
	}
	return nil
}

// Cancel cancels one of the signed-in user's orders. An order that is not
// theirs, or does not exist, is a NOT_FOUND UserError; one past cancelling
// a NOT_CANCELLABLE one.
func Cancel(ctx context.Context, orders Canceller, id string) (Outcome, error) {
	if _, err := auth.RequirePrincipal(ctx); err != nil {
		return Outcome{}, err
	}
	if !ids.ValidOrder(id) {
		return Outcome{UserErrors: []*model.UserError{userError(model.UserErrorCodeNotFound, "This order does not exist.", []string{"id"})}}, nil
	}
	order, err := orders.Cancel(ctx, id)
	switch {
	case apperr.Is(err, apperr.NotFound):
		return Outcome{UserErrors: []*model.UserError{userError(model.UserErrorCodeNotFound, "This order does not exist.", []string{"id"})}}, nil
	case apperr.Is(err, apperr.NotCancellable):
		return Outcome{UserErrors: []*model.UserError{userError(model.UserErrorCodeNotCancellable,
			"Only pending or paid orders can be cancelled.", []string{"id"})}}, nil
	case err != nil:
		return Outcome{}, err
	}
	return Outcome{Order: model.OrderFromAPI(order), UserErrors: []*model.UserError{}}, nil
}

func userError(code model.UserErrorCode, msg string, field []string) *model.UserError {
	return &model.UserError{Code: code, Message: msg, Field: field}
}

// shortages reads the shortages member of an insufficient_stock problem.
func shortages(v any) []contract.Shortage {
	list, _ := v.([]any)
	out := make([]contract.Shortage, 0, len(list))
	for _, item := range list {
		m, _ := item.(map[string]any)
		id, _ := m["product_id"].(string)
		avail, _ := m["available"].(float64)
		req, _ := m["requested"].(float64)
		if id != "" {
			out = append(out, contract.Shortage{ProductID: id, Available: int(avail), Requested: int(req)})
		}
	}
	return out
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
