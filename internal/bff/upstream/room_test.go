package upstream_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
)

// TestListsDecodeIntoRoomForWhatWasAsked checks that a list whose length
// is known before the call (a limit, the ids of a batch) is decoded into a
// slice made for that many, not one grown by doubling (three elements
// would leave a capacity of four), and that what is decoded is the answer
// whole.
func TestListsDecodeIntoRoomForWhatWasAsked(t *testing.T) {
	orders := []contract.Order{{ID: ids.New(ids.OrderPrefix)}, {ID: ids.New(ids.OrderPrefix)}, {ID: ids.New(ids.OrderPrefix)}}
	products := []contract.Product{{ID: ids.New(ids.ProductPrefix)}, {ID: ids.New(ids.ProductPrefix)}, {ID: ids.New(ids.ProductPrefix)}}
	users := []contract.User{{ID: ids.New(ids.UserPrefix)}, {ID: ids.New(ids.UserPrefix)}, {ID: ids.New(ids.UserPrefix)}}
	ctx := context.Background()
	set := func(v any) *upstream.Set { return scriptedSet(t, newScript(t, answer(v)), upstream.Config{}) }

	recent, err := set(contract.OrderList{Orders: orders}).Orders.Recent(ctx, 3)
	checkRoom(t, "Orders.Recent(3)", len(recent), cap(recent), err, recent[0].ID == orders[0].ID && recent[2].ID == orders[2].ID)
	recent, _, err = set(contract.OrderList{Orders: orders, Stats: &contract.OrderStats{}}).Orders.RecentWithStats(ctx, 3)
	checkRoom(t, "Orders.RecentWithStats(3)", len(recent), cap(recent), err, recent[0].ID == orders[0].ID && recent[2].ID == orders[2].ID)
	page, err := set(contract.OrderPage{Orders: orders}).Orders.List(ctx, upstream.OrderQuery{Limit: 3})
	checkRoom(t, "Orders.List(limit 3)", len(page.Orders), cap(page.Orders), err, page.Orders[1].ID == orders[1].ID)
	featured, err := set(contract.ProductList{Products: products}).Products.Featured(ctx, 3)
	checkRoom(t, "Products.Featured(3)", len(featured), cap(featured), err, featured[2].ID == products[2].ID)
	found, err := set(contract.ProductPage{Products: products}).Products.Search(ctx, upstream.ProductQuery{Limit: 3})
	checkRoom(t, "Products.Search(limit 3)", len(found.Products), cap(found.Products), err, found.Products[0].ID == products[0].ID)
	pb, err := set(contract.ProductBatch{Products: products}).Products.Batch(ctx, []string{products[0].ID, products[1].ID, products[2].ID})
	checkRoom(t, "Products.Batch(3 ids)", len(pb.Products), cap(pb.Products), err, pb.Products[1].ID == products[1].ID)
	ob, err := set(contract.OrderBatch{Orders: orders}).Orders.Batch(ctx, []string{orders[0].ID, orders[1].ID, orders[2].ID})
	checkRoom(t, "Orders.Batch(3 ids)", len(ob.Orders), cap(ob.Orders), err, ob.Orders[2].ID == orders[2].ID)
	ub, err := set(contract.UserBatch{Users: users}).Users.Batch(ctx, []string{users[0].ID, users[1].ID, users[2].ID})
	checkRoom(t, "Users.Batch(3 ids)", len(ub.Users), cap(ub.Users), err, ub.Users[0].ID == users[0].ID)

	// No limit (the service's default) and a limit the service refuses get
	// no room of their own: the answer is still read whole.
	all, err := set(contract.OrderList{Orders: orders}).Orders.Recent(ctx, 0)
	if err != nil || len(all) != 3 {
		t.Errorf("Orders.Recent(0): %d orders, %v", len(all), err)
	}
	over, err := set(contract.OrderList{Orders: orders}).Orders.Recent(ctx, contract.MaxPageSize+1)
	if err != nil || len(over) != 3 || cap(over) > 4 {
		t.Errorf("Orders.Recent(%d): %d orders (capacity %d), %v", contract.MaxPageSize+1, len(over), cap(over), err)
	}
}

func checkRoom(t *testing.T, call string, n, capacity int, err error, same bool) {
	t.Helper()
	switch {
	case err != nil:
		t.Errorf("%s: %v", call, err)
	case n != 3 || !same:
		t.Errorf("%s: %d elements (or not the ones sent), want the 3 sent", call, n)
	case capacity != 3:
		t.Errorf("%s: capacity %d, want 3 (a slice made for the 3 asked for)", call, capacity)
	}
}

// TestRecentWithStatsFromAnOlderServiceAsksForTheTotals: an order service
// that answers the recent orders without the totals (one older than
// include=stats) gets a second call for them, and its failure is the
// answer's; the totals are never taken as zeros.
func TestRecentWithStatsFromAnOlderServiceAsksForTheTotals(t *testing.T) {
	orders := []contract.Order{{ID: ids.New(ids.OrderPrefix)}}
	totals := contract.OrderStats{Count: 7, RevenueCents: 1250, Currency: contract.Currency, ByStatus: map[string]int{contract.StatusPaid: 7}}
	s := newScript(t, answer(contract.OrderList{Orders: orders}), answer(totals))
	got, gotTotals, err := scriptedSet(t, s, upstream.Config{}).Orders.RecentWithStats(context.Background(), 1)
	if err != nil || len(got) != 1 || got[0].ID != orders[0].ID || !reflect.DeepEqual(gotTotals, totals) {
		t.Errorf("got %v, %+v, %v; want the orders and the totals of the second call", got, gotTotals, err)
	}
	if n := s.hits.Load(); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}

	s = newScript(t, answer(contract.OrderList{Orders: orders}), problemStep(apperr.Forbidden))
	got, gotTotals, err = scriptedSet(t, s, upstream.Config{}).Orders.RecentWithStats(context.Background(), 1)
	wantCode(t, err, apperr.Forbidden)
	if got != nil || gotTotals.Count != 0 {
		t.Errorf("answered %v and %+v with the error", got, gotTotals)
	}
}
