// Package request holds what the BFF knows about the request it is
// answering, for every package that serves it:
//
//   - the client's address and the calling application, facts the edge and
//     the authentication learn once, before the document is even read, and
//     that never change (context values);
//   - the State of the GraphQL operation being run: what the loaders, the
//     product catalogue and the resolvers find out while it runs and the
//     edge must put in the answer (products served stale, a refusal of the
//     whole request for its rate), and the codes of the errors it answers
//     with, for the metrics. One State per operation: a request, or one
//     operation of a batch.
//
// It is a leaf: it imports nothing of the BFF but the rate limiter's
// Decision, so that the cache, the loaders and the edge can all share it.
// Observability's per-request counters belong here too.
package request

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/acme/bff-gateway/internal/bff/ratelimit"
)

type clientIPKey struct{}
type appKey struct{}
type stateKey struct{}

// NewContextWithClientIP returns ctx carrying the client's address as the
// edge determined it (X-Forwarded-For only from trusted proxies).
func NewContextWithClientIP(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, addr)
}

// ClientIP returns the client's address, or the zero Addr when the edge
// did not determine one.
func ClientIP(ctx context.Context) netip.Addr {
	addr, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return addr
}

// NewContextWithApp returns ctx carrying the name of the calling
// application (a mobile API key's name, never the key itself).
func NewContextWithApp(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, appKey{}, name)
}

// App returns the calling application's name, or "".
func App(ctx context.Context) string {
	name, _ := ctx.Value(appKey{}).(string)
	return name
}

// State is what one GraphQL operation's resolvers, loaders and catalogue
// tell the edge while it runs. Its methods are safe for concurrent use
// (resolvers run in parallel) and do nothing on a nil *State, so code that
// runs outside a request (a test, a warm-up) needs no special case.
type State struct {
	mu       sync.Mutex
	stale    map[string]struct{}
	throttle *ratelimit.Decision
	errors   map[string]int
	upstream upstreamCalls
}

// upstreamCalls counts an operation's calls to the services and their
// waves: a call started before any other ended is in wave 1; a call
// started after calls of wave n ended is in wave n+1 (it may have waited
// for them). The operation's waves are the highest wave of its calls: the
// rounds of calls that had to wait for one another.
type upstreamCalls struct {
	calls     int
	waves     int // the highest wave of a call started
	endedWave int // the highest wave of a call ended
}

// NewState returns the empty state of a new operation.
func NewState() *State { return &State{} }

// NewContextWithState returns ctx carrying s.
func NewContextWithState(ctx context.Context, s *State) context.Context {
	return context.WithValue(ctx, stateKey{}, s)
}

// StateFrom returns the operation's State, or nil outside an operation.
func StateFrom(ctx context.Context) *State {
	s, _ := ctx.Value(stateKey{}).(*State)
	return s
}

// MarkStaleProducts records that the products with these ids were served
// from copies past their freshness because the product service failed.
func (s *State) MarkStaleProducts(ids ...string) {
	if s == nil || len(ids) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stale == nil {
		s.stale = make(map[string]struct{}, len(ids))
	}
	for _, id := range ids {
		s.stale[id] = struct{}{}
	}
}

// StaleProducts returns the ids recorded by MarkStaleProducts, sorted.
func (s *State) StaleProducts() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.stale))
	for id := range s.stale {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Throttle records that the request was refused for its rate while it
// ran (a sign-in over the login limits): the edge then answers it with
// 429 and Retry-After instead of 200. Of several refusals, the one with
// the longest RetryAfter wins.
func (s *State) Throttle(d ratelimit.Decision) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle == nil || d.RetryAfter > s.throttle.RetryAfter {
		s.throttle = &d
	}
}

// Throttled returns the refusal recorded by Throttle, and whether there is
// one.
func (s *State) Throttled() (ratelimit.Decision, bool) {
	if s == nil {
		return ratelimit.Decision{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle == nil {
		return ratelimit.Decision{}, false
	}
	return *s.throttle, true
}

// AddError records that the answer carries an error with the
// extensions.code code (the edge's error presenter calls it for each).
func (s *State) AddError(code string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.errors == nil {
		s.errors = map[string]int{}
	}
	s.errors[code]++
}

// Errors returns how many errors of each code AddError recorded.
func (s *State) Errors() map[string]int {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.errors))
	for code, n := range s.errors {
		out[code] = n
	}
	return out
}

// UpstreamCall records that a call to a service goes out now, and returns
// what to call when its answer has come.
func (s *State) UpstreamCall() (ended func()) {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upstream.calls++
	wave := s.upstream.endedWave + 1
	s.upstream.waves = max(s.upstream.waves, wave)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.upstream.endedWave = max(s.upstream.endedWave, wave)
	}
}

// Upstream returns the calls UpstreamCall recorded and their waves.
func (s *State) Upstream() (calls, waves int) {
	if s == nil {
		return 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upstream.calls, s.upstream.waves
}
