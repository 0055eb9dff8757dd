package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/catalog"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/fakeclock"
)

const (
	ttl      = 30 * time.Second
	maxStale = time.Minute
)

var (
	t0      = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	errDown = apperr.New(apperr.Unavailable, "the product service is down")
)

func newCatalog(t *testing.T, src catalog.Source) (*catalog.Catalog, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(t0)
	c, err := catalog.New(src, cache.Config{MaxEntries: 1000, TTL: ttl, MaxStale: maxStale, FetchTimeout: 10 * time.Second}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

// withState returns a context carrying a fresh request state.
func withState() (context.Context, *request.State) {
	s := request.NewState()
	return request.NewContextWithState(context.Background(), s), s
}

func productIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("prd_%03d", i)
	}
	return out
}

// assertFresh fails t unless every result is the fresh product of its id.
func assertFresh(t *testing.T, ids []string, results []cache.Result[contract.Product]) {
	t.Helper()
	if len(results) != len(ids) {
		t.Fatalf("%d results for %d ids", len(results), len(ids))
	}
	for i, r := range results {
		if r.Err != nil || !r.Found || r.Stale || r.Value != product(ids[i]) {
			t.Errorf("%s: %+v, want the fresh product", ids[i], r)
		}
	}
}

func assertCalls(t *testing.T, got, want [][]string) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batch calls %v, want %v", got, want)
	}
}

func TestNewRejectsABadConfig(t *testing.T) {
	t.Parallel()
	if _, err := catalog.New(newFakeSource(), cache.Config{TTL: -time.Second}, nil); err == nil {
		t.Error("New took a negative TTL")
	}
}

func TestProductsFetchesLargeRequestsInParallelChunks(t *testing.T) {
	t.Parallel()
	distinct := productIDs(250)
	known := distinct[:249] // prd_249 is unknown
	src := newFakeSource(known...)
	// Every chunk waits until all three have been issued: they can only
	// all succeed if they run at the same time.
	var issued atomic.Int32
	all := make(chan struct{})
	src.onBatch = func(ctx context.Context, _ []string) error {
		if issued.Add(1) == 3 {
			close(all)
		}
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return errors.New("the other chunks were not issued while this one ran")
		}
	}
	c, _ := newCatalog(t, src)
	asked := append(slices.Clone(distinct), "prd_000", "prd_150", "prd_249")

	results := c.Products(context.Background(), asked)

	if len(results) != len(asked) {
		t.Fatalf("%d results for %d ids", len(results), len(asked))
	}
	for i, r := range results {
		switch id := asked[i]; {
		case id == "prd_249":
			if r.Found || r.Err != nil || r.Stale {
				t.Errorf("unknown %s: %+v, want not found without an error", id, r)
			}
		case r.Err != nil || !r.Found || r.Stale || r.Value != product(id):
			t.Errorf("%s: %+v, want the fresh product", id, r)
		}
	}
	calls := src.BatchCalls()
	if len(calls) != 3 {
		t.Errorf("%d batch calls, want 3", len(calls))
	}
	var all250 []string
	for _, call := range calls {
		if len(call) > contract.MaxBatchIDs {
			t.Errorf("a batch call asked for %d ids, more than %d", len(call), contract.MaxBatchIDs)
		}
		all250 = append(all250, call...)
	}
	slices.Sort(all250)
	if !slices.Equal(all250, distinct) {
		t.Errorf("the calls asked for %d ids in all, want each of the %d once", len(all250), len(distinct))
	}
}

func TestProductsAreFreshForTheTTL(t *testing.T) {
	t.Parallel()
	src := newFakeSource("prd_a", "prd_b", "prd_c")
	c, clock := newCatalog(t, src)
	ctx, state := withState()

	steps := []struct {
		name      string
		advance   time.Duration
		ids       []string
		wantCalls [][]string
	}{
		{"first read fetches", 0, []string{"prd_b", "prd_a"}, [][]string{{"prd_a", "prd_b"}}},
		{"within the TTL", ttl - time.Second, []string{"prd_a", "prd_b", "prd_a"}, [][]string{{"prd_a", "prd_b"}}},
		{"only the missing id", 0, []string{"prd_a", "prd_c"}, [][]string{{"prd_a", "prd_b"}, {"prd_c"}}},
		{"at the TTL fetches again", time.Second, []string{"prd_a", "prd_b"}, [][]string{{"prd_a", "prd_b"}, {"prd_c"}, {"prd_a", "prd_b"}}},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		assertFresh(t, s.ids, c.Products(ctx, s.ids))
		if got := src.BatchCalls(); !slices.EqualFunc(got, s.wantCalls, slices.Equal) {
			t.Fatalf("%s: batch calls %v, want %v", s.name, got, s.wantCalls)
		}
	}
	if got := state.StaleProducts(); len(got) != 0 {
		t.Errorf("fresh products marked stale: %v", got)
	}
}

func TestProductsServesStaleCopiesWhenTheSourceFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		advance   time.Duration
		noState   bool
		wantStale bool
	}{
		{name: "at the TTL", advance: ttl, wantStale: true},
		{name: "just within TTL+MaxStale", advance: ttl + maxStale - time.Second, wantStale: true},
		{name: "without a state in the context", advance: ttl + time.Second, noState: true, wantStale: true},
		{name: "at TTL+MaxStale", advance: ttl + maxStale},
		{name: "long after", advance: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids := []string{"prd_a", "prd_b"}
			src := newFakeSource(ids...)
			c, clock := newCatalog(t, src)
			assertFresh(t, ids, c.Products(context.Background(), ids))

			src.setErr(errDown)
			clock.Advance(tt.advance)
			ctx, state := withState()
			if tt.noState {
				ctx = context.Background()
			}
			results := c.Products(ctx, ids)

			assertCalls(t, src.BatchCalls(), [][]string{ids, ids})
			for i, r := range results {
				if tt.wantStale {
					if r.Err != nil || !r.Found || !r.Stale || r.Value != product(ids[i]) {
						t.Errorf("%s: %+v, want the stale copy", ids[i], r)
					}
				} else if r.Found || r.Stale || !errors.Is(r.Err, errDown) {
					t.Errorf("%s: %+v, want the source's error", ids[i], r)
				}
			}
			want := []string{}
			if tt.wantStale && !tt.noState {
				want = ids
			}
			if got := state.StaleProducts(); !slices.Equal(got, want) {
				t.Errorf("products marked stale %v, want %v", got, want)
			}
		})
	}
}

func TestProductsMarksOnlyTheStaleProducts(t *testing.T) {
	t.Parallel()
	src := newFakeSource("prd_old", "prd_new", "prd_unseen")
	c, clock := newCatalog(t, src)
	assertFresh(t, []string{"prd_old"}, c.Products(context.Background(), []string{"prd_old"}))
	clock.Advance(20 * time.Second)
	assertFresh(t, []string{"prd_new"}, c.Products(context.Background(), []string{"prd_new"}))
	clock.Advance(15 * time.Second) // prd_old is 35s old, prd_new 15s

	src.setErr(errDown)
	ctx, state := withState()
	r := c.Products(ctx, []string{"prd_new", "prd_old", "prd_unseen"})

	if r[0].Err != nil || !r[0].Found || r[0].Stale || r[0].Value != product("prd_new") {
		t.Errorf("prd_new: %+v, want the fresh product", r[0])
	}
	if r[1].Err != nil || !r[1].Found || !r[1].Stale || r[1].Value != product("prd_old") {
		t.Errorf("prd_old: %+v, want the stale copy", r[1])
	}
	if r[2].Found || !errors.Is(r[2].Err, errDown) {
		t.Errorf("prd_unseen: %+v, want the source's error", r[2])
	}
	assertCalls(t, src.BatchCalls(), [][]string{{"prd_old"}, {"prd_new"}, {"prd_old", "prd_unseen"}})
	if got, want := state.StaleProducts(), []string{"prd_old"}; !slices.Equal(got, want) {
		t.Errorf("products marked stale %v, want %v", got, want)
	}
}

func featuredSource() *fakeSource {
	src := newFakeSource()
	for _, id := range []string{"prd_f1", "prd_f2", "prd_f3", "prd_f4", "prd_f5"} {
		src.featured = append(src.featured, product(id))
	}
	return src
}

func assertList(t *testing.T, got []contract.Product, ids ...string) {
	t.Helper()
	want := make([]contract.Product, len(ids))
	for i, id := range ids {
		want[i] = product(id)
	}
	if !slices.Equal(got, want) {
		t.Errorf("featured %+v, want the products %v", got, ids)
	}
}

func TestFeaturedIsCachedPerLimit(t *testing.T) {
	t.Parallel()
	src := featuredSource()
	c, clock := newCatalog(t, src)
	ctx, state := withState()

	steps := []struct {
		name      string
		advance   time.Duration
		limit     int
		want      []string
		wantCalls []int
	}{
		{"first read fetches", 0, 3, []string{"prd_f1", "prd_f2", "prd_f3"}, []int{3}},
		{"same limit within the TTL", ttl - time.Second, 3, []string{"prd_f1", "prd_f2", "prd_f3"}, []int{3}},
		{"another limit fetches", 0, 2, []string{"prd_f1", "prd_f2"}, []int{3, 2}},
		{"after the TTL fetches again", time.Second, 3, []string{"prd_f1", "prd_f2", "prd_f3"}, []int{3, 2, 3}},
		{"the other limit is still fresh", 0, 2, []string{"prd_f1", "prd_f2"}, []int{3, 2, 3}},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		list, err := c.Featured(ctx, s.limit)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		assertList(t, list, s.want...)
		if got := src.FeaturedCalls(); !slices.Equal(got, s.wantCalls) {
			t.Fatalf("%s: featured calls %v, want %v", s.name, got, s.wantCalls)
		}
	}
	if got := state.StaleProducts(); len(got) != 0 {
		t.Errorf("fresh products marked stale: %v", got)
	}
}

func TestFeaturedServesAStaleListWhenTheSourceFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		advance   time.Duration
		noState   bool
		wantStale bool
	}{
		{name: "past the TTL", advance: ttl + time.Second, wantStale: true},
		{name: "just within TTL+MaxStale", advance: ttl + maxStale - time.Second, wantStale: true},
		{name: "without a state in the context", advance: ttl, noState: true, wantStale: true},
		{name: "at TTL+MaxStale", advance: ttl + maxStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := featuredSource()
			c, clock := newCatalog(t, src)
			if _, err := c.Featured(context.Background(), 3); err != nil {
				t.Fatal(err)
			}

			src.setErr(errDown)
			clock.Advance(tt.advance)
			ctx, state := withState()
			if tt.noState {
				ctx = context.Background()
			}
			list, err := c.Featured(ctx, 3)

			if got := src.FeaturedCalls(); !slices.Equal(got, []int{3, 3}) {
				t.Errorf("featured calls %v, want [3 3]", got)
			}
			want := []string{}
			if tt.wantStale {
				if err != nil {
					t.Fatalf("err %v, want the stale list", err)
				}
				assertList(t, list, "prd_f1", "prd_f2", "prd_f3")
				if !tt.noState {
					want = []string{"prd_f1", "prd_f2", "prd_f3"}
				}
			} else if list != nil || !errors.Is(err, errDown) || !apperr.Is(err, apperr.Unavailable) {
				t.Errorf("got %v, %v; want the source's error", list, err)
			}
			if got := state.StaleProducts(); !slices.Equal(got, want) {
				t.Errorf("products marked stale %v, want %v", got, want)
			}
		})
	}
}

func TestFeaturedErrorWithoutACopy(t *testing.T) {
	t.Parallel()
	src := featuredSource()
	src.setErr(errDown)
	c, _ := newCatalog(t, src)
	ctx, state := withState()

	list, err := c.Featured(ctx, 3)
	if list != nil || !errors.Is(err, errDown) || !apperr.Is(err, apperr.Unavailable) {
		t.Errorf("got %v, %v; want the source's error", list, err)
	}
	if got := state.StaleProducts(); len(got) != 0 {
		t.Errorf("products marked stale %v, want none", got)
	}
	// Errors are not cached: once the source is back, the list is fetched.
	src.setErr(nil)
	list, err = c.Featured(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	assertList(t, list, "prd_f1", "prd_f2", "prd_f3")
	if got := src.FeaturedCalls(); !slices.Equal(got, []int{3, 3}) {
		t.Errorf("featured calls %v, want [3 3]", got)
	}
}
