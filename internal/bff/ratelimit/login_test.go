package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
)

// testLogins are the limits these tests are written for: 10 attempts a
// minute per address, 5 per account.
var testLogins = LoginConfig{PerIP: PerMinute(10), PerAccount: PerMinute(5)}

func newTestLoginLimiter(clock *fakeClock) (*LoginLimiter, *MemoryStore) {
	store := NewMemoryStore(1000, clock.Now)
	return NewLoginLimiter(store, testLogins), store
}

func ipN(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}) }

func TestLoginLimiterPerIP(t *testing.T) {
	t.Parallel()
	l, _ := newTestLoginLimiter(newFakeClock())
	ctx := context.Background()
	ip := ipN(1)
	// Ten different accounts from one address: all allowed (each account
	// is far from its own limit).
	for i := range 10 {
		if _, err := l.Allow(ctx, ip, fmt.Sprintf("user%d@example.com", i)); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	d, err := l.Allow(ctx, ip, "user10@example.com")
	if !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("11th attempt from one address: err %v, want RateLimited", err)
	}
	if d.Allowed || d.Limit != 10 || d.RetryAfter != 6*time.Second {
		t.Errorf("decision %+v, want the per-IP bucket's refusal with RetryAfter 6s", d)
	}
	if e, _ := apperr.As(err); !strings.Contains(e.Message, "retry after 6 seconds") {
		t.Errorf("message %q does not give the seconds to wait", e.Message)
	}
	// Another address is unaffected.
	if _, err := l.Allow(ctx, ipN(2), "user10@example.com"); err != nil {
		t.Errorf("other address: %v", err)
	}
}

func TestLoginLimiterPerAccount(t *testing.T) {
	t.Parallel()
	l, _ := newTestLoginLimiter(newFakeClock())
	ctx := context.Background()
	// One account from many addresses, spelled differently.
	emails := []string{"Victim@Example.com", " victim@example.com", "VICTIM@EXAMPLE.COM ", "victim@example.com", "victim@Example.com"}
	for i, email := range emails {
		if _, err := l.Allow(ctx, ipN(i), email); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	d, err := l.Allow(ctx, ipN(100), "victim@example.com")
	if !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("6th attempt on one account: err %v, want RateLimited", err)
	}
	if d.Limit != 5 || d.RetryAfter != 12*time.Second {
		t.Errorf("decision %+v, want the per-account bucket's refusal with RetryAfter 12s", d)
	}
	// Another account from the same address is unaffected.
	if _, err := l.Allow(ctx, ipN(100), "other@example.com"); err != nil {
		t.Errorf("other account: %v", err)
	}
}

func TestLoginLimiterRefusedIPSpendsNothingFromAccount(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l, store := newTestLoginLimiter(clock)
	ctx := context.Background()
	attacker := ipN(66)
	for i := range 10 {
		if _, err := l.Allow(ctx, attacker, fmt.Sprintf("someone%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The attacker hammers the victim's account, refused by its own
	// address limit each time.
	for range 50 {
		if _, err := l.Allow(ctx, attacker, "victim@example.com"); err == nil {
			t.Fatal("attacker allowed")
		}
	}
	d := mustTake(t, store, "login-account:victim@example.com", 1, testLogins.PerAccount)
	if d.Remaining != 4 {
		t.Errorf("victim's account has %d attempts left after the attacker's refused ones, want 4", d.Remaining)
	}
}

func TestLoginLimiterAllowedDecision(t *testing.T) {
	t.Parallel()
	l, _ := newTestLoginLimiter(newFakeClock())
	d, err := l.Allow(context.Background(), ipN(1), "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// The tighter of the two buckets: the account's (4 of 5 left).
	if !d.Allowed || d.Limit != 5 || d.Remaining != 4 {
		t.Errorf("decision %+v, want allowed with 4 of 5 remaining", d)
	}
}

func TestLoginLimiterRefills(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l, _ := newTestLoginLimiter(clock)
	ctx := context.Background()
	for range 5 {
		if _, err := l.Allow(ctx, ipN(1), "a@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Allow(ctx, ipN(1), "a@example.com"); err == nil {
		t.Fatal("6th attempt allowed")
	}
	clock.Advance(12 * time.Second)
	if _, err := l.Allow(ctx, ipN(1), "a@example.com"); err != nil {
		t.Errorf("after 12s: %v", err)
	}
}

func TestLoginLimiterWithoutAddressOrEmail(t *testing.T) {
	t.Parallel()
	l, _ := newTestLoginLimiter(newFakeClock())
	ctx := context.Background()
	// Without an address only the account is limited.
	for range 5 {
		if _, err := l.Allow(ctx, netip.Addr{}, "a@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Allow(ctx, netip.Addr{}, "a@example.com"); err == nil {
		t.Error("account limit not applied without an address")
	}
	// Without an email only the address is limited.
	for range 10 {
		if _, err := l.Allow(ctx, ipN(9), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Allow(ctx, ipN(9), "  "); err == nil {
		t.Error("address limit not applied without an email")
	}
}

func TestLoginLimiterFailsOpen(t *testing.T) {
	t.Parallel()
	l := NewLoginLimiter(failingStore{}, testLogins)
	for range 20 {
		if d, err := l.Allow(context.Background(), ipN(1), "a@example.com"); err != nil || !d.Allowed {
			t.Fatalf("got %+v, %v; want allowed", d, err)
		}
	}
}

// failingStore is a Store that is never reachable.
type failingStore struct{}

func (failingStore) Take(context.Context, string, int, Limit) (Decision, error) {
	return Decision{}, errors.New("store unreachable")
}

func TestLoginLimiterTellsOfEachRefusal(t *testing.T) {
	t.Parallel()
	l := NewLoginLimiter(NewMemoryStore(100, newFakeClock().Now), LoginConfig{
		PerIP: Limit{Rate: 1, Burst: 1}, PerAccount: Limit{Rate: 1, Burst: 5},
	})
	refused := 0
	l.OnRefuse(func() { refused++ })
	for range 3 {
		_, _ = l.Allow(context.Background(), ipN(1), "a@example.com")
	}
	if refused != 2 {
		t.Errorf("OnRefuse heard %d refusals, want 2", refused)
	}
}
