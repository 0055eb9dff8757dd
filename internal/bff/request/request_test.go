package request

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/ratelimit"
)

func TestContextValues(t *testing.T) {
	ctx := context.Background()
	if ClientIP(ctx).IsValid() || App(ctx) != "" || StateFrom(ctx) != nil {
		t.Fatal("an empty context carries request values")
	}
	addr := netip.MustParseAddr("203.0.113.7")
	s := NewState()
	ctx = NewContextWithState(NewContextWithApp(NewContextWithClientIP(ctx, addr), "ios"), s)
	if ClientIP(ctx) != addr || App(ctx) != "ios" || StateFrom(ctx) != s {
		t.Errorf("got %v, %q, %p; want %v, ios, %p", ClientIP(ctx), App(ctx), StateFrom(ctx), addr, s)
	}
}

func TestStaleProductsAreSortedAndUnique(t *testing.T) {
	s := NewState()
	var wg sync.WaitGroup
	for _, id := range []string{"prd_c", "prd_a", "prd_b", "prd_a"} {
		wg.Add(1)
		go func() { defer wg.Done(); s.MarkStaleProducts(id, "prd_c") }()
	}
	wg.Wait()
	s.MarkStaleProducts() // nothing
	if got, want := s.StaleProducts(), []string{"prd_a", "prd_b", "prd_c"}; !slices.Equal(got, want) {
		t.Errorf("StaleProducts = %v, want %v", got, want)
	}
	if got := NewState().StaleProducts(); len(got) != 0 {
		t.Errorf("a new state has stale products %v", got)
	}
}

func TestTheLongestThrottleWins(t *testing.T) {
	s := NewState()
	if _, ok := s.Throttled(); ok {
		t.Fatal("a new state is throttled")
	}
	for _, d := range []time.Duration{3 * time.Second, 30 * time.Second, time.Second} {
		s.Throttle(ratelimit.Decision{RetryAfter: d, Limit: int(d / time.Second)})
	}
	if d, ok := s.Throttled(); !ok || d.RetryAfter != 30*time.Second || d.Limit != 30 {
		t.Errorf("Throttled = %+v, %v; want the 30 s refusal", d, ok)
	}
}

func TestANilStateDoesNothing(t *testing.T) {
	var s *State
	s.MarkStaleProducts("prd_a")
	s.Throttle(ratelimit.Decision{RetryAfter: time.Second})
	if ids := s.StaleProducts(); ids != nil {
		t.Errorf("StaleProducts of nil = %v", ids)
	}
	if _, ok := s.Throttled(); ok {
		t.Error("a nil state is throttled")
	}
}

func TestErrorsAreCountedByCode(t *testing.T) {
	s := NewState()
	var wg sync.WaitGroup
	for _, code := range []string{"NOT_FOUND", "FORBIDDEN", "NOT_FOUND"} {
		wg.Add(1)
		go func() { defer wg.Done(); s.AddError(code) }()
	}
	wg.Wait()
	got := s.Errors()
	if len(got) != 2 || got["NOT_FOUND"] != 2 || got["FORBIDDEN"] != 1 {
		t.Errorf("Errors = %v", got)
	}
	got["NOT_FOUND"] = 99 // a copy
	if s.Errors()["NOT_FOUND"] != 2 {
		t.Error("Errors returned the state's own map")
	}
	var none *State
	none.AddError("X")
	if none.Errors() != nil {
		t.Error("a nil state has errors")
	}
}

func TestUpstreamWavesAreTheRoundsThatWaited(t *testing.T) {
	s := NewState()
	// Wave 1: two calls at once.
	endA, endB := s.UpstreamCall(), s.UpstreamCall()
	endA()
	// Started after A ended: wave 2, although B is still out.
	endC := s.UpstreamCall()
	if calls, waves := s.Upstream(); calls != 3 || waves != 2 {
		t.Fatalf("after A ended and C started: %d calls, %d waves; want 3, 2", calls, waves)
	}
	endB()
	endC()
	// After C (wave 2) ended: wave 3.
	s.UpstreamCall()()
	if calls, waves := s.Upstream(); calls != 4 || waves != 3 {
		t.Fatalf("%d calls, %d waves; want 4, 3", calls, waves)
	}
}

func TestConcurrentCallsAreOneWave(t *testing.T) {
	s := NewState()
	var ends []func()
	for range 5 {
		ends = append(ends, s.UpstreamCall())
	}
	for _, end := range ends {
		end()
	}
	if calls, waves := s.Upstream(); calls != 5 || waves != 1 {
		t.Fatalf("%d calls, %d waves; want 5, 1", calls, waves)
	}
	var nilState *State
	nilState.UpstreamCall()()
	if calls, waves := nilState.Upstream(); calls != 0 || waves != 0 {
		t.Fatalf("a nil state counted %d calls, %d waves", calls, waves)
	}
}
