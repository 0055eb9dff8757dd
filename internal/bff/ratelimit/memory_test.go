package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// mustTake takes and fails the test on a store error.
func mustTake(t *testing.T, s Store, key string, cost int, l Limit) Decision {
	t.Helper()
	d, err := s.Take(context.Background(), key, cost, l)
	if err != nil {
		t.Fatalf("Take(%q, %d): %v", key, cost, err)
	}
	return d
}

func TestMemoryStoreTokenBucket(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		cost    int
		want    Decision
	}
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{
			name:  "burst then refused",
			limit: Limit{Rate: 1, Burst: 3},
			steps: []step{
				{cost: 1, want: Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Second}},
				{cost: 1, want: Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: 2 * time.Second}},
				{cost: 1, want: Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 3 * time.Second}},
				{cost: 1, want: Decision{Allowed: false, Limit: 3, Remaining: 0, RetryAfter: time.Second, Reset: 3 * time.Second}},
			},
		},
		{
			name:  "refill",
			limit: Limit{Rate: 2, Burst: 4},
			steps: []step{
				{cost: 4, want: Decision{Allowed: true, Limit: 4, Remaining: 0, Reset: 2 * time.Second}},
				{advance: 250 * time.Millisecond, cost: 1, want: Decision{Allowed: false, Limit: 4, Remaining: 0, RetryAfter: 250 * time.Millisecond, Reset: 1750 * time.Millisecond}},
				{advance: 750 * time.Millisecond, cost: 1, want: Decision{Allowed: true, Limit: 4, Remaining: 1, Reset: 1500 * time.Millisecond}},
				// Never more than the burst, however long the wait.
				{advance: time.Hour, cost: 1, want: Decision{Allowed: true, Limit: 4, Remaining: 3, Reset: 500 * time.Millisecond}},
			},
		},
		{
			name:  "cost above one; a refusal spends nothing",
			limit: Limit{Rate: 2, Burst: 10},
			steps: []step{
				{cost: 4, want: Decision{Allowed: true, Limit: 10, Remaining: 6, Reset: 2 * time.Second}},
				{cost: 7, want: Decision{Allowed: false, Limit: 10, Remaining: 6, RetryAfter: 500 * time.Millisecond, Reset: 2 * time.Second}},
				{cost: 6, want: Decision{Allowed: true, Limit: 10, Remaining: 0, Reset: 5 * time.Second}},
			},
		},
		{
			name:  "cost above the burst is never allowed",
			limit: Limit{Rate: 2, Burst: 10},
			steps: []step{
				{cost: 11, want: Decision{Allowed: false, Limit: 10, Remaining: 10, RetryAfter: 5500 * time.Millisecond}},
				{advance: time.Hour, cost: 11, want: Decision{Allowed: false, Limit: 10, Remaining: 10, RetryAfter: 5500 * time.Millisecond}},
				// The bucket is untouched.
				{cost: 10, want: Decision{Allowed: true, Limit: 10, Remaining: 0, Reset: 5 * time.Second}},
			},
		},
		{
			name:  "cost below one counts as one",
			limit: Limit{Rate: 1, Burst: 2},
			steps: []step{
				{cost: 0, want: Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: time.Second}},
				{cost: -5, want: Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: 2 * time.Second}},
			},
		},
		{
			name:  "per-minute limit",
			limit: PerMinute(10),
			steps: []step{
				{cost: 10, want: Decision{Allowed: true, Limit: 10, Remaining: 0, Reset: time.Minute}},
				{advance: 5 * time.Second, cost: 1, want: Decision{Allowed: false, Limit: 10, Remaining: 0, RetryAfter: time.Second, Reset: 55 * time.Second}},
				{advance: time.Second, cost: 1, want: Decision{Allowed: true, Limit: 10, Remaining: 0, Reset: time.Minute}},
				{advance: time.Minute, cost: 1, want: Decision{Allowed: true, Limit: 10, Remaining: 9, Reset: 6 * time.Second}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			s := NewMemoryStore(1000, clock.Now)
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				got := mustTake(t, s, "k", st.cost, tt.limit)
				if !sameDecision(got, st.want) {
					t.Errorf("step %d: got %+v, want %+v", i, got, st.want)
				}
			}
		})
	}
}

// sameDecision compares decisions, allowing the durations a microsecond of
// floating-point slack.
func sameDecision(a, b Decision) bool {
	near := func(x, y time.Duration) bool { return (x - y).Abs() <= time.Microsecond }
	return a.Allowed == b.Allowed && a.Limit == b.Limit && a.Remaining == b.Remaining &&
		near(a.RetryAfter, b.RetryAfter) && near(a.Reset, b.Reset)
}

func TestMemoryStoreKeysAreIndependent(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore(1000, newFakeClock().Now)
	l := Limit{Rate: 1, Burst: 1}
	mustTake(t, s, "a", 1, l)
	if d := mustTake(t, s, "a", 1, l); d.Allowed {
		t.Fatal("a: second take allowed")
	}
	if d := mustTake(t, s, "b", 1, l); !d.Allowed {
		t.Fatal("b: refused because of a")
	}
}

func TestMemoryStoreExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore(1000, newFakeClock().Now) // frozen clock
	l := Limit{Rate: 1e-9, Burst: 50}

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		allowed   int
		remaining = map[int]bool{}
	)
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			d, err := s.Take(context.Background(), "hot", 1, l)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				mu.Lock()
				allowed++
				remaining[d.Remaining] = true
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()

	if allowed != 50 {
		t.Fatalf("allowed %d of 200, want exactly 50", allowed)
	}
	// Each allowed take saw its own count of tokens left: 49, 48, ..., 0.
	for i := range 50 {
		if !remaining[i] {
			t.Errorf("no allowed take saw Remaining %d", i)
		}
	}
}

func TestMemoryStoreBoundedKeepsHotKey(t *testing.T) {
	t.Parallel()
	const maxKeys = 10
	s := NewMemoryStore(maxKeys, newFakeClock().Now)
	l := Limit{Rate: 1e-9, Burst: 3}

	for range 3 {
		mustTake(t, s, "hot", 1, l)
	}
	for i := range 1000 {
		mustTake(t, s, fmt.Sprintf("cold-%d", i), 1, l)
		if d := mustTake(t, s, "hot", 1, l); d.Allowed {
			t.Fatalf("after %d cold keys the hot key was forgotten and refilled", i+1)
		}
		if n := s.Len(); n > maxKeys {
			t.Fatalf("store holds %d keys, more than %d", n, maxKeys)
		}
	}
	// A key idle while maxKeys others were used is forgotten: it starts over.
	if d := mustTake(t, s, "cold-0", 1, l); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("evicted key: got %+v, want a fresh bucket", d)
	}
}

func TestMemoryStoreLimitChangeKeepsTokens(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore(1000, newFakeClock().Now)
	mustTake(t, s, "k", 8, Limit{Rate: 1, Burst: 10}) // 2 left
	d := mustTake(t, s, "k", 1, Limit{Rate: 1, Burst: 20})
	if !d.Allowed || d.Remaining != 1 || d.Limit != 20 {
		t.Fatalf("got %+v, want 1 remaining of 20", d)
	}
	d = mustTake(t, s, "k", 1, Limit{Rate: 1, Burst: 1}) // capped at the new burst
	if !d.Allowed || d.Remaining != 0 {
		t.Fatalf("got %+v, want allowed with 0 remaining", d)
	}
}

func TestMemoryStoreInvalidLimit(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore(1000, nil)
	for _, l := range []Limit{{Rate: 0, Burst: 1}, {Rate: -1, Burst: 1}, {Rate: 1, Burst: 0}} {
		if _, err := s.Take(context.Background(), "k", 1, l); err == nil {
			t.Errorf("Take with %+v: no error", l)
		}
	}
}

func TestCeilSeconds(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int64{
		0: 0, -time.Second: 0, time.Nanosecond: 1, time.Second: 1,
		time.Second + 1: 2, 1500 * time.Millisecond: 2, time.Minute: 60,
		// The longest Duration, which durationFor returns for waits
		// beyond it, must not overflow into a short or negative wait.
		time.Duration(math.MaxInt64): math.MaxInt64/int64(time.Second) + 1,
	} {
		if got := ceilSeconds(d); got != want {
			t.Errorf("ceilSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

// TestAbsurdWaitsStayLong checks the headers' seconds of a bucket that
// refills once in centuries: Retry-After and Reset must say so, not wrap
// around to a second or a negative number.
func TestAbsurdWaitsStayLong(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore(10, newFakeClock().Now)
	l := Limit{Rate: 1e-10, Burst: 1}
	first, _ := s.Take(context.Background(), "k", 1, l)
	second, _ := s.Take(context.Background(), "k", 1, l)
	if first.ResetSeconds() < 1e9 || second.Allowed || second.RetryAfterSeconds() < 1e9 {
		t.Errorf("reset %d s, then allowed %v with Retry-After %d s; want both about 1e10 s",
			first.ResetSeconds(), second.Allowed, second.RetryAfterSeconds())
	}
}

func TestMemoryStoreNeedsAPositiveSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewMemoryStore(%d) did not panic", n)
				}
			}()
			NewMemoryStore(n, nil)
		}()
	}
}
