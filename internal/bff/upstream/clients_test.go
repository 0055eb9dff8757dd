package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/services/servicetest"
)

var (
	adaID   = seed.UserID(1)
	graceID = seed.UserID(2)
)

// wantCode fails t unless err carries code.
func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func query(t *testing.T, s sent) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestClients checks every call against the real services, one upstream
// request per call, with the credentials each call should carry.
func TestClients(t *testing.T) {
	e := newEnv(t, upstream.Config{})
	rec := e.rec
	bearer := func(tok string) string { return "Bearer " + tok }

	t.Run("users", func(t *testing.T) {
		rec.take()
		users := e.set.Users

		tok := must[contract.TokenResponse](t)(users.Token(e.admin, "ada@example.com", "ada123"))
		if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 {
			t.Errorf("token %+v", tok)
		}
		if r := rec.one(t); r.Method != http.MethodPost || r.Path != "/v1/auth/token" || r.Header.Get("Authorization") != "" {
			t.Errorf("token request %+v: want POST /v1/auth/token without a credential", r)
		}
		_, err := users.Token(context.Background(), "ada@example.com", "wrong")
		wantCode(t, err, apperr.Unauthenticated)
		rec.one(t)

		ada := must[contract.User](t)(users.Get(e.ada, adaID))
		if ada.ID != adaID || ada.Email != "ada@example.com" || ada.Role != "customer" {
			t.Errorf("ada: %+v", ada)
		}
		if r := rec.one(t); r.Path != "/v1/users/"+adaID || r.Header.Get("Authorization") != bearer(e.adaTok) {
			t.Errorf("get request %+v: want ada's own token", r)
		}
		_, err = users.Get(e.ada, graceID)
		wantCode(t, err, apperr.NotFound)
		rec.one(t)
		_, err = users.Get(context.Background(), adaID)
		wantCode(t, err, apperr.Unauthenticated)
		rec.one(t)

		unknown := "usr_0000000000000000"
		b := must[contract.UserBatch](t)(users.Batch(e.admin, []string{graceID, adaID, unknown, "bad id", adaID}))
		if got := userIDs(b.Users); !slices.Equal(got, []string{graceID, adaID}) {
			t.Errorf("batch users %v", got)
		}
		if !sameSet(b.Missing, []string{unknown, "bad id"}) {
			t.Errorf("batch missing %v", b.Missing)
		}
		r := rec.one(t)
		if got := query(t, r).Get("ids"); r.Path != "/v1/users" || got != graceID+","+adaID+","+unknown {
			t.Errorf("batch request %s?%s: want the well-formed ids once each", r.Path, r.RawQuery)
		}
		// A customer sees only themselves.
		b = must[contract.UserBatch](t)(users.Batch(e.ada, []string{adaID, graceID}))
		if !slices.Equal(userIDs(b.Users), []string{adaID}) || !slices.Equal(b.Missing, []string{graceID}) {
			t.Errorf("ada's batch %+v", b)
		}
		rec.one(t)
		// Nothing to ask: no call.
		for _, ids := range [][]string{nil, {"nope", "../x"}} {
			b = must[contract.UserBatch](t)(users.Batch(e.admin, ids))
			if b.Users == nil || len(b.Users) != 0 || len(b.Missing) != len(ids) {
				t.Errorf("batch of %q: %+v", ids, b)
			}
			rec.none(t)
		}
		many := make([]string, contract.MaxBatchIDs+1)
		for i := range many {
			many[i] = seed.UserID(i)
		}
		_, err = users.Batch(e.admin, many)
		wantCode(t, err, apperr.Invalid)
		rec.none(t)
		if _, err := users.Batch(e.admin, many[:contract.MaxBatchIDs]); err != nil {
			t.Errorf("a batch of %d: %v", contract.MaxBatchIDs, err)
		}
		rec.one(t)

		if n := must[int](t)(users.Count(e.admin)); n != servicetest.SmallSeed.Users {
			t.Errorf("count %d, want %d", n, servicetest.SmallSeed.Users)
		}
		if r := rec.one(t); r.Path != "/v1/users/count" || r.Header.Get("Authorization") != bearer(e.adminTok) {
			t.Errorf("count request %+v", r)
		}
		_, err = users.Count(e.ada)
		wantCode(t, err, apperr.Forbidden)
		rec.one(t)
	})

	t.Run("products", func(t *testing.T) {
		rec.take()
		products := e.set.Products
		// Public reads carry no credential, even with a caller in the context.
		noCredential := func(what string) sent {
			t.Helper()
			r := rec.one(t)
			if a := r.Header.Get("Authorization"); a != "" {
				t.Errorf("%s sent Authorization %q, want none", what, a)
			}
			return r
		}

		p0 := must[contract.Product](t)(products.Get(e.admin, seed.ProductID(0)))
		if p0.ID != seed.ProductID(0) || p0.SKU != "ELE-0001" || p0.Currency != contract.Currency {
			t.Errorf("product 0: %+v", p0)
		}
		if r := noCredential("get"); r.Path != "/v1/products/"+seed.ProductID(0) {
			t.Errorf("get path %s", r.Path)
		}
		_, err := products.Get(e.ada, "prd_0000000000000000")
		wantCode(t, err, apperr.NotFound)
		noCredential("get unknown")

		unknown := "prd_0000000000000000"
		b := must[contract.ProductBatch](t)(products.Batch(e.ada, []string{seed.ProductID(2), unknown, seed.ProductID(1), "x,y"}))
		if got := productIDs(b.Products); !slices.Equal(got, []string{seed.ProductID(2), seed.ProductID(1)}) {
			t.Errorf("batch products %v", got)
		}
		if !sameSet(b.Missing, []string{unknown, "x,y"}) {
			t.Errorf("batch missing %v", b.Missing)
		}
		if r := noCredential("batch"); query(t, r).Get("ids") != seed.ProductID(2)+","+unknown+","+seed.ProductID(1) {
			t.Errorf("batch query %s", r.RawQuery)
		}

		page := must[contract.ProductPage](t)(products.Search(e.ada, upstream.ProductQuery{Category: "books", Limit: 2}))
		if len(page.Products) != 2 || page.NextCursor == nil || page.TotalCount < 3 {
			t.Fatalf("books page 1: %+v", page)
		}
		r := noCredential("search")
		if q := query(t, r); len(q) != 2 || q.Get("category") != "books" || q.Get("limit") != "2" {
			t.Errorf("search query %q: want only category and limit", r.RawQuery)
		}
		next := must[contract.ProductPage](t)(products.Search(e.ada, upstream.ProductQuery{Category: "books", Limit: 2, Cursor: *page.NextCursor}))
		for _, p := range append(page.Products, next.Products...) {
			if p.Category != "Books" {
				t.Errorf("%s is in %s", p.ID, p.Category)
			}
		}
		if len(next.Products) == 0 || next.Products[0].ID == page.Products[1].ID {
			t.Errorf("page 2 %+v does not follow page 1", next.Products)
		}
		noCredential("search page 2")
		all := must[contract.ProductPage](t)(products.Search(e.ada, upstream.ProductQuery{}))
		if all.TotalCount != servicetest.SmallSeed.Products || len(all.Products) != 20 {
			t.Errorf("whole catalogue: %d of %d", len(all.Products), all.TotalCount)
		}
		if r := noCredential("search all"); r.RawQuery != "" {
			t.Errorf("empty query sent %q", r.RawQuery)
		}
		sku := must[contract.ProductPage](t)(products.Search(e.ada, upstream.ProductQuery{Search: "ele-0001"}))
		if len(sku.Products) != 1 || sku.Products[0].ID != seed.ProductID(0) {
			t.Errorf("search by sku: %+v", sku)
		}
		noCredential("search by sku")
		_, err = products.Search(e.ada, upstream.ProductQuery{Cursor: "garbage"})
		wantCode(t, err, apperr.Invalid)
		noCredential("bad cursor")

		featured := must[[]contract.Product](t)(products.Featured(e.ada, 2))
		if len(featured) != 2 {
			t.Errorf("%d featured, want 2", len(featured))
		}
		for _, p := range featured {
			if !p.Featured {
				t.Errorf("%s is not featured", p.ID)
			}
		}
		if r := noCredential("featured"); r.Path != "/v1/products/featured" || r.RawQuery != "limit=2" {
			t.Errorf("featured request %s?%s", r.Path, r.RawQuery)
		}
		featured = must[[]contract.Product](t)(products.Featured(context.Background(), 0))
		if len(featured) != 3 { // every tenth of 30
			t.Errorf("%d featured by default, want 3", len(featured))
		}
		noCredential("featured default")

		if n := must[int](t)(products.Count(e.admin)); n != servicetest.SmallSeed.Products {
			t.Errorf("count %d", n)
		}
		if r := rec.one(t); r.Path != "/v1/products/count" || r.Header.Get("Authorization") != bearer(e.adminTok) {
			t.Errorf("count request %+v: want the caller's token", r)
		}
		_, err = products.Count(e.ada)
		wantCode(t, err, apperr.Forbidden)
		rec.one(t)
		_, err = products.Count(context.Background())
		wantCode(t, err, apperr.Unauthenticated)
		rec.one(t)
	})

	t.Run("order reads", func(t *testing.T) {
		rec.take()
		orders := e.set.Orders
		ordersOf := map[string]int{}
		for _, o := range seed.Orders(servicetest.SmallSeed, time.Now()) {
			ordersOf[o.UserID]++
		}
		o := must[contract.Order](t)(orders.Get(e.ada, seed.OrderID(0)))
		if o.ID != seed.OrderID(0) || o.UserID != adaID || len(o.Items) == 0 {
			t.Errorf("order 0: %+v", o)
		}
		if r := rec.one(t); r.Path != "/v1/orders/"+seed.OrderID(0) || r.Header.Get("Authorization") != bearer(e.adaTok) {
			t.Errorf("get request %+v", r)
		}
		_, err := orders.Get(e.ada, seed.OrderID(seed.OrdersPerFixedCustomer)) // grace's
		wantCode(t, err, apperr.NotFound)
		rec.one(t)

		b := must[contract.OrderBatch](t)(orders.Batch(e.ada, []string{seed.OrderID(1), seed.OrderID(seed.OrdersPerFixedCustomer), seed.OrderID(0)}))
		if got := orderIDs(b.Orders); !slices.Equal(got, []string{seed.OrderID(1), seed.OrderID(0)}) {
			t.Errorf("batch orders %v", got)
		}
		if !slices.Equal(b.Missing, []string{seed.OrderID(seed.OrdersPerFixedCustomer)}) {
			t.Errorf("batch missing %v", b.Missing)
		}
		rec.one(t)

		page := must[contract.OrderPage](t)(orders.List(e.ada, upstream.OrderQuery{Limit: 4}))
		if len(page.Orders) != 4 || page.TotalCount != ordersOf[adaID] || page.NextCursor == nil {
			t.Fatalf("ada's first page: %d orders of %d", len(page.Orders), page.TotalCount)
		}
		if r := rec.one(t); r.RawQuery != "limit=4" {
			t.Errorf("list query %q", r.RawQuery)
		}
		seen := map[string]bool{}
		cursor := ""
		for {
			p := must[contract.OrderPage](t)(orders.List(e.ada, upstream.OrderQuery{Limit: 4, Cursor: cursor}))
			rec.one(t)
			for _, o := range p.Orders {
				if o.UserID != adaID || seen[o.ID] {
					t.Errorf("order %s of %s listed again or for ada", o.ID, o.UserID)
				}
				seen[o.ID] = true
			}
			if p.NextCursor == nil {
				break
			}
			cursor = *p.NextCursor
		}
		if len(seen) != ordersOf[adaID] {
			t.Errorf("paging saw %d of ada's orders, want %d", len(seen), ordersOf[adaID])
		}
		grace := must[contract.OrderPage](t)(orders.List(e.admin, upstream.OrderQuery{UserID: graceID}))
		if grace.TotalCount != ordersOf[graceID] || grace.Orders[0].UserID != graceID {
			t.Errorf("grace's orders: %d", grace.TotalCount)
		}
		rec.one(t)
		_, err = orders.List(e.ada, upstream.OrderQuery{UserID: graceID})
		wantCode(t, err, apperr.NotFound)
		rec.one(t)

		recent := must[[]contract.Order](t)(orders.Recent(e.admin, 3))
		if len(recent) != 3 || recent[0].CreatedAt.Before(recent[2].CreatedAt) {
			t.Errorf("recent: %+v", recent)
		}
		if r := rec.one(t); r.Path != "/v1/orders/recent" || r.RawQuery != "limit=3" {
			t.Errorf("recent request %s?%s", r.Path, r.RawQuery)
		}
		_, err = orders.Recent(e.ada, 3)
		wantCode(t, err, apperr.Forbidden)
		rec.one(t)

		stats := must[contract.OrderStats](t)(orders.Stats(e.admin))
		if stats.Count != servicetest.SmallSeed.Orders || stats.RevenueCents <= 0 || stats.Currency != contract.Currency {
			t.Errorf("stats: %+v", stats)
		}
		if r := rec.one(t); r.Path != "/v1/orders/stats" {
			t.Errorf("stats path %s", r.Path)
		}
		_, err = orders.Stats(e.ada)
		wantCode(t, err, apperr.Forbidden)
		rec.one(t)

		both, totals, err := orders.RecentWithStats(e.admin, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(both, recent, func(a, b contract.Order) bool { return a.ID == b.ID }) || !reflect.DeepEqual(totals, stats) {
			t.Errorf("recent with stats: %+v and %+v, want %+v and %+v", both, totals, recent, stats)
		}
		if r := rec.one(t); r.Path != "/v1/orders/recent" || r.RawQuery != "include=stats&limit=3" {
			t.Errorf("recent with stats request %s?%s", r.Path, r.RawQuery)
		}
		_, _, err = orders.RecentWithStats(e.ada, 3)
		wantCode(t, err, apperr.Forbidden)
		rec.one(t)
	})

	t.Run("order changes", func(t *testing.T) {
		rec.take()
		orders := e.set.Orders
		req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: seed.ProductID(1), Quantity: 1}}}
		placed := must[contract.Order](t)(orders.Place(e.ada, "key-1", req))
		if placed.UserID != adaID || placed.Status != contract.StatusPending || placed.TotalCents <= 0 {
			t.Errorf("placed %+v", placed)
		}
		r := rec.one(t)
		if r.Method != http.MethodPost || r.Path != "/v1/orders" || r.Header.Get("Idempotency-Key") != "key-1" || r.Header.Get("Authorization") != bearer(e.adaTok) {
			t.Errorf("place request %+v", r)
		}
		again := must[contract.Order](t)(orders.Place(e.ada, "key-1", req))
		if again.ID != placed.ID {
			t.Errorf("the same key placed %s, then %s", placed.ID, again.ID)
		}
		rec.one(t)
		other := req
		other.Items = []contract.ReservationItem{{ProductID: seed.ProductID(1), Quantity: 2}}
		_, err := orders.Place(e.ada, "key-1", other)
		wantCode(t, err, apperr.IdempotencyKeyReused)
		rec.one(t)

		short := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: seed.ProductID(5), Quantity: 1}}} // out of stock
		_, err = orders.Place(e.ada, "key-2", short)
		wantCode(t, err, apperr.InsufficientStock)
		if ae, _ := apperr.As(err); ae.Details["shortages"] == nil {
			t.Errorf("insufficient stock without shortages: %+v", ae)
		}
		rec.one(t)
		_, err = orders.Place(e.ada, "key-3", contract.PlaceOrderRequest{UserID: graceID, Items: req.Items})
		wantCode(t, err, apperr.Forbidden)
		rec.one(t)

		for _, key := range []string{"", "with space", "new\r\nline", "é", strings.Repeat("k", 256)} {
			_, err = orders.Place(e.ada, key, req)
			wantCode(t, err, apperr.Invalid)
			if ae, _ := apperr.As(err); ae.Param != contract.IdempotencyKeyHeader {
				t.Errorf("key %q: param %q", key, ae.Param)
			}
			rec.none(t)
		}
		if _, err := orders.Place(e.ada, strings.Repeat("k", 255), req); err != nil {
			t.Errorf("a 255-character key: %v", err)
		}
		rec.one(t)

		cancelled := must[contract.Order](t)(orders.Cancel(e.ada, placed.ID))
		if cancelled.ID != placed.ID || cancelled.Status != contract.StatusCancelled {
			t.Errorf("cancelled %+v", cancelled)
		}
		if r := rec.one(t); r.Method != http.MethodPost || r.Path != "/v1/orders/"+placed.ID+"/cancel" {
			t.Errorf("cancel request %s %s", r.Method, r.Path)
		}
		_, err = orders.Cancel(e.ada, placed.ID)
		wantCode(t, err, apperr.NotCancellable)
		rec.one(t)
		_, err = orders.Cancel(e.ada, seed.OrderID(seed.OrdersPerFixedCustomer)) // grace's
		wantCode(t, err, apperr.NotFound)
		rec.one(t)
	})

	t.Run("ids cannot change the request", func(t *testing.T) {
		rec.take()
		weird := []string{"../x", "a%2Fb?c#d", "count", "featured", "recent", "stats", "", "usr_x/../count",
			adaID + "?ids=" + graceID, "prd_ok#frag", "ord_%2e%2e", "ord_a\r\nHost: evil"}
		calls := map[string]func(id string) error{
			"Users.Get":     func(id string) error { _, err := e.set.Users.Get(e.admin, id); return err },
			"Products.Get":  func(id string) error { _, err := e.set.Products.Get(e.admin, id); return err },
			"Orders.Get":    func(id string) error { _, err := e.set.Orders.Get(e.admin, id); return err },
			"Orders.Cancel": func(id string) error { _, err := e.set.Orders.Cancel(e.admin, id); return err },
		}
		for name, call := range calls {
			for _, id := range weird {
				err := call(id)
				if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Invalid || ae.Param != "id" {
					t.Errorf("%s(%q): %v, want invalid_argument on id", name, id, err)
				}
				rec.none(t)
			}
		}
		for _, id := range weird {
			ub := must[contract.UserBatch](t)(e.set.Users.Batch(e.admin, []string{id, adaID}))
			pb := must[contract.ProductBatch](t)(e.set.Products.Batch(e.admin, []string{id, seed.ProductID(0)}))
			ob := must[contract.OrderBatch](t)(e.set.Orders.Batch(e.admin, []string{id, seed.OrderID(0)}))
			if len(ub.Users) != 1 || len(pb.Products) != 1 || len(ob.Orders) != 1 ||
				!slices.Contains(ub.Missing, id) || !slices.Contains(pb.Missing, id) || !slices.Contains(ob.Missing, id) {
				t.Errorf("batches with %q: %+v %+v %+v", id, ub, pb, ob)
			}
			for _, r := range rec.take() {
				if strings.Count(query(t, r).Get("ids"), ",") != 0 {
					t.Errorf("batch with %q sent %q", id, r.RawQuery)
				}
			}
		}
	})

	t.Run("every breaker is closed and named", func(t *testing.T) {
		var names []string
		for _, b := range e.set.Breakers {
			names = append(names, fmt.Sprintf("%s:%s", b.Name(), b.State()))
		}
		if want := []string{"user:closed", "order:closed", "product:closed"}; !slices.Equal(names, want) {
			t.Errorf("breakers %v, want %v", names, want)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	_, err := upstream.New(withDefaults(upstream.Config{UserURL: "ftp://x", OrderURL: "", ProductURL: "http://127.0.0.1:9003"}))
	if err == nil {
		t.Fatal("bad URLs accepted")
	}
	for _, want := range []string{"user service url", "order service url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report the %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "product") {
		t.Errorf("error %q reports a good URL", err)
	}
	if errors.Unwrap(err) != nil {
		t.Log(err)
	}
}

func userIDs(us []contract.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func productIDs(ps []contract.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func orderIDs(os []contract.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestConfigHasNoDefaults checks that New takes its timeout and breaker
// settings from its caller (the BFF's configuration holds the defaults)
// and refuses zero ones rather than guess.
func TestConfigHasNoDefaults(t *testing.T) {
	_, err := upstream.New(upstream.Config{UserURL: "http://127.0.0.1:1", OrderURL: "http://127.0.0.1:2", ProductURL: "http://127.0.0.1:3"})
	for _, want := range []string{"call timeout must be positive", "ConsecutiveFailures must be positive"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("zero settings: error %v does not say %q", err, want)
		}
	}
}
