package upstream_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/problem"
	"github.com/acme/bff-gateway/internal/seed"
)

// tally records what the retry layer's hooks told.
type tally struct {
	mu       sync.Mutex
	reasons  []string
	outcomes map[string]int
}

// retry returns the BFF's default retry settings (internal/bff/config),
// changed by change, with hooks recording into the tally.
func (ta *tally) retry(change func(*upstream.RetrySettings)) upstream.RetrySettings {
	def := config.Default(config.Web).Upstream
	s := upstream.RetrySettings{
		Attempts: def.RetryAttempts, Backoff: def.RetryBackoff, MaxBackoff: def.RetryMaxBackoff,
		BudgetRatio: def.RetryBudgetRatio, MinPerSecond: def.RetryMinPerSecond,
		OnRetry: func(service, reason string) {
			ta.mu.Lock()
			ta.reasons = append(ta.reasons, reason)
			ta.mu.Unlock()
		},
		OnCall: func(service, outcome string) {
			ta.mu.Lock()
			if ta.outcomes == nil {
				ta.outcomes = map[string]int{}
			}
			ta.outcomes[outcome]++
			ta.mu.Unlock()
		},
	}
	if change != nil {
		change(&s)
	}
	return s
}

// take returns the retries' reasons and the calls' outcomes since the
// last take.
func (ta *tally) take() (reasons []string, outcomes map[string]int) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	reasons, outcomes = ta.reasons, ta.outcomes
	ta.reasons, ta.outcomes = nil, nil
	return reasons, outcomes
}

// step is what a scripted service does with one request.
type step func(w http.ResponseWriter, r *http.Request)

// script is a service doing its steps in turn, one a request, the last
// one again and again; hits counts the requests that reached it.
type script struct {
	*httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	steps  []step
	bodies []string
	keys   []string
}

func newScript(t *testing.T, steps ...step) *script {
	t.Helper()
	s := &script{steps: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		i := min(int(s.hits.Add(1))-1, len(s.steps)-1)
		s.bodies = append(s.bodies, string(b))
		s.keys = append(s.keys, r.Header.Get(contract.IdempotencyKeyHeader))
		next := s.steps[i]
		s.mu.Unlock()
		next(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func status(code int, header ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body>a proxy's page</body></html>"))
	}
}

func problemStep(code apperr.Code) step {
	return func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, apperr.New(code, "scripted"))
	}
}

func answer(v any) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_ = json.NewEncoder(w).Encode(v)
	}
}

// drop closes the connection after reading the request, before any answer.
func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, _ := w.(http.Hijacker).Hijack()
	_ = conn.Close()
}

// reset resets the connection after reading the request.
func reset(w http.ResponseWriter, r *http.Request) {
	conn, _, _ := w.(http.Hijacker).Hijack()
	_ = conn.(*net.TCPConn).SetLinger(0)
	_ = conn.Close()
}

// brokenOff sends a 200's headers and half its body, then resets.
func brokenOff(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"count":12,"revenue_ce`))
	w.(http.Flusher).Flush()
	reset(w, r)
}

// brokenProblem sends a 409's headers and half its problem, then resets.
func brokenProblem(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", problem.ContentType)
	w.WriteHeader(http.StatusConflict)
	_, _ = w.Write([]byte(`{"code":"not_cancel`))
	w.(http.Flusher).Flush()
	reset(w, r)
}

func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

var stats = contract.OrderStats{Count: 12}

// scriptedSet is the clients of a scripted service (all three services),
// its breakers opening only after many failures unless told otherwise.
func scriptedSet(t *testing.T, s *script, cfg upstream.Config) *upstream.Set {
	t.Helper()
	cfg.UserURL, cfg.OrderURL, cfg.ProductURL = s.URL, s.URL, s.URL
	if cfg.Breaker.ConsecutiveFailures == 0 {
		cfg.Breaker.ConsecutiveFailures = 1000
	}
	// A connection per call: net/http itself sends a GET again on a
	// reused connection that fails, which would blur the counts.
	cfg.Transport = &http.Transport{DisableKeepAlives: true}
	set, err := upstream.New(withDefaults(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestReadsAreRetriedThroughTransientFaults(t *testing.T) {
	for name, fault := range map[string]struct {
		step   step
		reason string
	}{
		"closed before the answer": {drop, upstream.RetryConnection},
		"reset before the answer":  {reset, upstream.RetryConnection},
		"reset mid-answer":         {brokenOff, upstream.RetryConnection},
		"reset mid-problem":        {brokenProblem, upstream.RetryConnection},
		"502":                      {status(502), upstream.RetryStatus502},
		"503":                      {status(503), upstream.RetryStatus503},
		"504":                      {status(504), upstream.RetryStatus504},
	} {
		t.Run(name, func(t *testing.T) {
			var ta tally
			s := newScript(t, fault.step, fault.step, answer(stats))
			// One failure seen by the breaker would open it: it must see
			// only what the retries ended in.
			set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil), Breaker: breaker.Settings{ConsecutiveFailures: 1}})
			start := time.Now()
			got, err := set.Orders.Stats(context.Background())
			if err != nil || got.Count != 12 {
				t.Fatalf("%v %+v", err, got)
			}
			t.Logf("%s twice, then an answer: %v", name, time.Since(start))
			if n := s.hits.Load(); n != 3 {
				t.Errorf("%d tries, want 3", n)
			}
			reasons, outcomes := ta.take()
			if !slices.Equal(reasons, []string{fault.reason, fault.reason}) || !maps.Equal(outcomes, map[string]int{upstream.CallRetriedOK: 1}) {
				t.Errorf("reasons %v, outcomes %v", reasons, outcomes)
			}
			if st := set.Breakers[1].State(); st != breaker.StateClosed {
				t.Errorf("breaker %s after a call its retries mended", st)
			}
		})
	}
}

func TestTriesAreBounded(t *testing.T) {
	var ta tally
	s := newScript(t, status(503))
	set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil)})
	_, err := set.Orders.Stats(context.Background())
	wantCode(t, err, apperr.Unavailable)
	if n := s.hits.Load(); n != 3 {
		t.Errorf("%d tries, want upstream.retry_attempts = 3", n)
	}
	if reasons, outcomes := ta.take(); len(reasons) != 2 || !maps.Equal(outcomes, map[string]int{upstream.CallFailed: 1}) {
		t.Errorf("reasons %v, outcomes %v", reasons, outcomes)
	}

	// A service that is down: three quick tries, then Unavailable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	_ = l.Close()
	set, err = upstream.New(withDefaults(upstream.Config{UserURL: down, OrderURL: down, ProductURL: down, Retry: ta.retry(nil)}))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = set.Orders.Stats(context.Background())
	wantCode(t, err, apperr.Unavailable)
	t.Logf("connection refused three times: %v", time.Since(start))
	if reasons, outcomes := ta.take(); !slices.Equal(reasons, []string{"connection", "connection"}) || outcomes[upstream.CallFailed] != 1 {
		t.Errorf("reasons %v, outcomes %v", reasons, outcomes)
	}
}

func TestWhatIsNotRetried(t *testing.T) {
	for name, c := range map[string]struct {
		step step
		call func(*upstream.Set) error
		code apperr.Code
	}{
		"500":       {status(500), statsCall, apperr.Unavailable},
		"not found": {problemStep(apperr.NotFound), statsCall, apperr.NotFound},
		"conflict":  {problemStep(apperr.NotCancellable), statsCall, apperr.NotCancellable},
		// A service turning the BFF away is an outage to its clients,
		// not their own rate limit.
		"429 without Retry-After": {status(429), statsCall, apperr.Unavailable},
		"429 after the deadline":  {status(429, "Retry-After", "5"), statsCall, apperr.Unavailable},
		"a sign-in on 503": {status(503), func(set *upstream.Set) error {
			_, err := set.Users.Token(context.Background(), "ada@example.com", "ada123")
			return err
		}, apperr.Unavailable},
		"a sign-in on a reset": {reset, func(set *upstream.Set) error {
			_, err := set.Users.Token(context.Background(), "ada@example.com", "ada123")
			return err
		}, apperr.Unavailable},
		"a hang": {hang, statsCall, apperr.Timeout},
	} {
		t.Run(name, func(t *testing.T) {
			var ta tally
			s := newScript(t, c.step)
			set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil), CallTimeout: 200 * time.Millisecond})
			start := time.Now()
			err := c.call(set)
			d := time.Since(start)
			wantCode(t, err, c.code)
			if n := s.hits.Load(); n != 1 {
				t.Errorf("%d tries, want 1", n)
			}
			if d > 300*time.Millisecond {
				t.Errorf("took %v", d)
			}
			if reasons, _ := ta.take(); len(reasons) != 0 {
				t.Errorf("retried for %v", reasons)
			}
		})
	}
}

func statsCall(set *upstream.Set) error {
	_, err := set.Orders.Stats(context.Background())
	return err
}

func TestA429IsRetriedAfterItsRetryAfter(t *testing.T) {
	for name, after := range map[string]func() string{
		"seconds":   func() string { return "1" },
		"HTTP date": func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) },
	} {
		t.Run(name, func(t *testing.T) {
			var ta tally
			var sent time.Time
			var wanted time.Duration
			s := newScript(t, func(w http.ResponseWriter, r *http.Request) {
				v := after()
				d, _ := time.ParseDuration(v + "s")
				if at, err := http.ParseTime(v); err == nil {
					d = time.Until(at)
				}
				sent, wanted = time.Now(), d
				status(429, "Retry-After", v)(w, r)
			}, answer(stats))
			set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil), CallTimeout: 5 * time.Second})
			if _, err := set.Orders.Stats(context.Background()); err != nil {
				t.Fatal(err)
			}
			waited := time.Since(sent)
			t.Logf("Retry-After %s: came back after %v", name, waited)
			if waited < wanted-10*time.Millisecond {
				t.Errorf("came back after %v, before the %v asked", waited, wanted)
			}
			if reasons, _ := ta.take(); !slices.Equal(reasons, []string{upstream.RetryStatus429}) {
				t.Errorf("reasons %v", reasons)
			}
		})
	}
}

func TestRetriesNeverWaitPastTheDeadline(t *testing.T) {
	var ta tally
	s := newScript(t, status(503))
	set := scriptedSet(t, s, upstream.Config{CallTimeout: 200 * time.Millisecond, Retry: ta.retry(func(r *upstream.RetrySettings) {
		r.Backoff, r.MaxBackoff = time.Hour, time.Hour
	})})
	start := time.Now()
	_, err := set.Orders.Stats(context.Background())
	// The 503's own error, at once: not a Timeout after sleeping to the end.
	wantCode(t, err, apperr.Unavailable)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("took %v", d)
	}
	if n := s.hits.Load(); n != 1 {
		t.Errorf("%d tries", n)
	}
}

func TestTheBudgetBoundsTheLoadOnAFailingService(t *testing.T) {
	const calls, workers = 600, 12
	for name, c := range map[string]struct {
		ratio, perSecond float64
	}{
		"the default budget": {0.2, 10},
		"no reserve":         {0.1, 0},
	} {
		t.Run(name, func(t *testing.T) {
			var ta tally
			s := newScript(t, status(503))
			start := time.Now() // before the budget's clock starts
			set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(func(r *upstream.RetrySettings) {
				r.Backoff, r.MaxBackoff = time.Millisecond, 2*time.Millisecond
				r.BudgetRatio, r.MinPerSecond = c.ratio, c.perSecond
			})})
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := w; i < calls; i += workers {
						if _, err := set.Orders.Stats(context.Background()); !apperr.Is(err, apperr.Unavailable) {
							t.Errorf("call %d: %v", i, err)
						}
					}
				})
			}
			wg.Wait()
			secs := time.Since(start).Seconds()
			tries := int(s.hits.Load())
			// The reserve: a second's worth at the start, then perSecond.
			reserve := 0.0
			if c.perSecond > 0 {
				reserve = max(c.perSecond, 1) + c.perSecond*secs
			}
			bound := float64(calls)*(1+c.ratio) + reserve
			reasons, outcomes := ta.take()
			t.Logf("%d calls to a service answering 503 in %.2fs: %d tries (bound %.0f, %d without a budget); %d retries, outcomes %v",
				calls, secs, tries, bound, 3*calls, len(reasons), outcomes)
			if float64(tries) > bound {
				t.Errorf("%d tries, more than %.0f", tries, bound)
			}
			if tries != calls+len(reasons) {
				t.Errorf("%d tries for %d calls and %d retries", tries, calls, len(reasons))
			}
			if outcomes[upstream.CallBudgetExhausted] == 0 ||
				outcomes[upstream.CallBudgetExhausted]+outcomes[upstream.CallFailed] != calls {
				t.Errorf("outcomes %v: want some calls not retried for the budget, and every call failed", outcomes)
			}
		})
	}
}

func TestAnOpenBreakerIsNeverRetried(t *testing.T) {
	var ta tally
	s := newScript(t, status(503))
	set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil),
		Breaker: breaker.Settings{ConsecutiveFailures: 2, OpenTimeout: time.Hour}})
	for range 2 {
		_, err := set.Orders.Stats(context.Background())
		wantCode(t, err, apperr.Unavailable)
	}
	if n := s.hits.Load(); n != 6 {
		t.Errorf("%d tries for two calls, want 6", n)
	}
	if st := set.Breakers[1].State(); st != breaker.StateOpen {
		t.Fatalf("breaker %s after two failed calls", st)
	}
	ta.take()
	_, err := set.Orders.Stats(context.Background())
	if !breaker.Rejected(err) {
		t.Fatalf("%v, want the breaker's refusal", err)
	}
	if n := s.hits.Load(); n != 6 {
		t.Errorf("an open breaker's call was sent (%d tries)", n)
	}
	if reasons, outcomes := ta.take(); len(reasons)+len(outcomes) != 0 {
		t.Errorf("an open breaker's call reached the retries: %v %v", reasons, outcomes)
	}
}

func TestAPlacementIsSentAgainTheSame(t *testing.T) {
	order := contract.Order{ID: seed.OrderID(3), UserID: adaID, Status: contract.StatusPending}
	req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: seed.ProductID(1), Quantity: 2}}}
	ctx := principal("tok", adaID, "customer")
	t.Run("through faults and while in progress", func(t *testing.T) {
		var ta tally
		s := newScript(t, reset, problemStep(apperr.IdempotencyInProgress), answer(order))
		set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil)})
		got, err := set.Orders.Place(ctx, "key-1", req)
		if err != nil || got.ID != order.ID {
			t.Fatalf("%v %+v", err, got)
		}
		if len(s.bodies) != 3 || s.bodies[0] == "" || s.bodies[1] != s.bodies[0] || s.bodies[2] != s.bodies[0] {
			t.Errorf("bodies sent %q, want the same three times", s.bodies)
		}
		if !slices.Equal(s.keys, []string{"key-1", "key-1", "key-1"}) {
			t.Errorf("keys sent %q", s.keys)
		}
		if reasons, _ := ta.take(); !slices.Equal(reasons, []string{upstream.RetryConnection, upstream.RetryInProgress}) {
			t.Errorf("reasons %v", reasons)
		}
	})
	t.Run("in progress to the last try", func(t *testing.T) {
		var ta tally
		s := newScript(t, problemStep(apperr.IdempotencyInProgress))
		set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil)})
		_, err := set.Orders.Place(ctx, "key-1", req)
		wantCode(t, err, apperr.IdempotencyInProgress)
		if n := s.hits.Load(); n != 3 {
			t.Errorf("%d tries", n)
		}
	})
	t.Run("refusals are answers", func(t *testing.T) {
		for _, code := range []apperr.Code{apperr.InsufficientStock, apperr.IdempotencyKeyReused, apperr.Forbidden} {
			var ta tally
			s := newScript(t, problemStep(code))
			set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(nil)})
			_, err := set.Orders.Place(ctx, "key-1", req)
			wantCode(t, err, code)
			if n := s.hits.Load(); n != 1 {
				t.Errorf("%s: %d tries", code, n)
			}
		}
	})
}

func TestRetriesOff(t *testing.T) {
	var ta tally
	s := newScript(t, status(503), answer(stats))
	set := scriptedSet(t, s, upstream.Config{Retry: ta.retry(func(r *upstream.RetrySettings) { r.Attempts = 1 })})
	_, err := set.Orders.Stats(context.Background())
	wantCode(t, err, apperr.Unavailable)
	if reasons, outcomes := ta.take(); len(reasons) != 0 || !maps.Equal(outcomes, map[string]int{upstream.CallFailed: 1}) {
		t.Errorf("reasons %v outcomes %v", reasons, outcomes)
	}
	if _, err := set.Orders.Stats(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, outcomes := ta.take(); !maps.Equal(outcomes, map[string]int{upstream.CallOK: 1}) {
		t.Errorf("outcomes %v", outcomes)
	}
}
