package ordersvc_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/order/ordersvc"
)

func TestGetOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	orders := seededOrders()
	adaFirst, graceFirst := orders[0], orders[seed.OrdersPerFixedCustomer]
	if adaFirst.UserID != adaID || graceFirst.UserID != graceID {
		t.Fatalf("seed: want ada's then grace's orders first")
	}
	cases := []struct {
		name   string
		token  string
		id     string
		status int
		code   string
		param  string
		want   contract.Order
	}{
		{name: "customer own", token: e.ada, id: adaFirst.ID, status: http.StatusOK, want: adaFirst},
		{name: "customer other's", token: e.ada, id: graceFirst.ID, status: http.StatusNotFound, code: "not_found"},
		{name: "admin any", token: e.admin, id: graceFirst.ID, status: http.StatusOK, want: graceFirst},
		{name: "unknown", token: e.admin, id: "ord_doesnotexist", status: http.StatusNotFound, code: "not_found"},
		{name: "malformed id", token: e.admin, id: "order-1", status: http.StatusBadRequest, code: "invalid_argument", param: "id"},
		{name: "anonymous", token: "", id: adaFirst.ID, status: http.StatusUnauthorized, code: "unauthenticated"},
		{name: "bad token", token: "not.a.token", id: adaFirst.ID, status: http.StatusUnauthorized, code: "unauthenticated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(t, http.MethodGet, "/v1/orders/"+tc.id, tc.token, nil, nil)
			if tc.status != http.StatusOK {
				testutil.WantProblem(t, a, tc.status, tc.code, tc.param)
				return
			}
			if a.Status != http.StatusOK {
				t.Fatalf("status %d: %s", a.Status, a.Body)
			}
			got := testutil.MustJSON[contract.Order](t, a.Body)
			wantSameOrder(t, got, tc.want)
			if got.TotalCents != itemsTotal(got.Items) || len(got.Items) == 0 {
				t.Errorf("total %d for items %v", got.TotalCents, got.Items)
			}
		})
	}
}

func TestBatchOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada1, ada2, grace1 := seed.OrderID(3), seed.OrderID(1), seed.OrderID(seed.OrdersPerFixedCustomer)
	const unknown = "ord_unknown"

	t.Run("admin in the order asked", func(t *testing.T) {
		got := get[contract.OrderBatch](t, e, "/v1/orders?ids="+strings.Join([]string{grace1, unknown, ada1, ada2, ada1}, ","), e.admin)
		if ids := orderIDs(got.Orders); !slices.Equal(ids, []string{grace1, ada1, ada2}) {
			t.Errorf("orders %v, want %v", ids, []string{grace1, ada1, ada2})
		}
		if !slices.Equal(got.Missing, []string{unknown}) {
			t.Errorf("missing %v, want [%s]", got.Missing, unknown)
		}
		for _, o := range got.Orders {
			if len(o.Items) == 0 {
				t.Errorf("order %s without items", o.ID)
			}
		}
	})
	t.Run("customer sees others' as missing", func(t *testing.T) {
		got := get[contract.OrderBatch](t, e, "/v1/orders?ids="+strings.Join([]string{ada1, grace1, ada2}, ","), e.ada)
		if ids := orderIDs(got.Orders); !slices.Equal(ids, []string{ada1, ada2}) {
			t.Errorf("orders %v, want [%s %s]", ids, ada1, ada2)
		}
		if !slices.Equal(got.Missing, []string{grace1}) {
			t.Errorf("missing %v, want [%s]", got.Missing, grace1)
		}
	})

	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = seed.OrderID(i)
	}
	bad := []struct {
		name, query, param string
	}{
		{"with user_id", "ids=" + ada1 + "&user_id=" + adaID, "user_id"},
		{"with limit", "ids=" + ada1 + "&limit=5", "limit"},
		{"with cursor", "ids=" + ada1 + "&cursor=abc", "cursor"},
		{"empty", "ids=", "ids"},
		{"malformed id", "ids=" + ada1 + ",nope", "ids"},
		{"too many", "ids=" + strings.Join(tooMany, ","), "ids"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders?"+tc.query, e.admin, nil, nil),
				http.StatusBadRequest, "invalid_argument", tc.param)
		})
	}
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seeded := seededOrders()
	countOf := func(userID string) int {
		n := 0
		for _, o := range seeded {
			if userID == "" || o.UserID == userID {
				n++
			}
		}
		return n
	}

	walks := []struct {
		name, token, query, user string
		limit                    int
	}{
		{name: "admin everyone", token: e.admin, query: "limit=7", limit: 7},
		{name: "admin one user", token: e.admin, query: "limit=5&user_id=" + graceID, user: graceID, limit: 5},
		{name: "customer defaults to self", token: e.ada, query: "limit=4", user: adaID, limit: 4},
		{name: "customer names self", token: e.ada, query: "user_id=" + adaID, user: adaID, limit: 20},
	}
	for _, tc := range walks {
		t.Run(tc.name, func(t *testing.T) {
			all := walkOrders(t, e, tc.token, tc.query, tc.limit, countOf(tc.user))
			seen := map[string]bool{}
			for i, o := range all {
				if seen[o.ID] {
					t.Fatalf("order %s listed twice", o.ID)
				}
				seen[o.ID] = true
				if tc.user != "" && o.UserID != tc.user {
					t.Errorf("order %s of %s in a listing of %s", o.ID, o.UserID, tc.user)
				}
				if len(o.Items) == 0 || o.TotalCents != itemsTotal(o.Items) {
					t.Errorf("order %s: total %d, items %v", o.ID, o.TotalCents, o.Items)
				}
				if i > 0 && !newerFirst(all[i-1], o) {
					t.Errorf("order %s (%s) listed after %s (%s)", o.ID, o.CreatedAt, all[i-1].ID, all[i-1].CreatedAt)
				}
			}
			if len(all) != countOf(tc.user) {
				t.Errorf("listed %d orders, want %d", len(all), countOf(tc.user))
			}
		})
	}

	t.Run("default limit", func(t *testing.T) {
		page := get[contract.OrderPage](t, e, "/v1/orders", e.admin)
		if len(page.Orders) != 20 || page.NextCursor == nil || page.TotalCount != len(seeded) {
			t.Errorf("got %d orders, next %v, total %d; want 20, a cursor, %d", len(page.Orders), page.NextCursor, page.TotalCount, len(seeded))
		}
	})
	t.Run("customer listing another user", func(t *testing.T) {
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders?user_id="+graceID, e.ada, nil, nil),
			http.StatusNotFound, "not_found", "")
	})
	t.Run("anonymous", func(t *testing.T) {
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders", "", nil, nil), http.StatusUnauthorized, "unauthenticated", "")
	})
	bad := []struct{ query, param string }{
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"cursor=not-a-cursor", "cursor"},
		{"cursor=" + url.QueryEscape("YzEAeAB4"), "cursor"},
		{"user_id=bob", "user_id"},
		{"user_id=", "user_id"},
	}
	for _, tc := range bad {
		t.Run(tc.query, func(t *testing.T) {
			testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders?"+tc.query, e.admin, nil, nil),
				http.StatusBadRequest, "invalid_argument", tc.param)
		})
	}
}

// walkOrders follows next_cursor from the first page of a listing to the
// last, checking the page sizes and total_count, and returns every order.
func walkOrders(t *testing.T, e *env, token, query string, limit, total int) []contract.Order {
	t.Helper()
	var all []contract.Order
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > total/limit+1 {
			t.Fatalf("more pages than %d orders fill", total)
		}
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		page := get[contract.OrderPage](t, e, "/v1/orders?"+q, token)
		if page.TotalCount != total {
			t.Errorf("total_count %d, want %d", page.TotalCount, total)
		}
		all = append(all, page.Orders...)
		if page.NextCursor == nil {
			if len(page.Orders) > limit {
				t.Errorf("last page holds %d orders, limit %d", len(page.Orders), limit)
			}
			return all
		}
		if len(page.Orders) != limit {
			t.Errorf("page holds %d orders, want %d", len(page.Orders), limit)
		}
		cursor = *page.NextCursor
	}
}

// newerFirst reports whether a comes before b newest first: by created_at,
// then id, descending.
func newerFirst(a, b contract.Order) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

func orderIDs(orders []contract.Order) []string {
	out := make([]string, len(orders))
	for i, o := range orders {
		out[i] = o.ID
	}
	return out
}

func TestRecentOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seeded := seededOrders()
	newest := slices.Clone(seeded)
	slices.SortFunc(newest, func(a, b contract.Order) int {
		if newerFirst(a, b) {
			return -1
		}
		return 1
	})

	got := get[contract.OrderList](t, e, "/v1/orders/recent?limit=5", e.admin)
	if ids, want := orderIDs(got.Orders), orderIDs(newest[:5]); !slices.Equal(ids, want) {
		t.Errorf("recent %v, want %v", ids, want)
	}
	if def := get[contract.OrderList](t, e, "/v1/orders/recent", e.admin); len(def.Orders) != 20 {
		t.Errorf("default recent holds %d orders, want 20", len(def.Orders))
	}

	placed := e.mustPlace(t, e.ada, contract.PlaceOrderRequest{UserID: adaID,
		Items: []contract.ReservationItem{{ProductID: e.productsWithStock(t, 1, 1)[0].ID, Quantity: 1}}})
	if got := get[contract.OrderList](t, e, "/v1/orders/recent?limit=1", e.admin); len(got.Orders) != 1 || got.Orders[0].ID != placed.ID {
		t.Errorf("newest order %v, want the one just placed %s", orderIDs(got.Orders), placed.ID)
	}

	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/recent", e.ada, nil, nil), http.StatusForbidden, "forbidden", "")
	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/recent", "", nil, nil), http.StatusUnauthorized, "unauthenticated", "")
	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/recent?limit=0", e.admin, nil, nil), http.StatusBadRequest, "invalid_argument", "limit")
	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/recent?limit=101", e.admin, nil, nil), http.StatusBadRequest, "invalid_argument", "limit")
}

// TestRecentOrdersWithStats: include=stats answers the same orders as
// without it, and the totals /v1/orders/stats answers, after a change too;
// without it there are no totals; any other include is refused by name.
func TestRecentOrdersWithStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	check := func(limit int) {
		t.Helper()
		path := fmt.Sprintf("/v1/orders/recent?limit=%d", limit)
		plain := get[contract.OrderList](t, e, path, e.admin)
		if plain.Stats != nil {
			t.Errorf("%s answered stats without include=stats: %+v", path, plain.Stats)
		}
		both := get[contract.OrderList](t, e, path+"&include=stats", e.admin)
		if got, want := orderIDs(both.Orders), orderIDs(plain.Orders); !slices.Equal(got, want) {
			t.Errorf("%s&include=stats: orders %v, want %v", path, got, want)
		}
		if both.Stats == nil {
			t.Fatalf("%s&include=stats answered no stats", path)
		}
		wantStats(t, *both.Stats, get[contract.OrderStats](t, e, "/v1/orders/stats", e.admin))
	}
	check(5)
	placed := e.mustPlace(t, e.ada, contract.PlaceOrderRequest{UserID: adaID,
		Items: []contract.ReservationItem{{ProductID: e.productsWithStock(t, 1, 1)[0].ID, Quantity: 1}}})
	check(100)
	if got := get[contract.OrderList](t, e, "/v1/orders/recent?limit=1&include=stats", e.admin); len(got.Orders) != 1 || got.Orders[0].ID != placed.ID {
		t.Errorf("newest order %v, want the one just placed %s", orderIDs(got.Orders), placed.ID)
	}

	for _, bad := range []string{"include=", "include=orders", "include=stats,orders"} {
		testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/recent?"+bad, e.admin, nil, nil), http.StatusBadRequest, "invalid_argument", "include")
	}
	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/recent?include=stats", e.ada, nil, nil), http.StatusForbidden, "forbidden", "")
	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/recent?include=stats", "", nil, nil), http.StatusUnauthorized, "unauthenticated", "")
}

func TestOrderStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seeded := seededOrders()
	want := contract.OrderStats{Currency: contract.Currency, ByStatus: map[string]int{}}
	for _, s := range contract.OrderStatuses {
		want.ByStatus[s] = 0
	}
	for _, o := range seeded {
		want.Count++
		want.ByStatus[o.Status]++
		if o.Status != contract.StatusCancelled {
			want.RevenueCents += o.TotalCents
		}
	}

	got := get[contract.OrderStats](t, e, "/v1/orders/stats", e.admin)
	wantStats(t, got, want)

	// Cancelling a pending order moves it to cancelled and out of revenue.
	pending := seeded[0]
	if pending.Status != contract.StatusPending {
		t.Fatalf("seed: order 0 is %s, want pending", pending.Status)
	}
	if a := e.call(t, http.MethodPost, "/v1/orders/"+pending.ID+"/cancel", e.ada, nil, nil); a.Status != http.StatusOK {
		t.Fatalf("cancel: status %d: %s", a.Status, a.Body)
	}
	want.ByStatus[contract.StatusPending]--
	want.ByStatus[contract.StatusCancelled]++
	want.RevenueCents -= pending.TotalCents
	wantStats(t, get[contract.OrderStats](t, e, "/v1/orders/stats", e.admin), want)

	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/stats", e.ada, nil, nil), http.StatusForbidden, "forbidden", "")
	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/orders/stats", "", nil, nil), http.StatusUnauthorized, "unauthenticated", "")
}

func wantStats(t *testing.T, got, want contract.OrderStats) {
	t.Helper()
	if got.Count != want.Count || got.RevenueCents != want.RevenueCents || got.Currency != want.Currency {
		t.Errorf("stats count %d revenue %d %s, want %d %d %s", got.Count, got.RevenueCents, got.Currency,
			want.Count, want.RevenueCents, want.Currency)
	}
	sum := 0
	for _, s := range contract.OrderStatuses {
		n, ok := got.ByStatus[s]
		if !ok || n != want.ByStatus[s] {
			t.Errorf("by_status[%s] = %d (present %v), want %d", s, n, ok, want.ByStatus[s])
		}
		sum += n
	}
	if sum != got.Count || len(got.ByStatus) != len(contract.OrderStatuses) {
		t.Errorf("by_status %v does not add up to count %d", got.ByStatus, got.Count)
	}
}

func TestProbesAndDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		if got := get[map[string]string](t, e, path, ""); got["status"] != want {
			t.Errorf("GET %s: status %q, want %q", path, got["status"], want)
		}
	}
	a := e.call(t, http.MethodGet, "/openapi.yaml", "", nil, nil)
	if a.Status != http.StatusOK || !slices.Equal(a.Body, ordersvc.OpenAPI) {
		t.Errorf("GET /openapi.yaml: status %d, %d bytes; want 200 and the embedded document", a.Status, len(a.Body))
	}
	testutil.WantProblem(t, e.call(t, http.MethodGet, "/v1/nothing", e.admin, nil, nil), http.StatusNotFound, "not_found", "")
	testutil.WantProblem(t, e.call(t, http.MethodDelete, "/v1/orders/"+seed.OrderID(0), e.admin, nil, nil),
		http.StatusMethodNotAllowed, "method_not_allowed", "")
}
