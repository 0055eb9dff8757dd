package loader_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/contract"
)

// kind runs the same test against the users and the products loader.
type kind struct {
	name string
	// make returns loaders whose source knows ids, and the calls made to
	// the source of this kind.
	make func(cfg loader.Config, ids ...string) (*loader.Loaders, func() [][]string)
	// load loads id and returns a thunk answering the loaded value's id.
	load func(ctx context.Context, l *loader.Loaders, id string) func() (string, error)
	// prefetch loads ids for a list (ListUsers, ListProducts) and
	// returns what answers the loaded value's id for one of them.
	prefetch func(ctx context.Context, l *loader.Loaders, ids []string) func(id string) (string, error)
	// flush sends the current batch now.
	flush func(l *loader.Loaders)
	// id returns the i-th id of this kind.
	id func(i int) string
}

var kinds = []kind{
	{
		name: "users",
		make: func(cfg loader.Config, ids ...string) (*loader.Loaders, func() [][]string) {
			u := newFakeUsers(ids...)
			return loader.New(u, newFakeProducts(), cfg), u.Calls
		},
		load: func(ctx context.Context, l *loader.Loaders, id string) func() (string, error) {
			th := l.Users.Load(ctx, id)
			return func() (string, error) { return userID(th()) }
		},
		prefetch: func(ctx context.Context, l *loader.Loaders, ids []string) func(id string) (string, error) {
			get := l.ListUsers(ctx, ids)
			return func(id string) (string, error) { return userID(get(id)) }
		},
		flush: func(l *loader.Loaders) { l.Users.Flush() },
		id:    func(i int) string { return fmt.Sprintf("usr_%03d", i) },
	},
	{
		name: "products",
		make: func(cfg loader.Config, ids ...string) (*loader.Loaders, func() [][]string) {
			p := newFakeProducts(ids...)
			return loader.New(newFakeUsers(), p, cfg), p.Calls
		},
		load: func(ctx context.Context, l *loader.Loaders, id string) func() (string, error) {
			th := l.Products.Load(ctx, id)
			return func() (string, error) { return productID(th()) }
		},
		prefetch: func(ctx context.Context, l *loader.Loaders, ids []string) func(id string) (string, error) {
			get := l.ListProducts(ctx, ids)
			return func(id string) (string, error) { return productID(get(id)) }
		},
		flush: func(l *loader.Loaders) { l.Products.Flush() },
		id:    func(i int) string { return fmt.Sprintf("prd_%03d", i) },
	},
}

// userID and productID are the id of what was loaded, or its error.
func userID(u *contract.User, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func productID(p *contract.Product, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

func ids(k kind, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = k.id(i)
	}
	return out
}

// sortedUnique returns the distinct ids, sorted.
func sortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// assertOneCall fails t unless calls is one call asking for each of want
// exactly once.
func assertOneCall(t *testing.T, calls [][]string, want []string) {
	t.Helper()
	if len(calls) != 1 {
		t.Fatalf("%d calls %v, want 1 asking for %v", len(calls), calls, want)
	}
	got := slices.Clone(calls[0])
	slices.Sort(got)
	if !slices.Equal(got, sortedUnique(want)) {
		t.Fatalf("the call asked for %v, want each of %v once", calls[0], sortedUnique(want))
	}
}

func TestKeysAskedForWithinTheWaitGoInOneCall(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			known := ids(k, 5)
			l, calls := k.make(loader.Config{Wait: 500 * time.Millisecond, MaxBatch: 100}, known...)
			ctx := context.Background()

			// 20 concurrent loads of 5 ids, each id four times.
			start := make(chan struct{})
			var wg sync.WaitGroup
			failures := make(chan string, 20)
			for i := range 20 {
				id := known[i%len(known)]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					got, err := k.load(ctx, l, id)()
					if err != nil || got != id {
						failures <- fmt.Sprintf("load %s: %q, %v", id, got, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			close(failures)
			for f := range failures {
				t.Error(f)
			}
			assertOneCall(t, calls(), known)
		})
	}
}

// TestPrefetchQueuesEveryIDOnceInOneBatch checks that Prefetch* has queued
// every id in the current batch by the time it returns: the batch is sent
// right after (Flush), so an id queued later (as LoadMany's goroutines may
// queue them) would go in a second call. Repeated many times, since such a
// split depends on scheduling.
func TestPrefetchQueuesEveryIDOnceInOneBatch(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			known := ids(k, 20)
			// Every id twice, in random order.
			asked := append(slices.Clone(known), known...)
			for i := range 200 {
				rand.Shuffle(len(asked), func(a, b int) { asked[a], asked[b] = asked[b], asked[a] })
				// A long wait, so that only a key queued after Flush can
				// miss the batch, however slow the machine; it is never
				// waited for unless the batch is split.
				l, calls := k.make(loader.Config{Wait: time.Second, MaxBatch: 100}, known...)
				ctx := context.Background()
				get := k.prefetch(ctx, l, asked)
				k.flush(l)
				for _, id := range known {
					got, err := get(id)
					if err != nil || got != id {
						t.Fatalf("iteration %d: load %s: %q, %v", i, id, got, err)
					}
				}
				if c := calls(); len(c) != 1 || len(c[0]) != len(known) {
					t.Fatalf("iteration %d: prefetching %d ids (%d distinct) made calls %v, want one of the %d distinct ids",
						i, len(asked), len(known), c, len(known))
				}
				assertOneCall(t, calls(), known)
			}
		})
	}
}

func TestPrefetchOfNothingCallsNothing(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			l, calls := k.make(loader.Config{Wait: time.Millisecond, MaxBatch: 100}, k.id(1))
			ctx := context.Background()
			_ = k.prefetch(ctx, l, nil)
			// A load after it goes in a call of its own: nothing was queued.
			if got, err := k.load(ctx, l, k.id(1))(); err != nil || got != k.id(1) {
				t.Fatalf("load: %q, %v", got, err)
			}
			assertOneCall(t, calls(), []string{k.id(1)})
		})
	}
}

func TestMaxBatchSplitsUserBatches(t *testing.T) {
	t.Parallel()
	users := ids(kinds[0], 250)
	tests := []struct {
		name  string
		queue func(ctx context.Context, l *loader.Loaders) []func() (*contract.User, error)
	}{
		{"list", func(ctx context.Context, l *loader.Loaders) []func() (*contract.User, error) {
			get := l.ListUsers(ctx, append(slices.Clone(users), users...))
			thunks := make([]func() (*contract.User, error), len(users))
			for i, id := range users {
				thunks[i] = func() (*contract.User, error) { return get(id) }
			}
			return thunks
		}},
		{"load", func(ctx context.Context, l *loader.Loaders) []func() (*contract.User, error) {
			thunks := make([]func() (*contract.User, error), len(users))
			for i, id := range users {
				thunks[i] = l.Users.Load(ctx, id)
			}
			return thunks
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeUsers(users...)
			l := loader.New(fake, newFakeProducts(), loader.Config{Wait: 200 * time.Millisecond, MaxBatch: 100})
			for i, th := range tt.queue(context.Background(), l) {
				u, err := th()
				if err != nil || u.ID != users[i] {
					t.Fatalf("user %s: %+v, %v", users[i], u, err)
				}
			}
			calls := fake.Calls()
			if len(calls) != 3 {
				t.Errorf("%d calls, want 3 (100+100+50)", len(calls))
			}
			var all []string
			for _, c := range calls {
				if len(c) > 100 {
					t.Errorf("a call asked for %d ids, more than MaxBatch 100", len(c))
				}
				all = append(all, c...)
			}
			slices.Sort(all)
			if !slices.Equal(all, users) {
				t.Errorf("the calls asked for %d ids in all, want each of the %d once", len(all), len(users))
			}
		})
	}
}

// The catalogue splits product batches itself (in parallel), so the
// products a request asks for at once go to it in one call.
func TestMaxBatchDoesNotSplitProducts(t *testing.T) {
	t.Parallel()
	products := ids(kinds[1], 250)
	fake := newFakeProducts(products...)
	l := loader.New(newFakeUsers(), fake, loader.Config{Wait: 200 * time.Millisecond, MaxBatch: 100})
	ctx := context.Background()
	get := l.ListProducts(ctx, products)
	for _, id := range products {
		if p, err := get(id); err != nil || p.ID != id {
			t.Fatalf("product %s: %+v, %v", id, p, err)
		}
	}
	assertOneCall(t, fake.Calls(), products)
}

func TestUserResults(t *testing.T) {
	t.Parallel()
	errDown := apperr.New(apperr.Unavailable, "user service down")
	tests := []struct {
		name     string
		known    []string
		batchErr error
		id       string
		wantName string
		wantErr  func(error) bool
	}{
		{name: "returned", known: []string{"usr_1", "usr_2"}, id: "usr_1", wantName: "name of usr_1"},
		{name: "not returned is NOT_FOUND", known: []string{"usr_2"}, id: "usr_1",
			wantErr: func(err error) bool { return apperr.Is(err, apperr.NotFound) }},
		{name: "batch error", known: []string{"usr_1", "usr_2"}, batchErr: errDown, id: "usr_1",
			wantErr: func(err error) bool { return errors.Is(err, errDown) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeUsers(tt.known...)
			fake.err = tt.batchErr
			l := loader.New(fake, newFakeProducts(), loader.Config{Wait: 50 * time.Millisecond, MaxBatch: 100})
			ctx := context.Background()
			// The other key of the batch: found, or the batch's error too.
			other := l.Users.Load(ctx, "usr_2")
			u, err := l.Users.Load(ctx, tt.id)()
			switch {
			case tt.wantErr != nil:
				if u != nil || !tt.wantErr(err) {
					t.Errorf("got %+v, %v; want the error", u, err)
				}
			case err != nil || u == nil || u.ID != tt.id || u.Name != tt.wantName:
				t.Errorf("got %+v, %v; want user %s named %q", u, err, tt.id, tt.wantName)
			}
			ou, oerr := other()
			if tt.batchErr != nil {
				if ou != nil || !errors.Is(oerr, tt.batchErr) {
					t.Errorf("other key of the failed batch: %+v, %v; want the batch error", ou, oerr)
				}
			} else if oerr != nil || ou.ID != "usr_2" {
				t.Errorf("other key: %+v, %v; want usr_2", ou, oerr)
			}
			assertOneCall(t, fake.Calls(), []string{"usr_2", tt.id})
		})
	}
}

// productsOfEveryOutcome is a catalogue that knows prd_found, has
// prd_stale only stale, fails prd_failed with errDown and does not know
// anything else.
func productsOfEveryOutcome() (fake *fakeProducts, errDown error) {
	errDown = apperr.New(apperr.Unavailable, "product service down")
	fake = newFakeProducts("prd_found")
	fake.results["prd_failed"] = cache.Result[contract.Product]{Err: errDown}
	fake.results["prd_stale"] = cache.Result[contract.Product]{Value: product("prd_stale"), Found: true, Stale: true}
	return fake, errDown
}

func TestProductResults(t *testing.T) {
	t.Parallel()
	fake, errDown := productsOfEveryOutcome()
	l := loader.New(newFakeUsers(), fake, loader.Config{Wait: 50 * time.Millisecond, MaxBatch: 100})
	ctx := context.Background()

	tests := []struct {
		id      string
		want    *contract.Product
		wantErr func(error) bool
	}{
		{id: "prd_found", want: new(product("prd_found"))},
		{id: "prd_stale", want: new(product("prd_stale"))},
		{id: "prd_unknown", wantErr: func(err error) bool { return apperr.Is(err, apperr.NotFound) }},
		{id: "prd_failed", wantErr: func(err error) bool { return errors.Is(err, errDown) }},
	}
	thunks := make([]func() (*contract.Product, error), len(tests))
	for i, tt := range tests {
		thunks[i] = l.Products.Load(ctx, tt.id)
	}
	for i, tt := range tests {
		p, err := thunks[i]()
		if tt.wantErr != nil {
			if p != nil || !tt.wantErr(err) {
				t.Errorf("%s: got %+v, %v; want the error", tt.id, p, err)
			}
			continue
		}
		if err != nil || p == nil || *p != *tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.id, p, err, *tt.want)
		}
	}
	assertOneCall(t, fake.Calls(), []string{"prd_found", "prd_stale", "prd_unknown", "prd_failed"})
}

// TestListProductsAnswersAsTheLoaderDoes checks the products of a list,
// loaded in one batch without the loader's per-key work: each id answered
// as Products.Load answers it (found, stale, unknown, failed), an id the
// list did not name NOT_FOUND, and a batch that panics an error for every
// id rather than a crash.
func TestListProductsAnswersAsTheLoaderDoes(t *testing.T) {
	t.Parallel()
	fake, errDown := productsOfEveryOutcome()
	l := loader.New(newFakeUsers(), fake, loader.Config{Wait: time.Hour, MaxBatch: 100})
	ctx := context.Background()
	get := l.ListProducts(ctx, []string{"prd_found", "prd_stale", "prd_unknown", "prd_failed", "prd_found"})
	if p, err := get("prd_found"); err != nil || *p != product("prd_found") {
		t.Errorf("prd_found: %+v, %v", p, err)
	}
	if p, err := get("prd_stale"); err != nil || *p != product("prd_stale") {
		t.Errorf("prd_stale: %+v, %v", p, err)
	}
	if p, err := get("prd_unknown"); p != nil || !apperr.Is(err, apperr.NotFound) {
		t.Errorf("prd_unknown: %+v, %v; want NOT_FOUND", p, err)
	}
	if p, err := get("prd_failed"); p != nil || !errors.Is(err, errDown) {
		t.Errorf("prd_failed: %+v, %v; want the service's error", p, err)
	}
	if p, err := get("prd_not_asked"); p != nil || !apperr.Is(err, apperr.NotFound) {
		t.Errorf("an id the list did not name: %+v, %v; want NOT_FOUND", p, err)
	}
	// One call, each id once, though the loader waits an hour for a batch:
	// the list's batch does not wait.
	assertOneCall(t, fake.Calls(), []string{"prd_found", "prd_stale", "prd_unknown", "prd_failed"})

	panicking := loader.New(newFakeUsers(), panickingProducts{}, loader.Config{Wait: time.Millisecond, MaxBatch: 100})
	if p, err := panicking.ListProducts(ctx, []string{"prd_1"})("prd_1"); p != nil || !apperr.Is(err, apperr.Internal) {
		t.Errorf("a batch that panics: %+v, %v; want an internal error", p, err)
	}
}

// panickingProducts is a catalogue that panics.
type panickingProducts struct{}

func (panickingProducts) Products(context.Context, []string) []cache.Result[contract.Product] {
	panic("the catalogue broke")
}

func TestLoadedProductIsACopy(t *testing.T) {
	t.Parallel()
	fake := newFakeProducts("prd_1")
	l := loader.New(newFakeUsers(), fake, loader.Config{Wait: time.Millisecond, MaxBatch: 100})
	p, err := l.Products.Load(context.Background(), "prd_1")()
	if err != nil {
		t.Fatal(err)
	}
	p.Name = "changed"
	p.Stock = 0
	last := fake.Last()
	if len(last) != 1 || last[0].Value != product("prd_1") {
		t.Errorf("the source's result became %+v after changing the loaded product", last)
	}
	if fake.results["prd_1"].Value != product("prd_1") {
		t.Errorf("the source's product became %+v after changing the loaded product", fake.results["prd_1"].Value)
	}
}

func TestForWithoutMiddlewarePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "loader.Middleware") {
			t.Errorf("For without loaders panicked with %#v, want a message naming loader.Middleware", r)
		}
	}()
	loader.For(context.Background())
	t.Error("For without loaders did not panic")
}

func TestNewContextCarriesTheLoaders(t *testing.T) {
	t.Parallel()
	l := loader.New(newFakeUsers(), newFakeProducts(), loader.Config{Wait: time.Millisecond})
	if got := loader.For(loader.NewContext(context.Background(), l)); got != l {
		t.Errorf("For returned %p, want the loaders put in the context %p", got, l)
	}
}

func TestMiddlewareGivesEachRequestItsOwnLoaders(t *testing.T) {
	t.Parallel()
	users := newFakeUsers("usr_1", "usr_2")
	products := newFakeProducts("prd_1")
	var seen []*loader.Loaders
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		l := loader.For(ctx)
		seen = append(seen, l)
		p, _ := auth.PrincipalFromContext(ctx)
		// Twice within the request: the second is served by the loader.
		for range 2 {
			if pr, err := l.Products.Load(ctx, "prd_1")(); err != nil || pr.ID != "prd_1" {
				t.Errorf("product: %+v, %v", pr, err)
			}
			if u, err := l.Users.Load(ctx, p.Subject)(); err != nil || u.ID != p.Subject {
				t.Errorf("user: %+v, %v", u, err)
			}
		}
		w.WriteHeader(http.StatusTeapot)
	})
	h := loader.Middleware(users, products, loader.Config{Wait: time.Millisecond, MaxBatch: 100})(next)

	for _, subject := range []string{"usr_1", "usr_2"} {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r = r.WithContext(auth.NewContextWithPrincipal(r.Context(), auth.Principal{Subject: subject, Token: "t-" + subject}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusTeapot {
			t.Fatalf("status %d: the middleware did not run the next handler", w.Code)
		}
	}

	if len(seen) != 2 || seen[0] == seen[1] {
		t.Errorf("the two requests got loaders %p, want two different ones", seen)
	}
	if got, want := products.Calls(), [][]string{{"prd_1"}, {"prd_1"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("product calls %v, want %v: one per request", got, want)
	}
	if got, want := users.Calls(), [][]string{{"usr_1"}, {"usr_2"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("user calls %v, want %v", got, want)
	}
	// Each request's users are read with that request's own credential.
	if got, want := users.Subjects(), []string{"usr_1", "usr_2"}; !slices.Equal(got, want) {
		t.Errorf("user batches ran for principals %v, want %v", got, want)
	}
}

// BenchmarkRequestLoadsOneUser is a request's loaders loading its viewer:
// what a BFF allocates per request for batching (with dataloader's own
// queue of 1,000 keys, 8 KB more per batch).
func BenchmarkRequestLoadsOneUser(b *testing.B) {
	users := newFakeUsers(ids(kinds[0], 1)...)
	products := newFakeProducts()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l := loader.New(users, products, loader.Config{Wait: 0, MaxBatch: 100})
		if _, err := l.Users.Load(ctx, ids(kinds[0], 1)[0])(); err != nil {
			b.Fatal(err)
		}
	}
}
