package upstream

import (
	"sync"
	"time"
)

// budgetWindow is how long a request's deposit funds retries, in
// budgetSlot slots: a burst of calls long ago does not pay for a storm of
// retries now.
const (
	budgetSlots  = 10
	budgetSlot   = time.Second
	budgetWindow = budgetSlots * budgetSlot
)

// retryBudget bounds the retries of one service (see the package
// documentation): every call deposits ratio, every retry withdraws 1 from
// what the calls of the last budgetWindow deposited, or else from a
// reserve refilled at minPerSecond up to one second's worth.
//
// Its lock guards a few additions and a sum over budgetSlots counters:
// no allocation and no call out, and the clock is read before it is
// taken.
type retryBudget struct {
	ratio      float64
	minPerSec  float64
	reserveMax float64
	now        func() time.Time
	start      time.Time

	mu       sync.Mutex
	slots    [budgetSlots]budgetCount
	reserve  float64
	refilled time.Duration // since start, when reserve was last refilled
}

// budgetCount is what one slot of budgetSlot holds: the calls made and
// the retries they paid for.
type budgetCount struct {
	slot    int64 // since start, in budgetSlot; which slot it is
	calls   int64
	retries int64
}

func newRetryBudget(ratio, minPerSecond float64, now func() time.Time) *retryBudget {
	if now == nil {
		now = time.Now
	}
	b := &retryBudget{ratio: max(ratio, 0), minPerSec: max(minPerSecond, 0), now: now, start: now()}
	if b.minPerSec > 0 {
		// One second's worth, and at least one retry, so that a service
		// with little traffic gets its first failure retried at once.
		b.reserveMax = max(b.minPerSec, 1)
	}
	b.reserve = b.reserveMax
	return b
}

// count returns the slot of the moment at, reset when it held an older
// one.
func (b *retryBudget) count(at time.Duration) *budgetCount {
	slot := int64(at / budgetSlot)
	c := &b.slots[slot%budgetSlots]
	if c.slot != slot {
		*c = budgetCount{slot: slot}
	}
	return c
}

// deposit records a call.
func (b *retryBudget) deposit() {
	at := b.now().Sub(b.start)
	b.mu.Lock()
	b.count(at).calls++
	b.mu.Unlock()
}

// withdraw takes one retry from the budget and reports whether there was
// one to take.
func (b *retryBudget) withdraw() bool {
	at := b.now().Sub(b.start)
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.count(at)
	var calls, retries int64
	for i := range b.slots {
		if c := &b.slots[i]; c.slot > cur.slot-budgetSlots {
			calls += c.calls
			retries += c.retries
		}
	}
	// The epsilon keeps 5 calls at a ratio of 0.2 worth one whole retry.
	if b.ratio*float64(calls)-float64(retries) >= 1-1e-9 {
		cur.retries++
		return true
	}
	if b.reserveMax > 0 {
		b.reserve = min(b.reserveMax, b.reserve+(at-b.refilled).Seconds()*b.minPerSec)
		b.refilled = at
		if b.reserve >= 1 {
			b.reserve--
			return true
		}
	}
	return false
}
