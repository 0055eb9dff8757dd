package upstream_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/servicetest"
)

// loss is how the proxy loses the answer of a request it forwarded and
// that the service answered.
type loss string

const (
	// lossDrop closes the client's connection before any of the answer.
	lossDrop loss = "connection closed before the answer"
	// lossBadGateway answers 502 in its stead, as a proxy whose upstream
	// connection broke would.
	lossBadGateway loss = "502 from a proxy"
	// lossMidAnswer sends the headers and half the body, then resets.
	lossMidAnswer loss = "reset mid-answer"
)

// lossyProxy forwards every request to the service and waits for its
// whole answer; the first request of each kind it is told to lose, it
// loses so. It records the service's answers.
type lossyProxy struct {
	*httptest.Server
	target string

	mu      sync.Mutex
	losses  map[string]loss // by "METHOD path pattern": see lose
	answers []answered
}

type answered struct {
	method, path string
	status       int
	replayed     string
	lost         loss
}

func newLossyProxy(t *testing.T, target string) *lossyProxy {
	t.Helper()
	p := &lossyProxy{target: target, losses: map[string]loss{}}
	upstreamClient := &http.Client{Transport: &http.Transport{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		out.Header = r.Header.Clone()
		resp, err := upstreamClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		p.mu.Lock()
		kind := kindOf(r)
		l := p.losses[kind]
		delete(p.losses, kind)
		p.answers = append(p.answers, answered{r.Method, r.URL.Path, resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), l})
		p.mu.Unlock()
		switch l {
		case lossDrop:
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
			return
		case lossBadGateway:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
			return
		}
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		if l == lossMidAnswer {
			w.Header().Del("Content-Length")
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(answer[:len(answer)/2])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
			return
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(p.Close)
	return p
}

// kindOf is "place" or "cancel" for the mutations, else "read".
func kindOf(r *http.Request) string {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/orders":
		return "place"
	case r.Method == http.MethodPost:
		return "cancel"
	}
	return "read"
}

// lose makes the proxy lose the next answer of kind so.
func (p *lossyProxy) lose(kind string, l loss) {
	p.mu.Lock()
	p.losses[kind] = l
	p.mu.Unlock()
}

// take returns the answers since the last take.
func (p *lossyProxy) take() []answered {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.answers
	p.answers = nil
	return out
}

// lossyEnv is the real services, the order service behind a lossy proxy,
// and the BFF's clients of them with the BFF's retry settings.
type lossyEnv struct {
	proxy *lossyProxy
	set   *upstream.Set
	ta    *tally
	ada   context.Context
	spans *tracetest.SpanRecorder
}

func newLossyEnv(t *testing.T) *lossyEnv {
	t.Helper()
	st := servicetest.StartStack(t, servicetest.StackOptions{})
	proxy := newLossyProxy(t, st.Order.URL)
	ta := &tally{}
	// Telemetry as in the BFF: otelhttp wraps the request body above the
	// retries, which send it again through GetBody.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tel := telemetry.NewNoop("bff-test")
	tel.Tracer = tp
	set, err := upstream.New(withDefaults(upstream.Config{
		UserURL: st.User.URL, OrderURL: proxy.URL, ProductURL: st.Product.URL,
		Retry: ta.retry(nil), Telemetry: tel,
		// A connection per call, so that the BFF's retries, not
		// net/http's own replay on a reused connection, are tested.
		Transport: &http.Transport{DisableKeepAlives: true},
	}))
	if err != nil {
		t.Fatal(err)
	}
	return &lossyEnv{proxy: proxy, set: set, ta: ta, spans: spans,
		ada: principal(st.Token(t, "ada@example.com", "ada123"), adaID, auth.RoleCustomer)}
}

// orderIDs returns every order of ada's, through the API, page by page.
func (e *lossyEnv) orderIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	q := upstream.OrderQuery{UserID: adaID, Limit: 100}
	for {
		page, err := e.set.Orders.List(e.ada, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Orders {
			ids = append(ids, o.ID)
		}
		if page.NextCursor == nil {
			return ids
		}
		q.Cursor = *page.NextCursor
	}
}

func TestAPlacementWhoseAnswerIsLostPlacesOneOrder(t *testing.T) {
	e := newLossyEnv(t)
	req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: seed.ProductID(1), Quantity: 1}}}
	for i, l := range []loss{lossDrop, lossBadGateway, lossMidAnswer} {
		t.Run(string(l), func(t *testing.T) {
			before := e.orderIDs(t)
			e.proxy.take()
			e.ta.take()
			e.proxy.lose("place", l)
			start := time.Now()
			got, err := e.set.Orders.Place(e.ada, "lost-answer-"+string(rune('a'+i)), req)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("placement whose answer was lost: %v", err)
			}
			after := e.orderIDs(t)
			var added []string
			for _, id := range after {
				if !slices.Contains(before, id) {
					added = append(added, id)
				}
			}
			if len(after) != len(before)+1 || !slices.Equal(added, []string{got.ID}) {
				t.Fatalf("ada had %d orders, has %d, new %v; the client got %s", len(before), len(after), added, got.ID)
			}
			answers := e.proxy.take()
			var places []answered
			for _, a := range answers {
				if a.method == http.MethodPost {
					places = append(places, a)
				}
			}
			if len(places) != 2 || places[0].status != http.StatusCreated || places[0].lost != l ||
				places[1].status != http.StatusCreated || places[1].replayed != "true" {
				t.Fatalf("the order service answered %+v, want a 201 lost, then the same replayed", places)
			}
			if reasons, outcomes := e.ta.take(); len(reasons) != 1 || outcomes[upstream.CallRetriedOK] != 1 {
				t.Errorf("reasons %v, outcomes %v", reasons, outcomes)
			}
			// One span for the call, its retry an event on it.
			var retried int
			for _, s := range e.spans.Ended() {
				if s.Name() != "POST /v1/orders" {
					continue
				}
				for _, ev := range s.Events() {
					if ev.Name == "retry" {
						retried++
					}
				}
			}
			if retried != 1 {
				t.Errorf("%d retry events on the placement's spans, want 1", retried)
			}
			e.spans.Reset()
			t.Logf("%s: one order (%s), replayed on the retry, in %v", l, got.ID, took)
		})
	}

	// What the retries mend: without them, the order is placed and the
	// client is told the placement failed.
	t.Run("without retries", func(t *testing.T) {
		set, err := upstream.New(withDefaults(upstream.Config{
			UserURL: e.proxy.URL, OrderURL: e.proxy.URL, ProductURL: e.proxy.URL,
			Retry: upstream.RetrySettings{Attempts: 1}, Transport: &http.Transport{DisableKeepAlives: true},
		}))
		if err != nil {
			t.Fatal(err)
		}
		before := e.orderIDs(t)
		e.proxy.lose("place", lossDrop)
		_, err = set.Orders.Place(e.ada, "no-retries", req)
		wantCode(t, err, apperr.Unavailable)
		if after := e.orderIDs(t); len(after) != len(before)+1 {
			t.Fatalf("%d orders before, %d after", len(before), len(after))
		}
	})
}

func TestACancellationWhoseAnswerIsLostSucceeds(t *testing.T) {
	e := newLossyEnv(t)
	req := contract.PlaceOrderRequest{UserID: adaID, Items: []contract.ReservationItem{{ProductID: seed.ProductID(2), Quantity: 1}}}
	for i, l := range []loss{lossDrop, lossBadGateway, lossMidAnswer} {
		t.Run(string(l), func(t *testing.T) {
			placed, err := e.set.Orders.Place(e.ada, "to-cancel-"+string(rune('a'+i)), req)
			if err != nil {
				t.Fatal(err)
			}
			e.proxy.take()
			e.proxy.lose("cancel", l)
			got, err := e.set.Orders.Cancel(e.ada, placed.ID)
			if err != nil || got.ID != placed.ID || got.Status != contract.StatusCancelled {
				t.Fatalf("cancellation whose answer was lost: %v %+v", err, got)
			}
			var cancels []int
			for _, a := range e.proxy.take() {
				if a.method == http.MethodPost {
					cancels = append(cancels, a.status)
				}
			}
			// The first cancelled it; the retry found it cancelled.
			if !slices.Equal(cancels, []int{http.StatusOK, http.StatusConflict}) {
				t.Errorf("the order service answered the cancellations %v", cancels)
			}
			// Cancelled once: cancelling again, at the first try, is refused.
			_, err = e.set.Orders.Cancel(e.ada, placed.ID)
			wantCode(t, err, apperr.NotCancellable)
		})
	}
}
