package telemetry

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/middleware"
)

// DurationBuckets are the histogram buckets of every duration the stack
// measures, in seconds: from half a millisecond (an answer from cache) to
// ten seconds (the longest a BFF request may take).
var DurationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// httpMetrics are the R.E.D. metrics of a process's HTTP servers and
// clients, named after OpenTelemetry's semantic conventions.
type httpMetrics struct {
	server   *prometheus.HistogramVec
	client   *prometheus.HistogramVec
	refusals *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		server: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Help:    "Duration of the HTTP requests this process served, by method, route template and status code.",
			Buckets: DurationBuckets,
		}, []string{"http_request_method", "http_route", "http_response_status_code"}),
		client: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_client_request_duration_seconds",
			Help:    "Duration of the calls this process made to other services, by service, URL template, method and status class (2xx…5xx, or error when no answer came).",
			Buckets: DurationBuckets,
		}, []string{"service", "url_template", "http_request_method", "status_class"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_client_breaker_refusals_total",
			Help: "Calls to other services refused by their circuit breaker without being sent, by service.",
		}, []string{"service"}),
	}
	reg.MustRegister(m.server, m.client, m.refusals)
	return m
}

// Server returns the middleware of an HTTP server: a server span per
// request, continuing the caller's trace (W3C traceparent) and named
// "METHOD route", and http_server_request_duration_seconds. Without a
// tracer that records (the no-op one: nothing exported), it only carries
// the caller's trace context on (see tracing). route returns
// the route template of a request ("GET /v1/orders/{id}": a ServeMux
// pattern), "" when none matches; the method is dropped from it for the
// http_route label, and no route is "unmatched". Put it outermost, so that
// the access log and everything else runs inside the span.
func (t *Telemetry) Server(route func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		measured := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
				redactServerSpan(span, r, routeLabel(route(r)))
			}
			if !t.Metrics {
				next.ServeHTTP(w, r)
				return
			}
			start := time.Now()
			rec := middleware.NewStatusRecorder(w)
			next.ServeHTTP(rec, r)
			t.http.server.WithLabelValues(r.Method, routeLabel(route(r)), strconv.Itoa(rec.Status())).
				Observe(time.Since(start).Seconds())
		})
		if !t.tracing() {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if ctx := t.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)); ctx != r.Context() {
					r = r.WithContext(ctx)
				}
				measured.ServeHTTP(w, r)
			})
		}
		return otelhttp.NewHandler(measured, "",
			otelhttp.WithTracerProvider(t.Tracer),
			otelhttp.WithPropagators(t.Propagator),
			otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
				return r.Method + " " + routeLabel(route(r))
			}),
		)
	}
}

// routeLabel turns a ServeMux pattern into an http.route: the path
// template without the method.
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// Client returns the transport of calls to the service named service,
// sent on through next: a client span per call (its traceparent sent
// along) named "METHOD url-template", and
// http_client_request_duration_seconds. Without a tracer that records, the
// trace context of the call's context is sent along and no span is made
// (see tracing). refused, when not nil, tells a
// breaker's refusal from a failed call: a refusal is counted in
// http_client_breaker_refusals_total and marked on the span, not measured.
// Put it above the breaker.
func (t *Telemetry) Client(service string, next http.RoundTripper, refused func(error) bool) http.RoundTripper {
	measured := &clientTransport{next: next, service: service, m: t.http, refused: refused, on: &t.Metrics}
	if t.Metrics {
		// The refusals' series exists at 0 from the start, so that a rate
		// over it is 0, not missing, until a breaker first opens.
		t.http.refusals.WithLabelValues(service)
	}
	if !t.tracing() {
		return propagatingTransport{measured: measured, propagator: t.Propagator}
	}
	traced := otelhttp.NewTransport(measured,
		otelhttp.WithTracerProvider(t.Tracer),
		otelhttp.WithPropagators(t.Propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + URLTemplate(r.URL.Path)
		}),
	)
	return tracedTransport{RoundTripper: traced, measured: measured}
}

// tracing reports whether t's tracer provider can record a span: any but
// the no-op one, which New keeps when no endpoint is set. Without one,
// otelhttp's instrumentation is left out (it cloned each request and
// computed the attributes of spans and metrics nobody records: a tenth of
// a BFF's CPU per operation), and what the no-op tracer did is done
// directly: the caller's trace context is read from the request and sent
// on with every call made in it, so a trace stays whole across a process
// that does not trace, and the log lines carry its trace_id
// (LogHandler).
func (t *Telemetry) tracing() bool {
	_, off := t.Tracer.(noop.TracerProvider)
	return !off
}

// propagatingTransport sends the trace context of a call's context along
// (a copy of the request with the propagator's headers set), and nothing
// more, when there is one.
type propagatingTransport struct {
	measured   *clientTransport
	propagator propagation.TextMapPropagator
}

func (p propagatingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var carrier lazyCarrier
	p.propagator.Inject(r.Context(), &carrier)
	if carrier.set != nil {
		// The RoundTripper contract: the caller's request is not changed.
		r = r.Clone(r.Context())
		for k, v := range carrier.set {
			r.Header.Set(k, v)
		}
	}
	return p.measured.RoundTrip(r)
}

func (p propagatingTransport) CloseIdleConnections() { p.measured.CloseIdleConnections() }

// lazyCarrier holds what a propagator injects, allocating nothing when
// there is nothing to inject.
type lazyCarrier struct{ set map[string]string }

func (c *lazyCarrier) Get(key string) string { return c.set[key] }

func (c *lazyCarrier) Set(key, value string) {
	if c.set == nil {
		c.set = make(map[string]string, 2)
	}
	c.set[key] = value
}

func (c *lazyCarrier) Keys() []string {
	keys := make([]string, 0, len(c.set))
	for k := range c.set {
		keys = append(keys, k)
	}
	return keys
}

// tracedTransport passes CloseIdleConnections, which otelhttp's
// transport lacks, down to the base transport.
type tracedTransport struct {
	http.RoundTripper
	measured *clientTransport
}

func (c tracedTransport) CloseIdleConnections() { c.measured.CloseIdleConnections() }

type clientTransport struct {
	next    http.RoundTripper
	service string
	m       *httpMetrics
	refused func(error) bool
	on      *bool // the telemetry's Metrics
}

func (c *clientTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.next.RoundTrip(r)
	span := trace.SpanFromContext(r.Context())
	if span.IsRecording() {
		span.SetAttributes(attribute.String("peer.service", c.service), attribute.String("url.full", RedactedURL(r.URL)))
	}
	if err != nil && c.refused != nil && c.refused(err) {
		span.AddEvent("refused by the circuit breaker")
		span.SetStatus(codes.Error, "circuit breaker open")
		if *c.on {
			c.m.refusals.WithLabelValues(c.service).Inc()
		}
		return resp, err
	}
	if *c.on {
		class := "error"
		if err == nil {
			class = strconv.Itoa(resp.StatusCode/100) + "xx"
		}
		c.m.client.WithLabelValues(c.service, URLTemplate(r.URL.Path), r.Method, class).Observe(time.Since(start).Seconds())
	}
	return resp, err
}

// CloseIdleConnections passes on to the next transport.
func (c *clientTransport) CloseIdleConnections() {
	if ci, ok := c.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Redacted stands for what a span must not hold: a query string's
// values, which may be a user's search, ids or a GraphQL request's
// variables.
const Redacted = "REDACTED"

// redactServerSpan replaces what otelhttp recorded of a request's URL on
// its server span: the path by its template, the query by Redacted, and
// sets the route (OpenTelemetry's http.route).
func redactServerSpan(span trace.Span, r *http.Request, route string) {
	span.SetAttributes(attribute.String("url.path", URLTemplate(r.URL.Path)), attribute.String("http.route", route))
	if r.URL.RawQuery != "" {
		span.SetAttributes(attribute.String("url.query", Redacted))
	}
}

// RedactedURL is u as a client span may show it (url.full): scheme, host,
// the path's template, and Redacted for any query.
func RedactedURL(u *url.URL) string {
	out := u.Scheme + "://" + u.Host + URLTemplate(u.Path)
	if u.RawQuery != "" {
		out += "?" + Redacted
	}
	return out
}

// URLTemplate returns path with every segment that is an id of the stack
// (usr_…, prd_…, ord_…) written {id}: a metric label or span name never
// holds a raw id.
func URLTemplate(path string) string {
	segments := strings.Split(path, "/")
	for i, s := range segments {
		if ids.ValidUser(s) || ids.ValidProduct(s) || ids.ValidOrder(s) {
			segments[i] = "{id}"
		}
	}
	return strings.Join(segments, "/")
}
