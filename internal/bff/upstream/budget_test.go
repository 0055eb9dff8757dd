package upstream

import (
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/fakeclock"
)

// take withdraws until the budget refuses and returns how many it gave.
func take(b *retryBudget) int {
	n := 0
	for b.withdraw() {
		n++
	}
	return n
}

func TestBudgetPaysRatioOfRecentCallsPlusAReserve(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	b := newRetryBudget(0.2, 10, clock.Now)

	// A second's worth of reserve from the start, and nothing more.
	if n := take(b); n != 10 {
		t.Fatalf("fresh budget gave %d retries, want the reserve's 10", n)
	}
	// 100 calls pay for 20 retries.
	for range 100 {
		b.deposit()
	}
	if n := take(b); n != 20 {
		t.Fatalf("100 calls paid for %d retries, want 20", n)
	}
	// The reserve refills at 10 a second, holding at most a second's worth.
	clock.Advance(300 * time.Millisecond)
	if n := take(b); n != 3 {
		t.Fatalf("0.3 s later: %d retries, want 3", n)
	}
	clock.Advance(time.Hour)
	if n := take(b); n != 10 {
		t.Fatalf("an hour later: %d retries, want 10 (the reserve holds one second)", n)
	}
	// Calls older than the window pay for nothing.
	for range 100 {
		b.deposit()
	}
	clock.Advance(budgetWindow)
	if n := take(b); n != 10 {
		t.Fatalf("calls %v old paid for %d retries, want only the reserve's 10", budgetWindow, n-10)
	}
	// Calls within the window do, whichever slot they are in.
	for i := range 10 {
		for range 10 {
			b.deposit()
		}
		if i < 9 {
			clock.Advance(budgetSlot)
		}
	}
	b.reserve, b.reserveMax = 0, 0
	if n := take(b); n != 20 {
		t.Fatalf("100 calls over the last 10 s paid for %d retries, want 20", n)
	}
}

func TestBudgetWithoutReserve(t *testing.T) {
	b := newRetryBudget(0.5, 0, nil)
	if b.withdraw() {
		t.Fatal("a budget without reserve or calls gave a retry")
	}
	b.deposit()
	if b.withdraw() {
		t.Fatal("one call at 0.5 paid for a whole retry")
	}
	b.deposit()
	if !b.withdraw() || b.withdraw() {
		t.Fatal("two calls at 0.5 must pay for one retry exactly")
	}
	if b := newRetryBudget(0, 0, nil); take(b) != 0 {
		t.Fatal("a budget of nothing gave a retry")
	}
}

func TestBudgetUnderContention(t *testing.T) {
	b := newRetryBudget(0.2, 0, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 8 {
		wg.Go(func() {
			n := 0
			for range 1000 {
				b.deposit()
				if b.withdraw() {
					n++
				}
			}
			mu.Lock()
			got += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if got != 1600 {
		t.Fatalf("8000 calls at 0.2 paid for %d retries, want 1600", got)
	}
}

func BenchmarkBudget(b *testing.B) {
	budget := newRetryBudget(0.2, 10, nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			budget.deposit()
		}
	})
}

func TestBackoffIsFullJitterUnderTheCeiling(t *testing.T) {
	rt := &retryTransport{s: RetrySettings{Backoff: 25 * time.Millisecond, MaxBackoff: 250 * time.Millisecond}}
	for n, ceiling := range map[int]time.Duration{1: 25, 2: 50, 3: 100, 4: 200, 5: 250, 9: 250} {
		ceiling *= time.Millisecond
		var most time.Duration
		for range 2000 {
			d := rt.backoff(n)
			if d < 0 || d > ceiling {
				t.Fatalf("retry %d waits %v, want 0 to %v", n, d, ceiling)
			}
			most = max(most, d)
		}
		if most < ceiling*9/10 {
			t.Errorf("retry %d: the longest of 2000 waits is %v, want near %v", n, most, ceiling)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0": 0, "1": time.Second, "120": 2 * time.Minute,
		now.Add(3 * time.Second).Format(http1123): 3 * time.Second,
		now.Add(-time.Minute).Format(http1123):    0,
	} {
		if got, ok := retryAfter(v, now); !ok || got != want {
			t.Errorf("Retry-After %q: %v %v, want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "-1", "soon", "1.5", "99999999999"} {
		if _, ok := retryAfter(v, now); ok {
			t.Errorf("Retry-After %q was understood", v)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
