package telemetry

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestURLTemplate(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", ""},
		{"/", "/"},
		{"/v1/orders", "/v1/orders"},
		{"/v1/orders/ord_abc123", "/v1/orders/{id}"},
		{"/v1/orders/ord_abc123/", "/v1/orders/{id}/"},
		{"/v1/users/usr_0123456789abcdef", "/v1/users/{id}"},
		{"/v1/products/prd_x9", "/v1/products/{id}"},
		{"/v1/users/usr_a1/orders/ord_b2", "/v1/users/{id}/orders/{id}"},
		{"/internal/products/prd_abc/reservations", "/internal/products/{id}/reservations"},
		{"/internal/orders/ord_abc/release", "/internal/orders/{id}/release"},
		{"/v1/products/count", "/v1/products/count"},
		// Any kind of id, wherever it is.
		{"/v1/orders/usr_abc", "/v1/orders/{id}"},
		{"ord_abc", "{id}"},
		{"/ord_abc/v1", "/{id}/v1"},
		// Not ids: kept as they are.
		{"/v1/orders/ord_ABC", "/v1/orders/ord_ABC"},
		{"/v1/orders/ord_", "/v1/orders/ord_"},
		{"/v1/orders/ord", "/v1/orders/ord"},
		{"/v1/orders/ord_abc.json", "/v1/orders/ord_abc.json"},
		{"/v1/orders/ord_a-b", "/v1/orders/ord_a-b"},
		{"/v1/orders/xyz_abc", "/v1/orders/xyz_abc"},
		{"/v1/orders/" + "ord_" + strings.Repeat("a", 33), "/v1/orders/" + "ord_" + strings.Repeat("a", 33)},
		{"/v1/orders/" + "ord_" + strings.Repeat("a", 32), "/v1/orders/{id}"},
		{"/internal/reservations", "/internal/reservations"},
	}
	for _, c := range cases {
		if got := URLTemplate(c.in); got != c.want {
			t.Errorf("URLTemplate(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRouteLabel(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", "unmatched"},
		{"GET /v1/orders/{id}", "/v1/orders/{id}"},
		{"POST /v1/orders", "/v1/orders"},
		{"GET /", "/"},
		{"/graphql", "/graphql"},
		{"/", "/"},
	}
	for _, c := range cases {
		if got := routeLabel(c.in); got != c.want {
			t.Errorf("routeLabel(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A traceparent of the W3C recommendation's example.
const (
	remoteTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	remoteSpanID      = "00f067aa0ba902b7"
	remoteTraceparent = "00-" + remoteTraceID + "-" + remoteSpanID + "-01"
)

func TestServerSpansAndMetrics(t *testing.T) {
	t.Parallel()
	const serverMetric = "http_server_request_duration_seconds"
	cases := []struct {
		name           string
		method, target string
		traceparent    string
		metricsOff     bool
		wantCode       int
		wantSpan       string
		wantSeries     map[string]uint64
	}{
		{
			name: "created, continuing the caller's trace", method: http.MethodPost, target: "/v1/orders", traceparent: remoteTraceparent,
			wantCode: http.StatusCreated, wantSpan: "POST /v1/orders",
			wantSeries: map[string]uint64{"http_request_method=POST,http_response_status_code=201,http_route=/v1/orders": 1},
		},
		{
			name: "route template, not the path", method: http.MethodGet, target: "/v1/orders/ord_abc123",
			wantCode: http.StatusOK, wantSpan: "GET /v1/orders/{id}",
			wantSeries: map[string]uint64{"http_request_method=GET,http_response_status_code=200,http_route=/v1/orders/{id}": 1},
		},
		{
			name: "a handler that writes nothing answers 200", method: http.MethodDelete, target: "/v1/silent",
			wantCode: http.StatusOK, wantSpan: "DELETE /v1/silent",
			wantSeries: map[string]uint64{"http_request_method=DELETE,http_response_status_code=200,http_route=/v1/silent": 1},
		},
		{
			name: "unknown path", method: http.MethodGet, target: "/nowhere/ord_abc",
			wantCode: http.StatusNotFound, wantSpan: "GET unmatched",
			wantSeries: map[string]uint64{"http_request_method=GET,http_response_status_code=404,http_route=unmatched": 1},
		},
		{
			name: "method not allowed", method: http.MethodPut, target: "/v1/orders",
			wantCode: http.StatusMethodNotAllowed, wantSpan: "PUT unmatched",
			wantSeries: map[string]uint64{"http_request_method=PUT,http_response_status_code=405,http_route=unmatched": 1},
		},
		{
			name: "metrics off: the span only", method: http.MethodPost, target: "/v1/orders", traceparent: remoteTraceparent, metricsOff: true,
			wantCode: http.StatusCreated, wantSpan: "POST /v1/orders",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tel, rec := newRecordingTelemetry(t, "svc")
			tel.Metrics = !c.metricsOff
			var inside trace.SpanContext
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/orders", func(w http.ResponseWriter, r *http.Request) {
				inside = trace.SpanContextFromContext(r.Context())
				w.WriteHeader(http.StatusCreated)
			})
			mux.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
				inside = trace.SpanContextFromContext(r.Context())
				_, _ = io.WriteString(w, "{}")
			})
			mux.HandleFunc("DELETE /v1/silent", func(_ http.ResponseWriter, r *http.Request) {
				inside = trace.SpanContextFromContext(r.Context())
			})
			h := tel.Server(func(r *http.Request) string { _, p := mux.Handler(r); return p })(mux)

			req := httptest.NewRequest(c.method, c.target, nil)
			if c.traceparent != "" {
				req.Header.Set("traceparent", c.traceparent)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != c.wantCode {
				t.Errorf("answered %d, want %d", w.Code, c.wantCode)
			}

			if n := len(rec.Ended()); n != 1 {
				t.Errorf("%d spans ended, want 1", n)
			}
			span := spanNamed(t, rec, c.wantSpan)
			if span.SpanKind() != trace.SpanKindServer {
				t.Errorf("span kind %v, want server", span.SpanKind())
			}
			if c.wantCode < 400 && !inside.Equal(span.SpanContext()) {
				t.Errorf("the handler ran in span %v, want the server span %v", inside, span.SpanContext())
			}
			parent := span.Parent()
			if c.traceparent != "" {
				if !parent.IsRemote() || parent.TraceID().String() != remoteTraceID || parent.SpanID().String() != remoteSpanID {
					t.Errorf("parent %s/%s (remote %v), want the traceparent's %s/%s", parent.TraceID(), parent.SpanID(), parent.IsRemote(), remoteTraceID, remoteSpanID)
				}
				if got := span.SpanContext().TraceID().String(); got != remoteTraceID {
					t.Errorf("trace id %s, want the caller's %s", got, remoteTraceID)
				}
			} else if parent.IsValid() {
				t.Errorf("without traceparent the span has parent %v", parent)
			}
			if v, ok := attr(span.Attributes(), "http.response.status_code"); !ok || v.AsInt64() != int64(c.wantCode) {
				t.Errorf("span http.response.status_code %v (set %v), want %d", v.AsInt64(), ok, c.wantCode)
			}

			wantSeries(t, serverMetric, series(t, tel.Registry, serverMetric), c.wantSeries)
		})
	}
}

func TestServerCountsEveryRequest(t *testing.T) {
	t.Parallel()
	tel := NewNoop("svc")
	h := tel.Server(func(*http.Request) string { return "GET /v1/products/{id}" })(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "missing") {
				w.WriteHeader(http.StatusNotFound)
			}
		}))
	for _, p := range []string{"/v1/products/prd_a", "/v1/products/prd_b", "/v1/products/missing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	const name = "http_server_request_duration_seconds"
	wantSeries(t, name, series(t, tel.Registry, name), map[string]uint64{
		"http_request_method=GET,http_response_status_code=200,http_route=/v1/products/{id}": 2,
		"http_request_method=GET,http_response_status_code=404,http_route=/v1/products/{id}": 1,
	})
}

// statusServer answers the status a request asks for in X-Want-Status
// (200 by default), and hands the traceparent of each request it gets.
func statusServer(t *testing.T) (*httptest.Server, <-chan string) {
	t.Helper()
	traceparents := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traceparents <- r.Header.Get("traceparent")
		code := http.StatusOK
		if s := r.Header.Get("X-Want-Status"); s != "" {
			code, _ = strconv.Atoi(s)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "body")
	}))
	t.Cleanup(srv.Close)
	return srv, traceparents
}

func TestClientPropagatesTheTraceAndNamesTheSpan(t *testing.T) {
	t.Parallel()
	tel, rec := newRecordingTelemetry(t, "bff-web")
	srv, traceparents := statusServer(t)
	hc := &http.Client{Transport: tel.Client("order", srv.Client().Transport, nil)}

	ctx, caller := tel.Tracer.Tracer("test").Start(t.Context(), "caller")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/orders/ord_abc123", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	caller.End()

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	span := spanNamed(t, rec, "GET /v1/orders/{id}")
	if span.SpanKind() != trace.SpanKindClient {
		t.Errorf("span kind %v, want client", span.SpanKind())
	}
	if span.Parent().SpanID() != caller.SpanContext().SpanID() || span.SpanContext().TraceID() != caller.SpanContext().TraceID() {
		t.Errorf("client span %v has parent %v, want a child of the caller %v", span.SpanContext(), span.Parent(), caller.SpanContext())
	}
	if v, _ := attr(span.Attributes(), "peer.service"); v.AsString() != "order" {
		t.Errorf("peer.service %q, want order", v.AsString())
	}
	if span.Status().Code == codes.Error {
		t.Errorf("span status %v after a 200", span.Status())
	}

	tp := <-traceparents
	sent := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(t.Context(), propagation.HeaderCarrier{"Traceparent": {tp}}))
	if !sent.IsValid() {
		t.Fatalf("the server got traceparent %q", tp)
	}
	if sent.TraceID() != caller.SpanContext().TraceID() || sent.SpanID() != span.SpanContext().SpanID() || !sent.IsSampled() {
		t.Errorf("traceparent %q: want trace %s, span %s (the client span), sampled", tp, caller.SpanContext().TraceID(), span.SpanContext().SpanID())
	}
}

func TestClientMetricsByStatusClass(t *testing.T) {
	t.Parallel()
	const clientMetric = "http_client_request_duration_seconds"
	srv, _ := statusServer(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	cases := []struct {
		name       string
		method     string
		url        string
		status     int
		metricsOff bool
		wantSeries map[string]uint64
	}{
		{
			name: "2xx", method: http.MethodGet, url: srv.URL + "/v1/orders/ord_abc123", status: http.StatusOK,
			wantSeries: map[string]uint64{"http_request_method=GET,service=order,status_class=2xx,url_template=/v1/orders/{id}": 1},
		},
		{
			name: "201 is 2xx", method: http.MethodPost, url: srv.URL + "/internal/products/prd_x1/reservations", status: http.StatusCreated,
			wantSeries: map[string]uint64{"http_request_method=POST,service=order,status_class=2xx,url_template=/internal/products/{id}/reservations": 1},
		},
		{
			name: "4xx", method: http.MethodGet, url: srv.URL + "/v1/orders/ord_missing", status: http.StatusNotFound,
			wantSeries: map[string]uint64{"http_request_method=GET,service=order,status_class=4xx,url_template=/v1/orders/{id}": 1},
		},
		{
			name: "5xx", method: http.MethodPost, url: srv.URL + "/internal/orders/ord_abc/release", status: http.StatusServiceUnavailable,
			wantSeries: map[string]uint64{"http_request_method=POST,service=order,status_class=5xx,url_template=/internal/orders/{id}/release": 1},
		},
		{
			name: "transport failure", method: http.MethodGet, url: closedURL + "/v1/orders/ord_abc123",
			wantSeries: map[string]uint64{"http_request_method=GET,service=order,status_class=error,url_template=/v1/orders/{id}": 1},
		},
		{
			name: "metrics off", method: http.MethodGet, url: srv.URL + "/v1/orders/ord_abc123", status: http.StatusOK, metricsOff: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tel, rec := newRecordingTelemetry(t, "bff-web")
			base := &http.Transport{}
			t.Cleanup(base.CloseIdleConnections)
			hc := &http.Client{Transport: tel.Client("order", base, nil)}
			// Read on every call: turning metrics off after the client
			// is built still stops them.
			tel.Metrics = !c.metricsOff

			req, err := http.NewRequestWithContext(t.Context(), c.method, c.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.status != 0 {
				req.Header.Set("X-Want-Status", strconv.Itoa(c.status))
			}
			resp, err := hc.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Errorf("status %d, want %d", resp.StatusCode, c.status)
				}
			} else if c.status != 0 {
				t.Fatalf("call failed: %v", err)
			}

			wantSeries(t, clientMetric, series(t, tel.Registry, clientMetric), c.wantSeries)
			// The client was built with metrics on: its refusals' series
			// is there from the start, at 0.
			wantSeries(t, "http_client_breaker_refusals_total", series(t, tel.Registry, "http_client_breaker_refusals_total"), map[string]uint64{"service=order": 0})
			span := spanNamed(t, rec, c.method+" "+URLTemplate(req.URL.Path))
			if failed := span.Status().Code == codes.Error; failed != (c.status == 0 || c.status >= 400) {
				t.Errorf("span status %v for status %d", span.Status(), c.status)
			}
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestClientBreakerRefusals(t *testing.T) {
	t.Parallel()
	errOpen := errors.New("circuit breaker is open")
	errBoom := errors.New("connection reset")
	isOpen := func(err error) bool { return errors.Is(err, errOpen) }
	const refusalEvent = "refused by the circuit breaker"

	cases := []struct {
		name        string
		err         error
		refused     func(error) bool
		metricsOff  bool
		wantRefused map[string]uint64
		wantClient  map[string]uint64
		wantEvent   bool
	}{
		{
			name: "refused", err: errOpen, refused: isOpen, wantEvent: true,
			wantRefused: map[string]uint64{"service=product": 1},
		},
		{
			name: "failed, not refused", err: errBoom, refused: isOpen,
			wantRefused: map[string]uint64{"service=product": 0},
			wantClient:  map[string]uint64{"http_request_method=GET,service=product,status_class=error,url_template=/v1/products/{id}": 1},
		},
		{
			name: "no predicate", err: errOpen, refused: nil,
			wantRefused: map[string]uint64{"service=product": 0},
			wantClient:  map[string]uint64{"http_request_method=GET,service=product,status_class=error,url_template=/v1/products/{id}": 1},
		},
		{
			name: "refused, metrics off", err: errOpen, refused: isOpen, metricsOff: true, wantEvent: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tel, rec := newRecordingTelemetry(t, "bff-web")
			tel.Metrics = !c.metricsOff
			var sent atomic.Int32
			next := roundTripperFunc(func(*http.Request) (*http.Response, error) {
				sent.Add(1)
				return nil, c.err
			})
			hc := &http.Client{Transport: tel.Client("product", next, c.refused)}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://product.invalid/v1/products/prd_abc", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatal("the call succeeded")
			}
			if !errors.Is(err, c.err) {
				t.Errorf("error %v, want %v", err, c.err)
			}
			if sent.Load() != 1 {
				t.Errorf("next transport called %d times", sent.Load())
			}

			wantSeries(t, "http_client_breaker_refusals_total", series(t, tel.Registry, "http_client_breaker_refusals_total"), c.wantRefused)
			wantSeries(t, "http_client_request_duration_seconds", series(t, tel.Registry, "http_client_request_duration_seconds"), c.wantClient)

			span := spanNamed(t, rec, "GET /v1/products/{id}")
			var events []string
			for _, e := range span.Events() {
				events = append(events, e.Name)
			}
			if got := strings.Contains(strings.Join(events, "\n"), refusalEvent); got != c.wantEvent {
				t.Errorf("span events %q: refusal event %v, want %v", events, got, c.wantEvent)
			}
			if span.Status().Code != codes.Error {
				t.Errorf("span status %v, want an error", span.Status())
			}
			if v, _ := attr(span.Attributes(), "peer.service"); v.AsString() != "product" {
				t.Errorf("peer.service %q, want product", v.AsString())
			}
		})
	}
}

type closingTransport struct {
	roundTripperFunc
	closed atomic.Int32
}

func (c *closingTransport) CloseIdleConnections() { c.closed.Add(1) }

func TestClientCloseIdleConnectionsReachesTheBaseTransport(t *testing.T) {
	t.Parallel()
	// otelhttp's transport lacks the method; an http.Client over Client's
	// transport must still close the base transport's idle connections.
	next := &closingTransport{}
	(&http.Client{Transport: NewNoop("svc").Client("order", next, nil)}).CloseIdleConnections()
	if n := next.closed.Load(); n != 1 {
		t.Errorf("the base transport's CloseIdleConnections was called %d times, want 1", n)
	}
	// A base transport without the method: nothing to do, no panic.
	(&http.Client{Transport: NewNoop("svc").Client("order", roundTripperFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("unused")
	}), nil)}).CloseIdleConnections()
}

// TestTraceContextPassesThroughWithoutExporting: a process that exports
// nothing (the no-op tracer) still passes the caller's trace and baggage
// on to the services it calls, so that a trace is whole across a process
// that does not trace; its handlers see the trace (the log lines carry
// it); a call made without one sends none; and the caller's request is
// never changed.
func TestTraceContextPassesThroughWithoutExporting(t *testing.T) {
	t.Parallel()
	tel := NewNoop("bff-web")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	var sent, sentBaggage []string
	base := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.Header.Get("traceparent"))
		sentBaggage = append(sentBaggage, r.Header.Get("baggage"))
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
	})
	client := &http.Client{Transport: tel.Client("order", base, nil)}
	var seen trace.SpanContext
	h := tel.Server(func(*http.Request) string { return "POST /graphql" })(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = trace.SpanContextFromContext(r.Context())
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://order.invalid/v1/orders", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_ = resp.Body.Close()
		if len(req.Header) != 0 {
			t.Errorf("the caller's request was changed: %v", req.Header)
		}
	}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", nil)
	r.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	r.Header.Set("baggage", "tenant=acme")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if len(sent) != 1 || !strings.HasPrefix(sent[0], "00-"+traceID+"-") || sentBaggage[0] != "tenant=acme" {
		t.Errorf("the call to the order service carried traceparent %q, baggage %q; want the caller's trace %s and tenant=acme", sent, sentBaggage, traceID)
	}
	if seen.TraceID().String() != traceID {
		t.Errorf("the handler saw trace %s, want the caller's %s", seen.TraceID(), traceID)
	}

	// No trace context in, none out.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", nil))
	if len(sent) != 2 || sent[1] != "" || sentBaggage[1] != "" || seen.IsValid() {
		t.Errorf("without a caller's trace: sent traceparent %q, baggage %q, handler saw %v", sent, sentBaggage, seen)
	}
}

// TestSpansHoldNoQueryAndNoID: a GraphQL GET carries its document and
// variables in the query string, and a call to a service its ids and a
// user's search; the spans keep the route and the path's template, and
// REDACTED for any query.
func TestSpansHoldNoQueryAndNoID(t *testing.T) {
	t.Parallel()
	tel, rec := newRecordingTelemetry(t, "bff-web")
	base := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
	})
	client := &http.Client{Transport: tel.Client("order", base, nil)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/orders/{id}", func(_ http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet,
			"http://order.invalid/v1/orders/ord_abc123/items?user_id=usr_sc9ncephy7wfwt07&q=ada%40example.com", nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	})
	h := tel.Server(func(r *http.Request) string { _, p := mux.Handler(r); return p })(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet,
		`/v1/orders/ord_abc123?query=%7Bviewer%7Bemail%7D%7D&variables=%7B%22email%22%3A%22ada%40example.com%22%7D`, nil))

	server := spanNamed(t, rec, "GET /v1/orders/{id}")
	for key, want := range map[attribute.Key]string{"url.path": "/v1/orders/{id}", "url.query": Redacted, "http.route": "/v1/orders/{id}"} {
		if v, _ := attr(server.Attributes(), key); v.AsString() != want {
			t.Errorf("server span %s = %q, want %q", key, v.AsString(), want)
		}
	}
	call := spanNamed(t, rec, "GET /v1/orders/{id}/items")
	if v, _ := attr(call.Attributes(), "url.full"); v.AsString() != "http://order.invalid/v1/orders/{id}/items?"+Redacted {
		t.Errorf("client span url.full = %q", v.AsString())
	}
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if v := kv.Value.String(); strings.Contains(v, "ord_") || strings.Contains(v, "usr_") || strings.Contains(v, "ada") || strings.Contains(v, "viewer") {
				t.Errorf("span %q attribute %s = %q", s.Name(), kv.Key, v)
			}
		}
	}
}
