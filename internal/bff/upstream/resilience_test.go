package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

func TestStoppedServiceOpensItsBreakerOnly(t *testing.T) {
	const openFor = time.Second
	var changes atomic.Int32
	e := newEnv(t, upstream.Config{Breaker: breaker.Settings{
		ConsecutiveFailures: 3,
		OpenTimeout:         openFor,
		OnStateChange:       func(name, from, to string) { changes.Add(1) },
	}})
	orders, orderBreaker := e.set.Orders, e.set.Breakers[1]
	if _, err := orders.Get(e.ada, seed.OrderID(0)); err != nil {
		t.Fatal(err)
	}
	e.rec.take()

	e.stack.Stop(t, "order")
	for i := range 3 {
		_, err := orders.Get(e.ada, seed.OrderID(0))
		wantCode(t, err, apperr.Unavailable)
		if breaker.Rejected(err) {
			t.Fatalf("call %d was refused by the breaker before it opened", i)
		}
		e.rec.one(t)
	}
	if s := orderBreaker.State(); s != breaker.StateOpen {
		t.Fatalf("order breaker %s after 3 failures, want open", s)
	}
	// Open: calls, reads and changes alike, fail at once without being sent.
	start := time.Now()
	_, err := orders.Get(e.ada, seed.OrderID(0))
	wantCode(t, err, apperr.Unavailable)
	_, err2 := orders.Place(e.ada, "key-open", contract.PlaceOrderRequest{UserID: seed.UserID(1),
		Items: []contract.ReservationItem{{ProductID: seed.ProductID(1), Quantity: 1}}})
	wantCode(t, err2, apperr.Unavailable)
	if !breaker.Rejected(err) || !breaker.Rejected(err2) {
		t.Errorf("open breaker: %v, %v: want refusals", err, err2)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("refused calls took %v", d)
	}
	e.rec.none(t)

	// The other services are not affected.
	if _, err := e.set.Users.Get(e.ada, seed.UserID(1)); err != nil {
		t.Errorf("user service: %v", err)
	}
	if _, err := e.set.Products.Get(e.ada, seed.ProductID(0)); err != nil {
		t.Errorf("product service: %v", err)
	}
	e.rec.take()
	for _, b := range []*breaker.Transport{e.set.Breakers[0], e.set.Breakers[2]} {
		if s := b.State(); s != breaker.StateClosed {
			t.Errorf("%s breaker %s, want closed", b.Name(), s)
		}
	}

	// Back up: after the open timeout one probe goes through and closes it.
	e.stack.Start(t, "order")
	time.Sleep(openFor + 50*time.Millisecond)
	if s := orderBreaker.State(); s != breaker.StateHalfOpen {
		t.Fatalf("order breaker %s after its open timeout, want half-open", s)
	}
	if _, err := orders.Get(e.ada, seed.OrderID(0)); err != nil {
		t.Fatalf("probe: %v", err)
	}
	e.rec.one(t)
	if s := orderBreaker.State(); s != breaker.StateClosed {
		t.Errorf("order breaker %s after a good probe, want closed", s)
	}
	if n := changes.Load(); n != 3 { // closed>open>half-open>closed
		t.Errorf("%d state changes, want 3", n)
	}
}

func TestSlowServiceTimesOut(t *testing.T) {
	var hits atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer slow.Close()
	set, err := upstream.New(withDefaults(upstream.Config{
		UserURL: slow.URL, OrderURL: slow.URL, ProductURL: slow.URL,
		CallTimeout: 50 * time.Millisecond,
		Breaker:     breaker.Settings{ConsecutiveFailures: 100},
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer set.CloseIdleConnections()
	calls := map[string]func(ctx context.Context) error{
		"Users.Get": func(ctx context.Context) error { _, err := set.Users.Get(ctx, seed.UserID(1)); return err },
		"Products.Search": func(ctx context.Context) error {
			_, err := set.Products.Search(ctx, upstream.ProductQuery{})
			return err
		},
		"Orders.Stats": func(ctx context.Context) error { _, err := set.Orders.Stats(ctx); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call(context.Background())
		wantCode(t, err, apperr.Timeout)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v with a 50ms call timeout", name, d)
		}

		// A caller who gives up is not a timeout, nor a failure of the service.
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Millisecond, cancel)
		err = call(ctx)
		if !errors.Is(err, context.Canceled) || apperr.Is(err, apperr.Timeout) || apperr.Is(err, apperr.Unavailable) {
			t.Errorf("%s cancelled: %v", name, err)
		}
	}
	if n := hits.Load(); n != 6 {
		t.Errorf("%d requests reached the server, want 6", n)
	}
}

func TestTimeoutsTripTheBreakerButCancellationsDoNot(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()
	set, err := upstream.New(withDefaults(upstream.Config{
		UserURL: slow.URL, OrderURL: slow.URL, ProductURL: slow.URL,
		CallTimeout: 20 * time.Millisecond,
		Breaker:     breaker.Settings{ConsecutiveFailures: 2, OpenTimeout: time.Hour},
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer set.CloseIdleConnections()
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(5*time.Millisecond, cancel)
		if _, err := set.Products.Get(ctx, seed.ProductID(0)); err == nil {
			t.Fatal("a cancelled call succeeded")
		}
	}
	if s := set.Breakers[2].State(); s != breaker.StateClosed {
		t.Fatalf("product breaker %s after cancellations, want closed", s)
	}
	for range 2 {
		_, err := set.Products.Get(context.Background(), seed.ProductID(0))
		wantCode(t, err, apperr.Timeout)
	}
	if s := set.Breakers[2].State(); s != breaker.StateOpen {
		t.Fatalf("product breaker %s after 2 timeouts, want open", s)
	}
}
