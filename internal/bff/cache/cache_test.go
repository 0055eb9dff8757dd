package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/fakeclock"
)

// clock is the shared manually advanced test clock.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) }

// source is a fake upstream that records its calls.
type source struct {
	mu    sync.Mutex
	data  map[string]string
	err   error
	calls [][]string
}

func newSource(kv ...string) *source {
	s := &source{data: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		s.data[kv[i]] = kv[i+1]
	}
	return s
}

func (s *source) fetch(_ context.Context, keys []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, slices.Clone(keys))
	if s.err != nil {
		return nil, s.err
	}
	m := map[string]string{}
	for _, k := range keys {
		if v, ok := s.data[k]; ok {
			m[k] = v
		}
	}
	return m, nil
}

func (s *source) set(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[k] = v
}

func (s *source) del(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, k)
}

func (s *source) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// takeCalls returns the calls since the last takeCalls.
func (s *source) takeCalls() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// mustNew returns a cache with cfg, whose zero settings (but MaxStale)
// take the values these tests are written for.
func mustNew(t *testing.T, cfg Config, clk *clock) *Cache[string, string] {
	t.Helper()
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 10_000
	}
	if cfg.TTL == 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = 5 * time.Second
	}
	c, err := New[string, string](cfg, clk.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func found(v string) Result[string]      { return Result[string]{Value: v, Found: true} }
func staleFound(v string) Result[string] { return Result[string]{Value: v, Found: true, Stale: true} }

func checkResults(t *testing.T, got, want []Result[string]) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Value != w.Value || g.Found != w.Found || g.Stale != w.Stale || !errors.Is(g.Err, w.Err) || (g.Err == nil) != (w.Err == nil) {
			t.Errorf("result %d = %+v, want %+v", i, g, w)
		}
	}
}

func checkCalls(t *testing.T, s *source, want ...[]string) {
	t.Helper()
	got := s.takeCalls()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("fetch calls = %q, want %q", got, want)
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		want    Config
		wantErr []string
	}{
		{
			name:    "zero is no setting: every one is reported",
			cfg:     Config{},
			wantErr: []string{"max entries", "ttl", "fetch timeout"},
		},
		{
			name: "zero max stale turns stale serving off",
			cfg:  Config{MaxEntries: 3, TTL: time.Second, FetchTimeout: time.Millisecond},
			want: Config{MaxEntries: 3, TTL: time.Second, FetchTimeout: time.Millisecond},
		},
		{
			name: "explicit values kept",
			cfg:  Config{MaxEntries: 3, TTL: time.Second, MaxStale: time.Minute, FetchTimeout: time.Millisecond},
			want: Config{MaxEntries: 3, TTL: time.Second, MaxStale: time.Minute, FetchTimeout: time.Millisecond},
		},
		{
			name:    "all negatives reported at once",
			cfg:     Config{MaxEntries: -1, TTL: -1, MaxStale: -1, FetchTimeout: -1},
			wantErr: []string{"max entries", "ttl", "max stale", "fetch timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New[string, int](tt.cfg, nil)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("New succeeded, want error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.cfg != tt.want {
				t.Errorf("config = %+v, want %+v", c.cfg, tt.want)
			}
			if c.now == nil {
				t.Error("nil now not defaulted")
			}
		})
	}
}

func TestLoadHitMissAndTTL(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := mustNew(t, Config{TTL: 30 * time.Second}, clk)
	src := newSource("a", "A", "b", "B")
	ctx := context.Background()

	checkResults(t, c.Load(ctx, []string{"b", "a"}, src.fetch), []Result[string]{found("B"), found("A")})
	checkCalls(t, src, []string{"a", "b"})

	src.set("a", "A2")
	clk.Advance(30*time.Second - time.Nanosecond)
	checkResults(t, c.Load(ctx, []string{"a", "b"}, src.fetch), []Result[string]{found("A"), found("B")})
	checkCalls(t, src)

	clk.Advance(time.Nanosecond) // exactly TTL: no longer fresh
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{found("A2")})
	checkCalls(t, src, []string{"a"})
	if got := c.Len(); got != 2 {
		t.Errorf("Len = %d, want 2", got)
	}
}

func TestLoadOrderDuplicatesAndPartialHits(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := mustNew(t, Config{}, clk)
	src := newSource("a", "A", "b", "B", "c", "C")
	ctx := context.Background()

	c.Load(ctx, []string{"a"}, src.fetch)
	src.takeCalls()

	got := c.Load(ctx, []string{"c", "a", "b", "c", "zz", "b"}, src.fetch)
	checkResults(t, got, []Result[string]{found("C"), found("A"), found("B"), found("C"), {}, found("B")})
	checkCalls(t, src, []string{"b", "c", "zz"})

	if got := c.Load(ctx, nil, src.fetch); len(got) != 0 {
		t.Errorf("Load(nil) = %+v, want empty", got)
	}
	checkCalls(t, src)
}

func TestNotFoundIsNotCached(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := mustNew(t, Config{MaxStale: 10 * time.Minute}, clk)
	src := newSource("a", "A")
	ctx := context.Background()

	checkResults(t, c.Load(ctx, []string{"a", "gone"}, src.fetch), []Result[string]{found("A"), {}})
	checkCalls(t, src, []string{"a", "gone"})
	checkResults(t, c.Load(ctx, []string{"a", "gone"}, src.fetch), []Result[string]{found("A"), {}})
	checkCalls(t, src, []string{"gone"})
	if got := c.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}

	// Once the upstream says a key is gone, its old entry is dropped and is
	// not served stale later.
	src.del("a")
	clk.Advance(30 * time.Second)
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{{}})
	boom := errors.New("boom")
	src.fail(boom)
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{{Err: boom}})
	if got := c.Len(); got != 0 {
		t.Errorf("Len = %d, want 0", got)
	}
}

func TestFetchedKeysNotAskedForAreIgnored(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{}, newClock())
	fetch := func(context.Context, []string) (map[string]string, error) {
		return map[string]string{"a": "A", "extra": "X"}, nil
	}
	checkResults(t, c.Load(context.Background(), []string{"a"}, fetch), []Result[string]{found("A")})
	if got := c.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
}

func TestBoundedEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{MaxEntries: 2}, newClock())
	src := newSource("a", "A", "b", "B", "c", "C")
	ctx := context.Background()

	c.Load(ctx, []string{"a"}, src.fetch)
	c.Load(ctx, []string{"b"}, src.fetch)
	c.Load(ctx, []string{"a"}, src.fetch) // hit: a is now most recently used
	c.Load(ctx, []string{"c"}, src.fetch) // evicts b
	checkCalls(t, src, []string{"a"}, []string{"b"}, []string{"c"})
	if got := c.Len(); got != 2 {
		t.Fatalf("Len = %d, want 2", got)
	}

	checkResults(t, c.Load(ctx, []string{"a", "c"}, src.fetch), []Result[string]{found("A"), found("C")})
	checkCalls(t, src)
	checkResults(t, c.Load(ctx, []string{"b"}, src.fetch), []Result[string]{found("B")})
	checkCalls(t, src, []string{"b"})
	if got := c.Len(); got != 2 {
		t.Errorf("Len = %d, want 2", got)
	}
}

func TestStaleFallback(t *testing.T) {
	t.Parallel()
	const ttl, maxStale = 30 * time.Second, 10 * time.Minute
	boom := errors.New("upstream down")
	tests := []struct {
		name     string
		maxStale time.Duration
		age      time.Duration
		want     Result[string]
	}{
		{name: "at TTL", maxStale: maxStale, age: ttl, want: staleFound("A")},
		{name: "mid stale window", maxStale: maxStale, age: ttl + maxStale/2, want: staleFound("A")},
		{name: "last instant of stale window", maxStale: maxStale, age: ttl + maxStale - time.Nanosecond, want: staleFound("A")},
		{name: "end of stale window", maxStale: maxStale, age: ttl + maxStale, want: Result[string]{Err: boom}},
		{name: "long past", maxStale: maxStale, age: 24 * time.Hour, want: Result[string]{Err: boom}},
		{name: "stale disabled", maxStale: 0, age: ttl, want: Result[string]{Err: boom}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			c := mustNew(t, Config{TTL: ttl, MaxStale: tt.maxStale}, clk)
			src := newSource("a", "A")
			ctx := context.Background()
			c.Load(ctx, []string{"a"}, src.fetch)

			clk.Advance(tt.age)
			src.fail(boom)
			// "never" was never cached, so it always gets the error.
			checkResults(t, c.Load(ctx, []string{"a", "never"}, src.fetch), []Result[string]{tt.want, {Err: boom}})
			checkCalls(t, src, []string{"a"}, []string{"a", "never"})
		})
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := mustNew(t, Config{MaxStale: 10 * time.Minute}, clk)
	src := newSource("a", "A")
	ctx := context.Background()
	boom := errors.New("boom")

	src.fail(boom)
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{{Err: boom}})
	src.fail(nil)
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{found("A")})

	// A failed refresh serves stale but keeps retrying; a later success is
	// fresh again.
	clk.Advance(30 * time.Second)
	src.fail(boom)
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{staleFound("A")})
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{staleFound("A")})
	src.fail(nil)
	src.set("a", "A2")
	checkResults(t, c.Load(ctx, []string{"a"}, src.fetch), []Result[string]{found("A2")})
	checkCalls(t, src, []string{"a"}, []string{"a"}, []string{"a"}, []string{"a"}, []string{"a"})
}

func TestFetchPanicBecomesError(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{}, newClock())
	fetch := func(context.Context, []string) (map[string]string, error) { panic("kaboom") }
	got := c.Load(context.Background(), []string{"a"}, fetch)
	if got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "kaboom") {
		t.Errorf("Err = %v, want the panic as an error", got[0].Err)
	}
}

func TestFetchTimeout(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{FetchTimeout: time.Millisecond}, newClock())
	fetch := func(ctx context.Context, _ []string) (map[string]string, error) {
		<-ctx.Done() // no timing assertion: the fetch just waits for its deadline
		return nil, ctx.Err()
	}
	got := c.Load(context.Background(), []string{"a"}, fetch)
	if !errors.Is(got[0].Err, context.DeadlineExceeded) {
		t.Errorf("Err = %v, want deadline exceeded", got[0].Err)
	}
}

func TestCancelledBeforeLoad(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{}, newClock())
	src := newSource("a", "A", "b", "B")
	c.Load(context.Background(), []string{"a"}, src.fetch)
	src.takeCalls()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	checkResults(t, c.Load(ctx, []string{"a", "b"}, src.fetch), []Result[string]{found("A"), {Err: context.Canceled}})
	checkCalls(t, src)
}

// gate is a fetch that blocks until released and counts its calls.
type gate struct {
	calls   atomic.Int32
	entered chan []string
	release chan struct{}
	ctxErr  chan error
}

func newGate() *gate {
	return &gate{entered: make(chan []string, 16), release: make(chan struct{}), ctxErr: make(chan error, 16)}
}

func (g *gate) fetch(ctx context.Context, keys []string) (map[string]string, error) {
	g.calls.Add(1)
	g.entered <- slices.Clone(keys)
	<-g.release
	if _, ok := ctx.Deadline(); !ok {
		g.ctxErr <- errors.New("shared fetch has no deadline")
	} else {
		g.ctxErr <- ctx.Err()
	}
	m := map[string]string{}
	for _, k := range keys {
		m[k] = strings.ToUpper(k)
	}
	return m, nil
}

// waiters installs a hook counting callers waiting on a shared fetch.
func waiters(c *Cache[string, string]) chan struct{} {
	ch := make(chan struct{}, 64)
	c.waiting = func() { ch <- struct{}{} }
	return ch
}

func TestConcurrentIdenticalLoadsShareOneFetch(t *testing.T) {
	t.Parallel()
	const n = 20
	c := mustNew(t, Config{}, newClock())
	waiting := waiters(c)
	g := newGate()

	results := make([][]Result[string], n)
	var wg sync.WaitGroup
	for i := range n {
		keys := []string{"x", "y"}
		if i%2 == 1 {
			keys = []string{"y", "x", "y"} // same missing set, other order
		}
		wg.Go(func() { results[i] = c.Load(context.Background(), keys, g.fetch) })
	}
	for range n {
		<-waiting // every caller has joined the flight, which is still blocked
	}
	if got := <-g.entered; !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("fetch keys = %q, want [x y]", got)
	}
	close(g.release)
	wg.Wait()

	if got := g.calls.Load(); got != 1 {
		t.Errorf("fetch called %d times, want 1", got)
	}
	for i, r := range results {
		want := []Result[string]{found("X"), found("Y")}
		if i%2 == 1 {
			want = []Result[string]{found("Y"), found("X"), found("Y")}
		}
		checkResults(t, r, want)
	}
}

func TestConcurrentDifferentKeySetsFetchSeparately(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{}, newClock())
	g := newGate()
	var wg sync.WaitGroup
	var r1, r2 []Result[string]
	wg.Go(func() { r1 = c.Load(context.Background(), []string{"a"}, g.fetch) })
	wg.Go(func() { r2 = c.Load(context.Background(), []string{"a", "b"}, g.fetch) })
	got := [][]string{<-g.entered, <-g.entered} // both fetches in flight at once
	close(g.release)
	wg.Wait()
	slices.SortFunc(got, slices.Compare)
	if want := [][]string{{"a"}, {"a", "b"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("fetches = %q, want %q", got, want)
	}
	checkResults(t, r1, []Result[string]{found("A")})
	checkResults(t, r2, []Result[string]{found("A"), found("B")})
}

func TestCallerCancelDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{}, newClock())
	waiting := waiters(c)
	g := newGate()

	// The caller that starts the shared fetch is the one that goes away.
	first, cancel := context.WithCancel(context.Background())
	firstDone := make(chan []Result[string])
	go func() { firstDone <- c.Load(first, []string{"x"}, g.fetch) }()
	<-g.entered
	<-waiting

	secondDone := make(chan []Result[string])
	go func() { secondDone <- c.Load(context.Background(), []string{"x"}, g.fetch) }()
	<-waiting

	cancel()
	checkResults(t, <-firstDone, []Result[string]{{Err: context.Canceled}})

	close(g.release)
	checkResults(t, <-secondDone, []Result[string]{found("X")})
	if err := <-g.ctxErr; err != nil {
		t.Errorf("shared fetch context: %v, want live with a deadline", err)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("fetch called %d times, want 1", got)
	}
	// The abandoned caller's fetch still filled the cache.
	checkResults(t, c.Load(context.Background(), []string{"x"}, g.fetch), []Result[string]{found("X")})
	if got := g.calls.Load(); got != 1 {
		t.Errorf("fetch called %d times after the hit, want 1", got)
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := mustNew(t, Config{MaxStale: 10 * time.Minute}, clk)
	ctx := context.Background()
	boom := errors.New("boom")

	var calls int
	value, ok, err := "list-1", true, error(nil)
	fetch := func(context.Context) (string, bool, error) {
		calls++
		return value, ok, err
	}

	checkResults(t, []Result[string]{c.Get(ctx, "featured:6", fetch)}, []Result[string]{found("list-1")})
	checkResults(t, []Result[string]{c.Get(ctx, "featured:6", fetch)}, []Result[string]{found("list-1")})
	if calls != 1 {
		t.Errorf("calls = %d, want 1", calls)
	}

	clk.Advance(30 * time.Second)
	err = boom
	checkResults(t, []Result[string]{c.Get(ctx, "featured:6", fetch)}, []Result[string]{staleFound("list-1")})

	err, ok = nil, false
	checkResults(t, []Result[string]{c.Get(ctx, "featured:6", fetch)}, []Result[string]{{}})
	checkResults(t, []Result[string]{c.Get(ctx, "featured:6", fetch)}, []Result[string]{{}})
	if calls != 4 {
		t.Errorf("calls = %d, want 4 (not-found is not cached)", calls)
	}
}

func TestFlightKeyIsUnambiguous(t *testing.T) {
	t.Parallel()
	sets := [][]string{
		{"a", "b"},
		{"a,b"},
		{"ab"},
		{"a", "b", ""},
		{"", "a", "b"},
		{"1:a"},
		{"1:a1:b"},
		{""},
		{},
		{"3:abc"},
		{"abc"},
	}
	seen := map[string][]string{}
	for _, s := range sets {
		k := flightKey(s)
		if prev, dup := seen[k]; dup {
			t.Errorf("flightKey(%q) = flightKey(%q) = %q", s, prev, k)
		}
		seen[k] = s
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := mustNew(t, Config{MaxEntries: 8, MaxStale: time.Minute}, clk)
	var fails atomic.Int32
	fetch := func(_ context.Context, keys []string) (map[string]string, error) {
		if fails.Add(1)%5 == 0 {
			return nil, errors.New("flaky")
		}
		m := map[string]string{}
		for _, k := range keys {
			m[k] = "v" + k
		}
		return m, nil
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 200 {
				keys := []string{fmt.Sprint((w + i) % 13), fmt.Sprint(i % 7)}
				for j, r := range c.Load(context.Background(), keys, fetch) {
					if r.Err == nil && r.Value != "v"+keys[j] {
						t.Errorf("key %q got %q", keys[j], r.Value)
					}
				}
				if i%50 == 0 {
					clk.Advance(10 * time.Second)
				}
			}
		})
	}
	wg.Wait()
	if got := c.Len(); got > 8 {
		t.Errorf("Len = %d, want <= 8", got)
	}
}

// TestStatsCountHitsMissesStaleAndEvictions drives a two-entry cache
// through each outcome and reads its counts.
func TestStatsCountHitsMissesStaleAndEvictions(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := mustNew(t, Config{MaxEntries: 2, MaxStale: time.Minute}, clk)
	src := newSource("a", "A", "b", "B", "c", "C")
	ctx := context.Background()

	c.Load(ctx, []string{"a", "b"}, src.fetch) // 2 misses
	c.Load(ctx, []string{"a", "b"}, src.fetch) // 2 hits
	c.Load(ctx, []string{"c"}, src.fetch)      // 1 miss, evicts one
	if got, want := c.Stats(), (Stats{Hits: 2, Misses: 3, Evictions: 1, Entries: 2}); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	clk.Advance(31 * time.Second)
	src.fail(errors.New("down"))
	c.Load(ctx, []string{"c"}, src.fetch) // 1 miss, served stale
	if got := c.Stats(); got.Stale != 1 || got.Misses != 4 || got.Hits != 2 {
		t.Errorf("after a stale serve: %+v", got)
	}
}

// second is a fake second level: a map shared by caches, with its calls
// counted and a failure switch.
type second struct {
	mu       sync.Mutex
	held     map[string]Stored[string]
	err      error
	sets     int
	lastTTL  time.Duration
	getCalls int
}

func newSecond() *second { return &second{held: map[string]Stored[string]{}} }

func (s *second) Get(_ context.Context, keys []string) (map[string]Stored[string], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.getCalls++
	if s.err != nil {
		return nil, s.err
	}
	out := map[string]Stored[string]{}
	for _, k := range keys {
		if v, ok := s.held[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func (s *second) Set(_ context.Context, values map[string]Stored[string], ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.sets++
	s.lastTTL = ttl
	for k, v := range values {
		s.held[k] = v
	}
	return nil
}

func (s *second) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// TestSecondLevelSharesFetchesBetweenReplicas: what replica A fetched,
// replica B finds in the second level without fetching it, fresh until A's
// fetch time plus TTL (not B's), and stale after that only when the source
// fails.
func TestSecondLevelSharesFetchesBetweenReplicas(t *testing.T) {
	t.Parallel()
	const ttl, maxStale = 30 * time.Second, 10 * time.Minute
	clk := newClock()
	l2 := newSecond()
	a := mustNew(t, Config{TTL: ttl, MaxStale: maxStale}, clk).WithSecondLevel(l2)
	b := mustNew(t, Config{TTL: ttl, MaxStale: maxStale}, clk).WithSecondLevel(l2)
	src := newSource("p1", "one", "p2", "two")
	ctx := context.Background()

	checkResults(t, a.Load(ctx, []string{"p1", "p2"}, src.fetch), []Result[string]{found("one"), found("two")})
	checkCalls(t, src, []string{"p1", "p2"})
	if l2.sets != 1 || l2.lastTTL != ttl+maxStale {
		t.Errorf("second level: %d sets, ttl %s; want 1, %s", l2.sets, l2.lastTTL, ttl+maxStale)
	}

	clk.Advance(20 * time.Second)
	checkResults(t, b.Load(ctx, []string{"p1", "p2", "p3"}, src.fetch), []Result[string]{found("one"), found("two"), {}})
	checkCalls(t, src, []string{"p3"}) // p1 and p2 came from the second level
	if st := b.Stats(); st.Shared != 2 || st.Misses != 3 {
		t.Errorf("b's stats %+v: want 2 shared among 3 misses", st)
	}

	// 11 s later the values are 31 s old: stale by A's fetch, though B
	// has held them for only 11 s. B fetches again.
	clk.Advance(11 * time.Second)
	src.set("p1", "one, changed")
	checkResults(t, b.Load(ctx, []string{"p1"}, src.fetch), []Result[string]{found("one, changed")})
	checkCalls(t, src, []string{"p1"})
}

// TestSecondLevelServesStaleWhenTheSourceFails: a replica that never
// held a product serves the second level's copy, past its TTL, stale when
// the source fails; within TTL+MaxStale only.
func TestSecondLevelServesStaleWhenTheSourceFails(t *testing.T) {
	t.Parallel()
	const ttl, maxStale = 30 * time.Second, 10 * time.Minute
	clk := newClock()
	l2 := newSecond()
	a := mustNew(t, Config{TTL: ttl, MaxStale: maxStale}, clk).WithSecondLevel(l2)
	src := newSource("p1", "one")
	ctx := context.Background()
	a.Load(ctx, []string{"p1"}, src.fetch)

	boom := errors.New("product service down")
	src.fail(boom)
	clk.Advance(ttl + time.Minute)
	b := mustNew(t, Config{TTL: ttl, MaxStale: maxStale}, clk).WithSecondLevel(l2)
	checkResults(t, b.Load(ctx, []string{"p1", "p9"}, src.fetch), []Result[string]{staleFound("one"), {Err: boom}})

	clk.Advance(maxStale)
	c := mustNew(t, Config{TTL: ttl, MaxStale: maxStale}, clk).WithSecondLevel(l2)
	checkResults(t, c.Load(ctx, []string{"p1"}, src.fetch), []Result[string]{{Err: boom}})
}

// TestSecondLevelFailureFallsBackToTheSource: a failing second level is
// as if there were none.
func TestSecondLevelFailureFallsBackToTheSource(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l2 := newSecond()
	l2.fail(errors.New("redis down"))
	c := mustNew(t, Config{}, clk).WithSecondLevel(l2)
	src := newSource("p1", "one")
	checkResults(t, c.Load(context.Background(), []string{"p1"}, src.fetch), []Result[string]{found("one")})
	checkCalls(t, src, []string{"p1"})
	// And the cache itself still works: a second load is a hit.
	checkResults(t, c.Load(context.Background(), []string{"p1"}, src.fetch), []Result[string]{found("one")})
	checkCalls(t, src)
	if l2.getCalls != 1 {
		t.Errorf("second level asked %d times, want once (the hit needs none)", l2.getCalls)
	}
}
