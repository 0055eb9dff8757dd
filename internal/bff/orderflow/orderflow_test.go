package orderflow_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/orderflow"
	"github.com/acme/bff-gateway/internal/contract"
)

const (
	subject = "usr_0123456789abcdef"
	key     = "key-0123456789"
	prodA   = "prd_aaaa"
	prodB   = "prd_bbbb"
	prodC   = "prd_cccc"
	orderID = "ord_0123456789abcdef"
)

// webItems is the web BFF's path of the items argument.
var webItems = []string{"input", "items"}

// placeCall is one call the fake order service received.
type placeCall struct {
	key       string
	req       contract.PlaceOrderRequest
	principal auth.Principal
	signedIn  bool
}

// fakeOrders is an order service that records its calls and answers with
// order and err.
type fakeOrders struct {
	order contract.Order
	err   error

	mu      sync.Mutex
	places  []placeCall
	cancels []string
}

func (f *fakeOrders) Place(ctx context.Context, idempotencyKey string, req contract.PlaceOrderRequest) (contract.Order, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.places = append(f.places, placeCall{key: idempotencyKey, req: req, principal: p, signedIn: ok})
	return f.order, f.err
}

func (f *fakeOrders) Cancel(_ context.Context, id string) (contract.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, id)
	return f.order, f.err
}

func (f *fakeOrders) placeCalls() []placeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]placeCall(nil), f.places...)
}

func (f *fakeOrders) cancelCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cancels...)
}

var (
	_ orderflow.Placer    = (*fakeOrders)(nil)
	_ orderflow.Canceller = (*fakeOrders)(nil)
)

func signedIn(t *testing.T) context.Context {
	t.Helper()
	return auth.NewContextWithPrincipal(t.Context(), auth.Principal{Subject: subject, Role: auth.RoleCustomer, Token: "tok"})
}

// wantUserError is a UserError as a test expects it; an empty message is
// not checked.
type wantUserError struct {
	code  model.UserErrorCode
	field []string
	msg   string
}

func checkUserErrors(t *testing.T, got []*model.UserError, want []wantUserError) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d user errors %s, want %d %v", len(got), describe(got), len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g == nil {
			t.Fatalf("user error %d is nil", i)
		}
		if g.Code != w.code || !reflect.DeepEqual(g.Field, w.field) {
			t.Errorf("user error %d = %s %q, want %s %q", i, g.Code, g.Field, w.code, w.field)
		}
		if w.msg != "" && g.Message != w.msg {
			t.Errorf("user error %d message = %q, want %q", i, g.Message, w.msg)
		}
		if g.Message == "" {
			t.Errorf("user error %d has no message", i)
		}
	}
}

func describe(errs []*model.UserError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = fmt.Sprintf("{%s %q %q}", e.Code, e.Field, e.Message)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func checkCode(t *testing.T, err error, want apperr.Code) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error %v is not an *apperr.Error, want code %s", err, want)
	}
	if e.Code != want {
		t.Fatalf("error code %s (%v), want %s", e.Code, err, want)
	}
	return e
}

func at(path ...string) []string {
	return append(append([]string{}, webItems...), path...)
}

func TestPlaceWithoutPrincipalIsUnauthenticated(t *testing.T) {
	t.Parallel()
	orders := &fakeOrders{}
	out, err := orderflow.Place(t.Context(), orders, key, []orderflow.Line{{ProductID: prodA, Quantity: 1}}, webItems)
	_ = checkCode(t, err, apperr.Unauthenticated)
	if out.Order != nil || out.UserErrors != nil {
		t.Errorf("outcome %+v, want none", out)
	}
	if n := len(orders.placeCalls()); n != 0 {
		t.Errorf("the order service was called %d times", n)
	}
}

func TestPlaceRefusesMalformedIdempotencyKeys(t *testing.T) {
	t.Parallel()
	for name, k := range map[string]string{
		"empty":       "",
		"too long":    strings.Repeat("k", contract.MaxIdempotencyKeyLen+1),
		"space":       "my key",
		"tab":         "key\t1",
		"newline":     "key\n1",
		"nul":         "key\x001",
		"delete":      "key\x7f",
		"non-ascii":   "clé",
		"only spaces": "   ",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{}
			out, err := orderflow.Place(signedIn(t), orders, k, []orderflow.Line{{ProductID: prodA, Quantity: 1}}, webItems)
			e := checkCode(t, err, apperr.Invalid)
			if e.Param != "idempotencyKey" {
				t.Errorf("param %q, want idempotencyKey", e.Param)
			}
			if out.Order != nil || len(out.UserErrors) != 0 {
				t.Errorf("outcome %+v, want none", out)
			}
			if n := len(orders.placeCalls()); n != 0 {
				t.Errorf("the order service was called %d times", n)
			}
		})
	}
}

func TestPlaceSendsValidIdempotencyKeysAsGiven(t *testing.T) {
	t.Parallel()
	var visible strings.Builder
	for c := byte('!'); c <= '~'; c++ {
		visible.WriteByte(c)
	}
	for name, k := range map[string]string{
		"one character":     "k",
		"longest":           strings.Repeat("k", contract.MaxIdempotencyKeyLen),
		"every visible one": visible.String(),
		"uuid":              "3f2b8c1e-8d4a-4f6e-9a1b-2c3d4e5f6a7b",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{order: contract.Order{ID: orderID}}
			_, err := orderflow.Place(signedIn(t), orders, k, []orderflow.Line{{ProductID: prodA, Quantity: 1}}, webItems)
			if err != nil {
				t.Fatal(err)
			}
			calls := orders.placeCalls()
			if len(calls) != 1 || calls[0].key != k {
				t.Fatalf("calls %+v, want one with key %q", calls, k)
			}
		})
	}
}

func TestPlaceChecksLinesBeforeSending(t *testing.T) {
	t.Parallel()
	tooMany := make([]orderflow.Line, contract.MaxOrderLines+1)
	for i := range tooMany {
		tooMany[i] = orderflow.Line{ProductID: "prd_" + strconv.Itoa(i), Quantity: 1}
	}
	qtyMsg := fmt.Sprintf("The quantity must be from 1 to %d.", contract.MaxLineQuantity)
	tests := []struct {
		name      string
		lines     []orderflow.Line
		itemsPath []string
		want      []wantUserError
	}{
		{
			name:  "no lines",
			lines: nil,
			want:  []wantUserError{{model.UserErrorCodeEmptyOrder, at(), "Add at least one item to the order."}},
		},
		{
			name:  "empty lines",
			lines: []orderflow.Line{},
			want:  []wantUserError{{model.UserErrorCodeEmptyOrder, at(), ""}},
		},
		{
			name:  "too many lines",
			lines: tooMany,
			want: []wantUserError{{model.UserErrorCodeInvalidQuantity, at(),
				fmt.Sprintf("An order can have at most %d lines.", contract.MaxOrderLines)}},
		},
		{
			name: "malformed product ids",
			lines: []orderflow.Line{
				{ProductID: prodA, Quantity: 1},
				{ProductID: "usr_aaaa", Quantity: 1},
				{ProductID: "", Quantity: 1},
				{ProductID: "prd_../x", Quantity: 1},
				{ProductID: "PRD_AAAA", Quantity: 1},
			},
			want: []wantUserError{
				{model.UserErrorCodeUnknownProduct, at("1", "productId"), "This product does not exist."},
				{model.UserErrorCodeUnknownProduct, at("2", "productId"), "This product does not exist."},
				{model.UserErrorCodeUnknownProduct, at("3", "productId"), "This product does not exist."},
				{model.UserErrorCodeUnknownProduct, at("4", "productId"), "This product does not exist."},
			},
		},
		{
			name: "repeated product",
			lines: []orderflow.Line{
				{ProductID: prodA, Quantity: 1},
				{ProductID: prodB, Quantity: 1},
				{ProductID: prodA, Quantity: 2},
			},
			want: []wantUserError{{model.UserErrorCodeInvalidQuantity, at("2", "productId"),
				"This product is already on line 1; change its quantity there."}},
		},
		{
			name: "quantity zero",
			lines: []orderflow.Line{
				{ProductID: prodA, Quantity: 1},
				{ProductID: prodB, Quantity: 0},
			},
			want: []wantUserError{{model.UserErrorCodeInvalidQuantity, at("1", "quantity"), qtyMsg}},
		},
		{
			name:  "negative quantity",
			lines: []orderflow.Line{{ProductID: prodA, Quantity: -1}},
			want:  []wantUserError{{model.UserErrorCodeInvalidQuantity, at("0", "quantity"), qtyMsg}},
		},
		{
			name:  "quantity above the limit",
			lines: []orderflow.Line{{ProductID: prodA, Quantity: contract.MaxLineQuantity + 1}},
			want:  []wantUserError{{model.UserErrorCodeInvalidQuantity, at("0", "quantity"), qtyMsg}},
		},
		{
			name: "several problems on different lines",
			lines: []orderflow.Line{
				{ProductID: "bad", Quantity: 1},
				{ProductID: prodA, Quantity: 0},
				{ProductID: prodB, Quantity: 1},
				{ProductID: prodB, Quantity: 1},
				{ProductID: prodC, Quantity: contract.MaxLineQuantity + 1},
			},
			want: []wantUserError{
				{model.UserErrorCodeUnknownProduct, at("0", "productId"), ""},
				{model.UserErrorCodeInvalidQuantity, at("1", "quantity"), ""},
				{model.UserErrorCodeInvalidQuantity, at("3", "productId"), "This product is already on line 3; change its quantity there."},
				{model.UserErrorCodeInvalidQuantity, at("4", "quantity"), ""},
			},
		},
		{
			name:      "mobile path",
			lines:     []orderflow.Line{{ProductID: "bad", Quantity: 0}},
			itemsPath: []string{"items"},
			want: []wantUserError{
				{model.UserErrorCodeUnknownProduct, []string{"items", "0", "productId"}, ""},
				{model.UserErrorCodeInvalidQuantity, []string{"items", "0", "quantity"}, ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			itemsPath := tt.itemsPath
			if itemsPath == nil {
				itemsPath = webItems
			}
			orders := &fakeOrders{order: contract.Order{ID: orderID}}
			out, err := orderflow.Place(signedIn(t), orders, key, tt.lines, itemsPath)
			if err != nil {
				t.Fatalf("error %v, want user errors", err)
			}
			if out.Order != nil {
				t.Errorf("order %+v, want none", out.Order)
			}
			checkUserErrors(t, out.UserErrors, tt.want)
			if n := len(orders.placeCalls()); n != 0 {
				t.Errorf("the order service was called %d times", n)
			}
		})
	}
}

// TestPlaceReportsEachProblemOfOneLineAtItsOwnField: a line with both a
// malformed product and a bad quantity has two errors, one at productId
// and one at quantity (two appends to one prefix slice once shared its
// backing array, and the second overwrote the first's field).
func TestPlaceReportsEachProblemOfOneLineAtItsOwnField(t *testing.T) {
	t.Parallel()
	for name, lines := range map[string][]orderflow.Line{
		"malformed product, quantity 0": {{ProductID: "bad", Quantity: 0}},
		"repeated product, quantity 0":  {{ProductID: prodA, Quantity: 1}, {ProductID: prodA, Quantity: 0}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{}
			out, err := orderflow.Place(signedIn(t), orders, key, lines, webItems)
			if err != nil {
				t.Fatal(err)
			}
			last := strconv.Itoa(len(lines) - 1)
			code := model.UserErrorCodeUnknownProduct
			if len(lines) > 1 {
				code = model.UserErrorCodeInvalidQuantity
			}
			checkUserErrors(t, out.UserErrors, []wantUserError{
				{code, at(last, "productId"), ""},
				{model.UserErrorCodeInvalidQuantity, at(last, "quantity"), ""},
			})
		})
	}
}

func TestPlaceDoesNotChangeItsArguments(t *testing.T) {
	t.Parallel()
	itemsPath := make([]string, 2, 8) // spare capacity an append could write into
	copy(itemsPath, webItems)
	lines := []orderflow.Line{{ProductID: "bad", Quantity: 0}, {ProductID: prodA, Quantity: 1}}
	orders := &fakeOrders{}
	if _, err := orderflow.Place(signedIn(t), orders, key, lines, itemsPath); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(itemsPath, webItems) || !reflect.DeepEqual(itemsPath[:cap(itemsPath)][2:], make([]string, 6)) {
		t.Errorf("itemsPath became %q (backing %q)", itemsPath, itemsPath[:cap(itemsPath)])
	}
	if lines[0] != (orderflow.Line{ProductID: "bad", Quantity: 0}) || lines[1] != (orderflow.Line{ProductID: prodA, Quantity: 1}) {
		t.Errorf("lines became %+v", lines)
	}
}

func TestPlaceSendsTheUsersLinesInOrder(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	orders := &fakeOrders{order: contract.Order{
		ID:     orderID,
		UserID: subject,
		Status: contract.StatusPending,
		Items: []contract.OrderItem{
			{ProductID: prodB, Quantity: 3, UnitPriceCents: 250},
			{ProductID: prodA, Quantity: 1, UnitPriceCents: 1999},
		},
		TotalCents: 2749,
		Currency:   "USD",
		CreatedAt:  created,
	}}
	lines := []orderflow.Line{
		{ProductID: prodB, Quantity: 3},
		{ProductID: prodA, Quantity: 1},
		{ProductID: prodC, Quantity: contract.MaxLineQuantity},
	}
	out, err := orderflow.Place(signedIn(t), orders, key, lines, webItems)
	if err != nil {
		t.Fatal(err)
	}

	calls := orders.placeCalls()
	if len(calls) != 1 {
		t.Fatalf("the order service was called %d times, want 1", len(calls))
	}
	c := calls[0]
	wantReq := contract.PlaceOrderRequest{UserID: subject, Items: []contract.ReservationItem{
		{ProductID: prodB, Quantity: 3},
		{ProductID: prodA, Quantity: 1},
		{ProductID: prodC, Quantity: contract.MaxLineQuantity},
	}}
	if c.key != key || !reflect.DeepEqual(c.req, wantReq) {
		t.Errorf("sent key %q request %+v, want %q %+v", c.key, c.req, key, wantReq)
	}
	if !c.signedIn || c.principal.Subject != subject {
		t.Errorf("the call's context has principal %+v (%v), want %s", c.principal, c.signedIn, subject)
	}

	if out.UserErrors == nil || len(out.UserErrors) != 0 {
		t.Errorf("user errors %#v, want an empty, non-nil slice", out.UserErrors)
	}
	want := &model.Order{
		ID:       orderID,
		UserID:   subject,
		Status:   model.OrderStatusPending,
		PlacedAt: created,
		Total:    model.Money{Cents: 2749, Currency: "USD"},
		Items: []*model.OrderItem{
			{ProductID: prodB, Quantity: 3, UnitPrice: model.Money{Cents: 250, Currency: "USD"}},
			{ProductID: prodA, Quantity: 1, UnitPrice: model.Money{Cents: 1999, Currency: "USD"}},
		},
	}
	if !reflect.DeepEqual(out.Order, want) {
		t.Errorf("order %+v, want %+v", out.Order, want)
	}
}

func TestPlaceTurnsRefusalsIntoUserErrors(t *testing.T) {
	t.Parallel()
	lines := []orderflow.Line{
		{ProductID: prodA, Quantity: 1},
		{ProductID: prodB, Quantity: 5},
		{ProductID: prodC, Quantity: 2},
	}
	shortage := func(id string, available, requested float64) any {
		return map[string]any{"product_id": id, "available": available, "requested": requested}
	}
	tests := []struct {
		name string
		err  error
		want []wantUserError
	}{
		{
			name: "short of stock",
			err: apperr.New(apperr.InsufficientStock, "some products are short of stock").
				With("shortages", []any{shortage(prodB, 2, 5)}),
			want: []wantUserError{{model.UserErrorCodeOutOfStock, at("1", "productId"), "Only 2 left in stock."}},
		},
		{
			name: "out of stock",
			err: apperr.New(apperr.InsufficientStock, "some products are short of stock").
				With("shortages", []any{shortage(prodC, 0, 2), shortage(prodA, 0, 1)}),
			want: []wantUserError{
				{model.UserErrorCodeOutOfStock, at("2", "productId"), "This product is out of stock."},
				{model.UserErrorCodeOutOfStock, at("0", "productId"), "This product is out of stock."},
			},
		},
		{
			name: "shortage of a product not ordered",
			err: apperr.New(apperr.InsufficientStock, "some products are short of stock").
				With("shortages", []any{shortage("prd_zzzz", 1, 3)}),
			want: []wantUserError{{model.UserErrorCodeOutOfStock, at(), "Only 1 left in stock."}},
		},
		{
			name: "no shortages",
			err:  apperr.New(apperr.InsufficientStock, "some products are short of stock"),
			want: []wantUserError{{model.UserErrorCodeOutOfStock, at(), ""}},
		},
		{
			name: "malformed shortages",
			err: apperr.New(apperr.InsufficientStock, "some products are short of stock").
				With("shortages", "prd_aaaa"),
			want: []wantUserError{{model.UserErrorCodeOutOfStock, at(), ""}},
		},
		{
			name: "wrapped",
			err: fmt.Errorf("placing: %w", apperr.New(apperr.InsufficientStock, "short").
				With("shortages", []any{shortage(prodA, 3, 4)})),
			want: []wantUserError{{model.UserErrorCodeOutOfStock, at("0", "productId"), "Only 3 left in stock."}},
		},
		{
			name: "unknown products",
			err: (&apperr.Error{Code: apperr.Unprocessable, Message: "some products do not exist", Param: "items"}).
				With("product_ids", []any{prodC, prodA}),
			want: []wantUserError{
				{model.UserErrorCodeUnknownProduct, at("2", "productId"), "This product does not exist."},
				{model.UserErrorCodeUnknownProduct, at("0", "productId"), "This product does not exist."},
			},
		},
		{
			name: "unknown products without ids",
			err:  apperr.New(apperr.Unprocessable, "some products do not exist"),
			want: []wantUserError{{model.UserErrorCodeUnknownProduct, at(), ""}},
		},
		{
			name: "idempotency key reused",
			err:  apperr.New(apperr.IdempotencyKeyReused, "the key was used for another request"),
			want: []wantUserError{{model.UserErrorCodeIdempotencyKeyReused, []string{"idempotencyKey"}, ""}},
		},
		{
			name: "idempotency in progress",
			err:  apperr.New(apperr.IdempotencyInProgress, "still running"),
			want: []wantUserError{{model.UserErrorCodeInProgress, []string{"idempotencyKey"}, ""}},
		},
		{
			name: "invalid",
			err:  apperr.New(apperr.Invalid, "quantity must be positive"),
			want: []wantUserError{{model.UserErrorCodeInvalidQuantity, at(), "quantity must be positive"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{err: tt.err}
			out, err := orderflow.Place(signedIn(t), orders, key, lines, webItems)
			if err != nil {
				t.Fatalf("error %v, want user errors", err)
			}
			if out.Order != nil {
				t.Errorf("order %+v, want none", out.Order)
			}
			checkUserErrors(t, out.UserErrors, tt.want)
			if n := len(orders.placeCalls()); n != 1 {
				t.Errorf("the order service was called %d times, want 1 (never retried)", n)
			}
		})
	}
}

func TestPlaceReturnsOtherFailures(t *testing.T) {
	t.Parallel()
	plain := errors.New("connection reset")
	for name, upstream := range map[string]error{
		"unavailable":     apperr.New(apperr.Unavailable, "the order service is unavailable"),
		"timeout":         apperr.New(apperr.Timeout, "too slow"),
		"forbidden":       apperr.New(apperr.Forbidden, "not yours"),
		"internal":        apperr.Wrap(apperr.Internal, "boom", plain),
		"plain":           plain,
		"deadline":        context.DeadlineExceeded,
		"wrapped unavail": fmt.Errorf("orders: %w", apperr.New(apperr.Unavailable, "down")),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{err: upstream, order: contract.Order{ID: orderID}}
			out, err := orderflow.Place(signedIn(t), orders, key, []orderflow.Line{{ProductID: prodA, Quantity: 1}}, webItems)
			if !errors.Is(err, upstream) {
				t.Fatalf("error %v, want %v", err, upstream)
			}
			if out.Order != nil || out.UserErrors != nil {
				t.Errorf("outcome %+v, want none", out)
			}
			if n := len(orders.placeCalls()); n != 1 {
				t.Errorf("the order service was called %d times, want 1", n)
			}
		})
	}
}

func TestCancelWithoutPrincipalIsUnauthenticated(t *testing.T) {
	t.Parallel()
	orders := &fakeOrders{}
	out, err := orderflow.Cancel(t.Context(), orders, orderID)
	_ = checkCode(t, err, apperr.Unauthenticated)
	if out.Order != nil || out.UserErrors != nil {
		t.Errorf("outcome %+v, want none", out)
	}
	if n := len(orders.cancelCalls()); n != 0 {
		t.Errorf("the order service was called %d times", n)
	}
}

func TestCancelMalformedIDIsNotFound(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "ord_", "prd_0123", "ord_ABC", "ord_../admin", "ord_" + strings.Repeat("a", 33)} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{}
			out, err := orderflow.Cancel(signedIn(t), orders, id)
			if err != nil {
				t.Fatal(err)
			}
			if out.Order != nil {
				t.Errorf("order %+v, want none", out.Order)
			}
			checkUserErrors(t, out.UserErrors, []wantUserError{{model.UserErrorCodeNotFound, []string{"id"}, "This order does not exist."}})
			if n := len(orders.cancelCalls()); n != 0 {
				t.Errorf("the order service was called %d times", n)
			}
		})
	}
}

func TestCancelTurnsRefusalsIntoUserErrors(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		err  error
		want wantUserError
	}{
		"not found":       {apperr.New(apperr.NotFound, "no such order"), wantUserError{model.UserErrorCodeNotFound, []string{"id"}, "This order does not exist."}},
		"wrapped":         {fmt.Errorf("cancel: %w", apperr.New(apperr.NotFound, "x")), wantUserError{model.UserErrorCodeNotFound, []string{"id"}, ""}},
		"not cancellable": {apperr.New(apperr.NotCancellable, "shipped"), wantUserError{model.UserErrorCodeNotCancellable, []string{"id"}, "Only pending or paid orders can be cancelled."}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{err: tt.err}
			out, err := orderflow.Cancel(signedIn(t), orders, orderID)
			if err != nil {
				t.Fatal(err)
			}
			if out.Order != nil {
				t.Errorf("order %+v, want none", out.Order)
			}
			checkUserErrors(t, out.UserErrors, []wantUserError{tt.want})
			if calls := orders.cancelCalls(); !reflect.DeepEqual(calls, []string{orderID}) {
				t.Errorf("calls %q, want [%s]", calls, orderID)
			}
		})
	}
}

func TestCancelReturnsOtherFailures(t *testing.T) {
	t.Parallel()
	for name, upstream := range map[string]error{
		"unavailable": apperr.New(apperr.Unavailable, "down"),
		"invalid":     apperr.InvalidParam("id", "malformed"),
		"forbidden":   apperr.New(apperr.Forbidden, "no"),
		"plain":       errors.New("connection reset"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orders := &fakeOrders{err: upstream}
			out, err := orderflow.Cancel(signedIn(t), orders, orderID)
			if !errors.Is(err, upstream) {
				t.Fatalf("error %v, want %v", err, upstream)
			}
			if out.Order != nil || out.UserErrors != nil {
				t.Errorf("outcome %+v, want none", out)
			}
			if n := len(orders.cancelCalls()); n != 1 {
				t.Errorf("the order service was called %d times, want 1", n)
			}
		})
	}
}

func TestCancelConvertsTheOrder(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	orders := &fakeOrders{order: contract.Order{
		ID:         orderID,
		UserID:     subject,
		Status:     contract.StatusCancelled,
		Items:      []contract.OrderItem{{ProductID: prodA, Quantity: 2, UnitPriceCents: 500}},
		TotalCents: 1000,
		Currency:   "USD",
		CreatedAt:  created,
	}}
	out, err := orderflow.Cancel(signedIn(t), orders, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if calls := orders.cancelCalls(); !reflect.DeepEqual(calls, []string{orderID}) {
		t.Errorf("calls %q, want [%s]", calls, orderID)
	}
	if out.UserErrors == nil || len(out.UserErrors) != 0 {
		t.Errorf("user errors %#v, want an empty, non-nil slice", out.UserErrors)
	}
	want := &model.Order{
		ID:       orderID,
		UserID:   subject,
		Status:   model.OrderStatusCancelled,
		PlacedAt: created,
		Total:    model.Money{Cents: 1000, Currency: "USD"},
		Items:    []*model.OrderItem{{ProductID: prodA, Quantity: 2, UnitPrice: model.Money{Cents: 500, Currency: "USD"}}},
	}
	if !reflect.DeepEqual(out.Order, want) {
		t.Errorf("order %+v, want %+v", out.Order, want)
	}
}
