package observe_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/bff/observe"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/telemetry"
)

// The metric families of an Observer.
const (
	durationMetric    = "graphql_server_operation_duration_seconds"
	errorsMetric      = "graphql_server_errors_total"
	refusalsMetric    = "bff_guard_refusals_total"
	apqMetric         = "bff_apq_requests_total"
	rateLimitMetric   = "bff_rate_limit_refusals_total"
	transitionsMetric = "bff_breaker_transitions_total"
	batchMetric       = "bff_loader_batch_size"
	breakerMetric     = "bff_breaker_state"
	sessionsMetric    = "bff_web_sessions"
	jwksFetchMetric   = "bff_jwks_refreshes_total"
	jwksFailMetric    = "bff_jwks_refresh_failures_total"
	cacheHitsMetric   = "bff_product_cache_hits_total"
	cacheMissMetric   = "bff_product_cache_misses_total"
	cacheStaleMetric  = "bff_product_cache_stale_total"
	cacheEvictMetric  = "bff_product_cache_evictions_total"
	cacheEntryMetric  = "bff_product_cache_entries"

	// tracerName is the instrumentation scope of the BFF's own spans.
	tracerName = "github.com/acme/bff-gateway/internal/bff"
)

// allMetrics are every family an Observer may register.
var allMetrics = []string{
	durationMetric, errorsMetric, refusalsMetric, apqMetric, rateLimitMetric, transitionsMetric, batchMetric,
	breakerMetric, sessionsMetric, jwksFetchMetric, jwksFailMetric,
	cacheHitsMetric, cacheMissMetric, cacheStaleMetric, cacheEvictMetric, cacheEntryMetric,
}

// knownOperations are the client's document names in these tests.
var knownOperations = []string{"Dashboard", "Login", "PlaceOrder"}

// newTelemetry returns no-op telemetry (metrics on) whose tracer provider
// records every span in the returned recorder.
func newTelemetry(t *testing.T) (*telemetry.Telemetry, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tel := telemetry.NewNoop("bff-test")
	tel.Tracer = tp
	return tel, rec
}

// newObserver returns an observer of client recording in new telemetry.
func newObserver(t *testing.T, client string) (*observe.Observer, *telemetry.Telemetry, *tracetest.SpanRecorder) {
	t.Helper()
	tel, rec := newTelemetry(t)
	return observe.New(tel, client), tel, rec
}

// opContext returns a context carrying a new request.State and, when op is
// not nil, the guard's operation.
func opContext(t *testing.T, op *guard.Operation) context.Context {
	t.Helper()
	ctx := request.NewContextWithState(t.Context(), request.NewState())
	if op != nil {
		ctx = guard.NewContextWithOperation(ctx, *op)
	}
	return ctx
}

// serve runs one POST /graphql with ctx through h and returns the answer.
func serve(ctx context.Context, h http.Handler) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", http.NoBody))
	return w
}

// noContent is an inner handler that answers 204.
var noContent = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

// addErrors returns an inner handler that records codes in the request's
// State, as the edge's error presenter does.
func addErrors(codes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := request.StateFrom(r.Context())
		for _, c := range codes {
			s.AddError(c)
		}
		w.WriteHeader(http.StatusOK)
	})
}

// gather returns the registry's metric families by name.
func gather(t *testing.T, tel *telemetry.Telemetry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := tel.Registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// series returns the series of the family name, keyed by their labels
// ("name=value,…", sorted by name; "" for none), each with its value
// (counters, gauges) or its sample count (histograms). It fails the test
// unless the family is of type typ; a family with no series gives an
// empty map whatever typ.
func series(t *testing.T, tel *telemetry.Telemetry, name string, typ dto.MetricType) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	mf := gather(t, tel)[name]
	if mf == nil {
		return out
	}
	if mf.GetType() != typ {
		t.Fatalf("%s is a %v, want a %v", name, mf.GetType(), typ)
	}
	for _, m := range mf.GetMetric() {
		key := labelKey(m.GetLabel())
		if _, dup := out[key]; dup {
			t.Fatalf("%s has two series {%s}", name, key)
		}
		switch typ {
		case dto.MetricType_COUNTER:
			out[key] = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			out[key] = m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			out[key] = float64(m.GetHistogram().GetSampleCount())
		default:
			t.Fatalf("%s: unexpected type %v", name, typ)
		}
	}
	return out
}

func labelKey(pairs []*dto.LabelPair) string {
	parts := make([]string, 0, len(pairs))
	for _, p := range pairs {
		parts = append(parts, p.GetName()+"="+p.GetValue())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// wantSeries fails the test unless got is exactly want.
func wantSeries(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	if want == nil {
		want = map[string]float64{}
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s series:\n got %v\nwant %v", name, got, want)
	}
}

// opKey is the label key of an operation's duration series.
func opKey(name, typ, client string) string {
	return "client=" + client + ",graphql_operation_name=" + name + ",graphql_operation_type=" + typ
}

// errKey is the label key of an operation's errors series.
func errKey(name, typ, client, code string) string {
	return "client=" + client + ",code=" + code + ",graphql_operation_name=" + name + ",graphql_operation_type=" + typ
}

// spanNamed returns the one ended span named name.
func spanNamed(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d ended spans named %q, want 1; ended: %q", len(found), name, names)
	}
	return found[0]
}

// lastSpan returns the span ended last.
func lastSpan(t *testing.T, rec *tracetest.SpanRecorder) sdktrace.ReadOnlySpan {
	t.Helper()
	ended := rec.Ended()
	if len(ended) == 0 {
		t.Fatal("no span ended")
	}
	return ended[len(ended)-1]
}

// wantAttributes fails the test unless s has exactly the attributes want.
func wantAttributes(t *testing.T, s sdktrace.ReadOnlySpan, want ...attribute.KeyValue) {
	t.Helper()
	emit := func(kvs []attribute.KeyValue) map[attribute.Key]string {
		m := make(map[attribute.Key]string, len(kvs))
		for _, kv := range kvs {
			m[kv.Key] = kv.Value.Type().String() + " " + kv.Value.String()
		}
		return m
	}
	if got, w := emit(s.Attributes()), emit(want); !maps.Equal(got, w) {
		t.Errorf("span %q attributes:\n got %v\nwant %v", s.Name(), got, w)
	}
}

func TestOperationsLabelsAndSpanName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		client   string
		op       *guard.Operation // nil: the guard measured nothing
		noState  bool             // no request.State in the context
		wantName string
		wantType string
	}{
		{"known query", "web", &guard.Operation{Name: "Dashboard", Type: ast.Query, Cost: 12}, false, "Dashboard", "query"},
		{"known mutation of mobile", "mobile", &guard.Operation{Name: "Login", Type: ast.Mutation}, false, "Login", "mutation"},
		{"unknown name", "web", &guard.Operation{Name: "StealEverything", Type: ast.Mutation}, false, observe.OtherOperation, "mutation"},
		{"known name in another case", "web", &guard.Operation{Name: "dashboard", Type: ast.Query}, false, observe.OtherOperation, "query"},
		{"anonymous operation", "web", &guard.Operation{Type: ast.Subscription}, false, observe.AnonymousOperation, "subscription"},
		{"no operation", "web", nil, false, observe.AnonymousOperation, observe.UnknownType},
		{"no request state", "web", &guard.Operation{Name: "PlaceOrder", Type: ast.Mutation}, true, "PlaceOrder", "mutation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			obs, tel, rec := newObserver(t, c.client)
			calls := 0
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				noContent(w, r)
			})
			ctx := opContext(t, c.op)
			if c.noState {
				ctx = t.Context()
				if c.op != nil {
					ctx = guard.NewContextWithOperation(ctx, *c.op)
				}
			}
			w := serve(ctx, obs.Operations(knownOperations)(inner))
			if calls != 1 || w.Code != http.StatusNoContent {
				t.Fatalf("inner handler ran %d times, answer %d; want once, 204", calls, w.Code)
			}

			wantSeries(t, durationMetric, series(t, tel, durationMetric, dto.MetricType_HISTOGRAM),
				map[string]float64{opKey(c.wantName, c.wantType, c.client): 1})
			wantSeries(t, errorsMetric, series(t, tel, errorsMetric, dto.MetricType_COUNTER), nil)

			s := spanNamed(t, rec, c.wantType+" "+c.wantName)
			wantAttributes(t, s,
				attribute.String("graphql.operation.name", c.wantName),
				attribute.String("graphql.operation.type", c.wantType))
			if st := s.Status(); st.Code != codes.Unset {
				t.Errorf("span status %v %q, want Unset", st.Code, st.Description)
			}
			if ev := s.Events(); len(ev) != 0 {
				t.Errorf("span events %v, want none", ev)
			}
			if n := len(rec.Ended()); n != 1 {
				t.Errorf("%d spans ended, want 1", n)
			}
		})
	}
}

func TestOperationsDurationIsTheHandlers(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	// The inner handler runs for at least a millisecond (on the CPU, not
	// asleep): the duration recorded, in seconds, holds it and is held by
	// the whole request's.
	var inner time.Duration
	busy := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		start := time.Now()
		for time.Since(start) < time.Millisecond {
			runtime.Gosched()
		}
		inner = time.Since(start)
		w.WriteHeader(http.StatusOK)
	})
	start := time.Now()
	serve(opContext(t, &guard.Operation{Name: "Dashboard", Type: ast.Query}), obs.Operations(knownOperations)(busy))
	whole := time.Since(start).Seconds()
	mf := gather(t, tel)[durationMetric]
	if mf == nil || len(mf.GetMetric()) != 1 {
		t.Fatalf("%s: %v, want one series", durationMetric, mf)
	}
	h := mf.GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() < inner.Seconds() || h.GetSampleSum() > whole {
		t.Errorf("duration: %d samples summing %gs; want 1 in [%g, %g]", h.GetSampleCount(), h.GetSampleSum(), inner.Seconds(), whole)
	}
	wantBounds := telemetry.DurationBuckets
	var gotBounds []float64
	for _, b := range h.GetBucket() {
		gotBounds = append(gotBounds, b.GetUpperBound())
	}
	if !slices.Equal(gotBounds, wantBounds) {
		t.Errorf("duration buckets %v, want telemetry.DurationBuckets %v", gotBounds, wantBounds)
	}
}

func TestOperationsUnknownNamesShareOneSeries(t *testing.T) {
	t.Parallel()
	tel := telemetry.NewNoop("bff-test") // no-op tracer: 10,000 spans are not the point
	obs := observe.New(tel, "web")
	h := obs.Operations(knownOperations)(addErrors("FORBIDDEN"))
	const made = 10_000
	for i := range made {
		serve(opContext(t, &guard.Operation{Name: fmt.Sprintf("Made%05d", i), Type: ast.Query}), h)
	}
	serve(opContext(t, &guard.Operation{Name: "Dashboard", Type: ast.Query}), h)

	wantSeries(t, durationMetric, series(t, tel, durationMetric, dto.MetricType_HISTOGRAM), map[string]float64{
		opKey(observe.OtherOperation, "query", "web"): made,
		opKey("Dashboard", "query", "web"):            1,
	})
	wantSeries(t, errorsMetric, series(t, tel, errorsMetric, dto.MetricType_COUNTER), map[string]float64{
		errKey(observe.OtherOperation, "query", "web", "FORBIDDEN"): made,
		errKey("Dashboard", "query", "web", "FORBIDDEN"):            1,
	})
}

func TestOperationsCountsErrorsByCode(t *testing.T) {
	t.Parallel()
	obs, tel, rec := newObserver(t, "web")
	mw := obs.Operations(knownOperations)
	dashboard := &guard.Operation{Name: "Dashboard", Type: ast.Query}

	serve(opContext(t, dashboard), mw(addErrors("NOT_FOUND", "FORBIDDEN", "INTERNAL_SERVER_ERROR", "FORBIDDEN")))
	wantSeries(t, errorsMetric, series(t, tel, errorsMetric, dto.MetricType_COUNTER), map[string]float64{
		errKey("Dashboard", "query", "web", "FORBIDDEN"):             2,
		errKey("Dashboard", "query", "web", "NOT_FOUND"):             1,
		errKey("Dashboard", "query", "web", "INTERNAL_SERVER_ERROR"): 1,
	})
	s := lastSpan(t, rec)
	if s.Name() != "query Dashboard" {
		t.Fatalf("span %q, want query Dashboard", s.Name())
	}
	wantAttributes(t, s,
		attribute.String("graphql.operation.name", "Dashboard"),
		attribute.String("graphql.operation.type", "query"),
		attribute.StringSlice("graphql.error.codes", []string{"FORBIDDEN", "INTERNAL_SERVER_ERROR", "NOT_FOUND"}))
	if st := s.Status(); st.Code != codes.Error || st.Description != "3 error codes" {
		t.Errorf("span status %v %q, want Error %q", st.Code, st.Description, "3 error codes")
	}

	// Counts add up across requests, and an unknown name's errors go to
	// other with its own type.
	serve(opContext(t, dashboard), mw(addErrors("FORBIDDEN")))
	serve(opContext(t, &guard.Operation{Name: "Evil", Type: ast.Mutation}), mw(addErrors("UNAUTHENTICATED")))
	serve(opContext(t, nil), mw(addErrors("GRAPHQL_PARSE_FAILED")))
	serve(opContext(t, dashboard), mw(noContent))
	wantSeries(t, errorsMetric, series(t, tel, errorsMetric, dto.MetricType_COUNTER), map[string]float64{
		errKey("Dashboard", "query", "web", "FORBIDDEN"):                                       3,
		errKey("Dashboard", "query", "web", "NOT_FOUND"):                                       1,
		errKey("Dashboard", "query", "web", "INTERNAL_SERVER_ERROR"):                           1,
		errKey(observe.OtherOperation, "mutation", "web", "UNAUTHENTICATED"):                   1,
		errKey(observe.AnonymousOperation, observe.UnknownType, "web", "GRAPHQL_PARSE_FAILED"): 1,
	})
	wantSeries(t, durationMetric, series(t, tel, durationMetric, dto.MetricType_HISTOGRAM), map[string]float64{
		opKey("Dashboard", "query", "web"):                            3,
		opKey(observe.OtherOperation, "mutation", "web"):              1,
		opKey(observe.AnonymousOperation, observe.UnknownType, "web"): 1,
	})
	ended := rec.Ended()
	if len(ended) != 5 {
		t.Fatalf("%d spans ended, want 5", len(ended))
	}
	wantAttributes(t, ended[2],
		attribute.String("graphql.operation.name", observe.OtherOperation),
		attribute.String("graphql.operation.type", "mutation"),
		attribute.StringSlice("graphql.error.codes", []string{"UNAUTHENTICATED"}))
	if st := ended[2].Status(); st.Code != codes.Error || st.Description != "1 error codes" {
		t.Errorf("span status %v %q, want Error %q", st.Code, st.Description, "1 error codes")
	}
	if st := ended[4].Status(); st.Code != codes.Unset {
		t.Errorf("span of an answer without errors: status %v %q, want Unset", st.Code, st.Description)
	}
}

func TestOperationsReportsStaleProducts(t *testing.T) {
	t.Parallel()
	obs, tel, rec := newObserver(t, "web")
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		request.StateFrom(r.Context()).MarkStaleProducts("prd_b", "prd_a", "prd_b")
		w.WriteHeader(http.StatusOK)
	})
	serve(opContext(t, &guard.Operation{Name: "Dashboard", Type: ast.Query}), obs.Operations(knownOperations)(inner))

	s := spanNamed(t, rec, "query Dashboard")
	ev := s.Events()
	if len(ev) != 1 || ev[0].Name != "stale products served" {
		t.Fatalf("span events %v, want one stale products served", ev)
	}
	if got := ev[0].Attributes; len(got) != 1 || got[0] != attribute.Int("count", 2) {
		t.Errorf("stale products event attributes %v, want count=2", got)
	}
	// Stale products are not errors.
	if st := s.Status(); st.Code != codes.Unset {
		t.Errorf("span status %v %q, want Unset", st.Code, st.Description)
	}
	wantAttributes(t, s,
		attribute.String("graphql.operation.name", "Dashboard"),
		attribute.String("graphql.operation.type", "query"))
	wantSeries(t, errorsMetric, series(t, tel, errorsMetric, dto.MetricType_COUNTER), nil)
}

func TestOperationsSpanWrapsTheHandler(t *testing.T) {
	t.Parallel()
	obs, tel, rec := newObserver(t, "web")
	ctx, parent := tel.Tracer.Tracer("test").Start(opContext(t, &guard.Operation{Name: "Dashboard", Type: ast.Query}), "POST /graphql")

	var inHandler trace.SpanContext
	recording := false
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		inHandler, recording = span.SpanContext(), span.IsRecording()
		_, child := obs.Tracer().Start(r.Context(), "loader.users")
		child.End()
		w.WriteHeader(http.StatusOK)
	})
	serve(ctx, obs.Operations(knownOperations)(inner))
	parent.End()

	op := spanNamed(t, rec, "query Dashboard")
	child := spanNamed(t, rec, "loader.users")
	if op.Parent().SpanID() != parent.SpanContext().SpanID() || op.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("operation span's parent %v, want the request's span %v", op.Parent(), parent.SpanContext())
	}
	if !inHandler.Equal(op.SpanContext()) || !recording {
		t.Errorf("the inner handler saw span %v (recording %v), want the operation's %v, recording", inHandler, recording, op.SpanContext())
	}
	if child.Parent().SpanID() != op.SpanContext().SpanID() {
		t.Errorf("loader span's parent %v, want the operation span %v", child.Parent().SpanID(), op.SpanContext().SpanID())
	}
	if op.StartTime().After(child.StartTime()) || op.EndTime().Before(child.EndTime()) {
		t.Errorf("operation span [%v, %v] does not hold the loader span [%v, %v]", op.StartTime(), op.EndTime(), child.StartTime(), child.EndTime())
	}
	for _, s := range []sdktrace.ReadOnlySpan{op, child} {
		if got := s.InstrumentationScope().Name; got != tracerName {
			t.Errorf("span %q of tracer %q, want %q", s.Name(), got, tracerName)
		}
	}
	wantAttributes(t, op,
		attribute.String("graphql.operation.name", "Dashboard"),
		attribute.String("graphql.operation.type", "query"))
}

func TestOperationsConcurrently(t *testing.T) {
	t.Parallel()
	obs, tel, rec := newObserver(t, "mobile")
	h := obs.Operations(knownOperations)(addErrors("FORBIDDEN", "NOT_FOUND"))
	const workers, each = 16, 25
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range each {
				name := "Dashboard"
				if i%2 == 1 {
					name = fmt.Sprintf("Made%d", i)
				}
				serve(opContext(t, &guard.Operation{Name: name, Type: ast.Query}), h)
			}
		})
	}
	wg.Wait()
	half := float64(workers / 2 * each)
	wantSeries(t, durationMetric, series(t, tel, durationMetric, dto.MetricType_HISTOGRAM), map[string]float64{
		opKey("Dashboard", "query", "mobile"):            half,
		opKey(observe.OtherOperation, "query", "mobile"): half,
	})
	wantSeries(t, errorsMetric, series(t, tel, errorsMetric, dto.MetricType_COUNTER), map[string]float64{
		errKey("Dashboard", "query", "mobile", "FORBIDDEN"):            half,
		errKey("Dashboard", "query", "mobile", "NOT_FOUND"):            half,
		errKey(observe.OtherOperation, "query", "mobile", "FORBIDDEN"): half,
		errKey(observe.OtherOperation, "query", "mobile", "NOT_FOUND"): half,
	})
	if n := len(rec.Ended()); n != workers*each {
		t.Errorf("%d spans ended, want %d", n, workers*each)
	}
}

func TestNoRawClientTextInLabelsOrSpans(t *testing.T) {
	t.Parallel()
	obs, tel, rec := newObserver(t, "web")
	h := obs.Operations(knownOperations)(addErrors("FORBIDDEN"))
	hostile := []string{
		"alice@example.com",
		"Dashboard ",
		" Dashboard",
		"Dashboard\n",
		"DASHBOARD",
		"Login_alice@example.com",
		"DROP TABLE users;--",
		"Désolé",
		strings.Repeat("A", 4096),
		observe.OtherOperation + "x",
	}
	types := []ast.Operation{ast.Query, ast.Mutation, ast.Subscription}
	for i, name := range hostile {
		serve(opContext(t, &guard.Operation{Name: name, Type: types[i%len(types)]}), h)
	}
	for _, name := range knownOperations {
		serve(opContext(t, &guard.Operation{Name: name, Type: ast.Mutation}), h)
	}
	serve(opContext(t, &guard.Operation{Type: ast.Query}), h)
	serve(opContext(t, nil), h)

	allowed := map[string]bool{
		"web": true, "FORBIDDEN": true,
		"query": true, "mutation": true, "subscription": true,
		observe.OtherOperation: true, observe.AnonymousOperation: true, observe.UnknownType: true,
	}
	for _, n := range knownOperations {
		allowed[n] = true
	}
	fams := gather(t, tel)
	for _, name := range []string{durationMetric, errorsMetric} {
		mf := fams[name]
		if mf == nil {
			t.Fatalf("no %s", name)
		}
		values := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				values[l.GetValue()] = true
				if !allowed[l.GetValue()] {
					t.Errorf("%s has label %s=%q, not of a bounded set", name, l.GetName(), l.GetValue())
				}
			}
		}
		// Every hostile name was recorded, as other.
		if !values[observe.OtherOperation] {
			t.Errorf("%s has no %s series", name, observe.OtherOperation)
		}
	}
	wantSeries(t, durationMetric, series(t, tel, durationMetric, dto.MetricType_HISTOGRAM), map[string]float64{
		opKey(observe.OtherOperation, "query", "web"):                 4,
		opKey(observe.OtherOperation, "mutation", "web"):              3,
		opKey(observe.OtherOperation, "subscription", "web"):          3,
		opKey("Dashboard", "mutation", "web"):                         1,
		opKey("Login", "mutation", "web"):                             1,
		opKey("PlaceOrder", "mutation", "web"):                        1,
		opKey(observe.AnonymousOperation, "query", "web"):             1,
		opKey(observe.AnonymousOperation, observe.UnknownType, "web"): 1,
	})
	// Nothing of the client's text anywhere: no label of any family, no
	// span name nor attribute.
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if slices.Contains(hostile, l.GetValue()) || strings.Contains(l.GetValue(), "@") {
					t.Errorf("%s has label %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	for _, s := range rec.Ended() {
		texts := []string{s.Name()}
		for _, kv := range s.Attributes() {
			texts = append(texts, kv.Value.String())
		}
		for _, text := range texts {
			for _, h := range hostile {
				if strings.Contains(text, strings.TrimSpace(h)) && !slices.Contains(knownOperations, strings.TrimSpace(h)) {
					t.Errorf("span %q carries the client's %q", s.Name(), h)
				}
			}
			if strings.Contains(text, "@") || strings.Contains(text, "\n") {
				t.Errorf("span %q carries client text %q", s.Name(), text)
			}
		}
	}
}

func TestNewPreinitialisesBoundedSets(t *testing.T) {
	t.Parallel()
	_, tel, _ := newObserver(t, "web")
	wantSeries(t, rateLimitMetric, series(t, tel, rateLimitMetric, dto.MetricType_COUNTER), map[string]float64{
		"kind=address": 0, "kind=operation": 0, "kind=login": 0,
	})
	wantSeries(t, apqMetric, series(t, tel, apqMetric, dto.MetricType_COUNTER), map[string]float64{
		"outcome=" + guard.APQHit: 0, "outcome=" + guard.APQMiss: 0, "outcome=" + guard.APQRegistered: 0,
	})
	for _, name := range []string{durationMetric, errorsMetric, refusalsMetric, transitionsMetric, batchMetric} {
		if mf := gather(t, tel)[name]; mf != nil {
			t.Errorf("%s has series before anything happened: %v", name, mf.GetMetric())
		}
	}
}

func TestHooksCount(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")

	// The parts take them as their hooks.
	_ = guard.Hooks{Refused: obs.GuardRefused, APQ: obs.APQ}
	_ = breaker.Settings{OnStateChange: obs.BreakerChanged}
	_ = loader.Config{OnBatch: obs.LoaderBatch, Tracer: obs.Tracer()}

	obs.GuardRefused("TOO_DEEP")
	obs.GuardRefused("BODY_TOO_LARGE")
	obs.GuardRefused("TOO_DEEP")
	wantSeries(t, refusalsMetric, series(t, tel, refusalsMetric, dto.MetricType_COUNTER), map[string]float64{
		"code=TOO_DEEP": 2, "code=BODY_TOO_LARGE": 1,
	})

	for range 3 {
		obs.APQ(guard.APQHit)
	}
	obs.APQ(guard.APQMiss)
	wantSeries(t, apqMetric, series(t, tel, apqMetric, dto.MetricType_COUNTER), map[string]float64{
		"outcome=hit": 3, "outcome=miss": 1, "outcome=registered": 0,
	})

	login := obs.RateLimited("login")
	login()
	login()
	obs.RateLimited("address")()
	wantSeries(t, rateLimitMetric, series(t, tel, rateLimitMetric, dto.MetricType_COUNTER), map[string]float64{
		"kind=address": 1, "kind=operation": 0, "kind=login": 2,
	})

	obs.BreakerChanged("order", "closed", "open")
	obs.BreakerChanged("order", "open", "half-open")
	obs.BreakerChanged("order", "closed", "open")
	obs.BreakerChanged("product", "closed", "open")
	wantSeries(t, transitionsMetric, series(t, tel, transitionsMetric, dto.MetricType_COUNTER), map[string]float64{
		"from=closed,service=order,to=open":    2,
		"from=open,service=order,to=half-open": 1,
		"from=closed,service=product,to=open":  1,
	})
}

func TestLoaderBatchHistogram(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	obs.LoaderBatch("users", 3)
	obs.LoaderBatch("users", 7)
	obs.LoaderBatch("products", 1)
	obs.LoaderBatch("products", 250)

	wantSeries(t, batchMetric, series(t, tel, batchMetric, dto.MetricType_HISTOGRAM), map[string]float64{
		"loader=users": 2, "loader=products": 2,
	})
	type bucket struct {
		le    float64
		count uint64
	}
	want := map[string]struct {
		sum     float64
		buckets []bucket
	}{
		"users":    {10, []bucket{{1, 0}, {2, 0}, {5, 1}, {10, 2}, {20, 2}, {50, 2}, {100, 2}}},
		"products": {251, []bucket{{1, 1}, {2, 1}, {5, 1}, {10, 1}, {20, 1}, {50, 1}, {100, 1}}},
	}
	for _, m := range gather(t, tel)[batchMetric].GetMetric() {
		loader := m.GetLabel()[0].GetValue()
		h := m.GetHistogram()
		var got []bucket
		for _, b := range h.GetBucket() {
			got = append(got, bucket{b.GetUpperBound(), b.GetCumulativeCount()})
		}
		if w := want[loader]; h.GetSampleSum() != w.sum || !slices.Equal(got, w.buckets) {
			t.Errorf("loader %s: sum %g, buckets %v; want %g, %v", loader, h.GetSampleSum(), got, w.sum, w.buckets)
		}
	}
}

func TestTracerIsTheTelemetrys(t *testing.T) {
	t.Parallel()
	obs, _, rec := newObserver(t, "web")
	_, span := obs.Tracer().Start(t.Context(), "loader.products")
	span.End()
	if got := spanNamed(t, rec, "loader.products").InstrumentationScope().Name; got != tracerName {
		t.Errorf("tracer %q, want %q", got, tracerName)
	}
}

// failingTransport answers every call 500.
type failingTransport struct{}

func (failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusInternalServerError, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// newBreaker returns a breaker named name in front of a failing service,
// opening at the first failure for openFor, that tells obs its changes.
func newBreaker(t *testing.T, obs *observe.Observer, name string, openFor time.Duration) *breaker.Transport {
	t.Helper()
	tr, err := breaker.New(name, breaker.Settings{
		MaxRequests: 1, Interval: time.Hour, OpenTimeout: openFor, ConsecutiveFailures: 1,
		OnStateChange: obs.BreakerChanged,
	}, failingTransport{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// fail sends one call through tr, which fails.
func fail(t *testing.T, tr *breaker.Transport) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+tr.Name()+".invalid/", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("call through the %s breaker: %v", tr.Name(), err)
	}
	_ = resp.Body.Close()
}

func TestWatchBreakers(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	closed := newBreaker(t, obs, "order", time.Hour)
	open := newBreaker(t, obs, "product", time.Hour)
	fail(t, open)
	// Open for a nanosecond: half-open as soon as the clock moves on.
	halfOpen := newBreaker(t, obs, "user", time.Nanosecond)
	fail(t, halfOpen)
	for i := 0; halfOpen.State() != breaker.StateHalfOpen; i++ {
		if i == 1_000_000 {
			t.Fatalf("the user breaker stays %s", halfOpen.State())
		}
		runtime.Gosched()
	}
	if closed.State() != breaker.StateClosed || open.State() != breaker.StateOpen {
		t.Fatalf("breakers %s and %s, want closed and open", closed.State(), open.State())
	}

	obs.WatchBreakers([]*breaker.Transport{closed, open, halfOpen})
	wantSeries(t, breakerMetric, series(t, tel, breakerMetric, dto.MetricType_GAUGE), map[string]float64{
		"service=order": 0, "service=product": 2, "service=user": 1,
	})
	// Read at each scrape.
	fail(t, closed)
	wantSeries(t, breakerMetric, series(t, tel, breakerMetric, dto.MetricType_GAUGE), map[string]float64{
		"service=order": 2, "service=product": 2, "service=user": 1,
	})
	// BreakerChanged as the breakers' OnStateChange, over the four
	// transitions WatchBreakers started at 0 for each breaker.
	want := transitionsAtZero("order", "product", "user")
	want["from=closed,service=order,to=open"] = 1
	want["from=closed,service=product,to=open"] = 1
	want["from=closed,service=user,to=open"] = 1
	want["from=open,service=user,to=half-open"] = 1
	wantSeries(t, transitionsMetric, series(t, tel, transitionsMetric, dto.MetricType_COUNTER), want)
}

// transitionsAtZero returns the transitions series of each breaker at 0.
func transitionsAtZero(services ...string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range services {
		for _, ft := range [][2]string{{"closed", "open"}, {"open", "half-open"}, {"half-open", "closed"}, {"half-open", "open"}} {
			out["from="+ft[0]+",service="+s+",to="+ft[1]] = 0
		}
	}
	return out
}

func TestWatchBreakersStartsTransitionsAtZero(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	obs.WatchBreakers(nil)
	wantSeries(t, transitionsMetric, series(t, tel, transitionsMetric, dto.MetricType_COUNTER), nil)
	wantSeries(t, breakerMetric, series(t, tel, breakerMetric, dto.MetricType_GAUGE), nil)

	obs.WatchBreakers([]*breaker.Transport{newBreaker(t, obs, "order", time.Hour), newBreaker(t, obs, "user", time.Hour)})
	wantSeries(t, transitionsMetric, series(t, tel, transitionsMetric, dto.MetricType_COUNTER), transitionsAtZero("order", "user"))
	wantSeries(t, breakerMetric, series(t, tel, breakerMetric, dto.MetricType_GAUGE), map[string]float64{
		"service=order": 0, "service=user": 0,
	})
}

func TestWatchCache(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	var mu sync.Mutex
	current := map[string]cache.Stats{
		"products": {Hits: 11, Misses: 12, Stale: 13, Evictions: 14, Entries: 15},
		"lists":    {Hits: 21, Misses: 22, Stale: 23, Evictions: 24, Entries: 25},
	}
	obs.WatchCache(func() map[string]cache.Stats {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(current)
	})
	check := func(want map[string]cache.Stats) {
		t.Helper()
		fields := []struct {
			metric string
			typ    dto.MetricType
			value  func(cache.Stats) float64
		}{
			{cacheHitsMetric, dto.MetricType_COUNTER, func(s cache.Stats) float64 { return float64(s.Hits) }},
			{cacheMissMetric, dto.MetricType_COUNTER, func(s cache.Stats) float64 { return float64(s.Misses) }},
			{cacheStaleMetric, dto.MetricType_COUNTER, func(s cache.Stats) float64 { return float64(s.Stale) }},
			{cacheEvictMetric, dto.MetricType_COUNTER, func(s cache.Stats) float64 { return float64(s.Evictions) }},
			{cacheEntryMetric, dto.MetricType_GAUGE, func(s cache.Stats) float64 { return float64(s.Entries) }},
		}
		for _, f := range fields {
			w := map[string]float64{}
			for name, s := range want {
				w["cache="+name] = f.value(s)
			}
			wantSeries(t, f.metric, series(t, tel, f.metric, f.typ), w)
		}
	}
	check(current)

	mu.Lock()
	current = map[string]cache.Stats{"products": {Hits: 100, Misses: 12, Stale: 13, Evictions: 14, Entries: 3}}
	want := maps.Clone(current)
	mu.Unlock()
	check(want)
}

func TestWatchSessions(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	var n atomic.Int64
	obs.WatchSessions(func() int { return int(n.Load()) })
	wantSeries(t, sessionsMetric, series(t, tel, sessionsMetric, dto.MetricType_GAUGE), map[string]float64{"": 0})
	n.Store(7)
	wantSeries(t, sessionsMetric, series(t, tel, sessionsMetric, dto.MetricType_GAUGE), map[string]float64{"": 7})
}

// roundTripperFunc is an http.RoundTripper of a function.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestWatchJWKS(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	var calls atomic.Int32
	// The user service answers an empty key set once, then fails.
	jwks := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"keys":[]}`)), Request: r}, nil
		}
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	keys := auth.NewRemoteKeys(auth.RemoteKeysConfig{
		URL:           "http://user.invalid" + auth.JWKSPath,
		MinRefreshGap: time.Nanosecond, // every unknown kid refetches
		HTTPClient:    &http.Client{Transport: jwks},
	})
	obs.WatchJWKS(keys)
	want := func(fetches, failures float64) {
		t.Helper()
		if keys.Fetches() != int(fetches) || keys.Failures() != int(failures) {
			t.Fatalf("the key set was fetched %d times, %d failed; the test wants %g, %g", keys.Fetches(), keys.Failures(), fetches, failures)
		}
		wantSeries(t, jwksFetchMetric, series(t, tel, jwksFetchMetric, dto.MetricType_COUNTER), map[string]float64{"": fetches})
		wantSeries(t, jwksFailMetric, series(t, tel, jwksFailMetric, dto.MetricType_COUNTER), map[string]float64{"": failures})
	}
	want(0, 0)
	if _, err := keys.VerificationKey(t.Context(), "k1"); !errors.Is(err, auth.ErrUnknownKey) {
		t.Fatalf("first lookup: %v, want ErrUnknownKey", err)
	}
	want(1, 0)
	if _, err := keys.VerificationKey(t.Context(), "k1"); err == nil {
		t.Fatal("second lookup: no error, want the failed fetch's")
	}
	want(2, 1)
}

func TestMetricsOff(t *testing.T) {
	t.Parallel()
	tel, rec := newTelemetry(t)
	tel.Metrics = false
	familyNames := func() []string { return slices.Sorted(maps.Keys(gather(t, tel))) }
	before := familyNames()

	obs := observe.New(tel, "web")
	_ = observe.New(tel, "web") // a second one registers nothing either: no panic
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := request.StateFrom(r.Context())
		s.AddError("FORBIDDEN")
		s.MarkStaleProducts("prd_a")
		w.WriteHeader(http.StatusOK)
	})
	mw := obs.Operations(knownOperations)
	serve(opContext(t, &guard.Operation{Name: "Dashboard", Type: ast.Query}), mw(inner))
	serve(opContext(t, &guard.Operation{Name: "Made", Type: ast.Mutation}), mw(inner))
	serve(opContext(t, nil), mw(inner))
	obs.GuardRefused("TOO_DEEP")
	obs.APQ(guard.APQHit)
	obs.RateLimited("login")()
	obs.RateLimited("address")()
	obs.BreakerChanged("order", "closed", "open")
	obs.LoaderBatch("users", 3)
	br := newBreaker(t, obs, "order", time.Hour)
	fail(t, br)
	obs.WatchBreakers([]*breaker.Transport{br})
	obs.WatchCache(func() map[string]cache.Stats {
		t.Error("cache stats read with metrics off")
		return nil
	})
	obs.WatchSessions(func() int {
		t.Error("sessions counted with metrics off")
		return 0
	})
	obs.WatchJWKS(auth.NewRemoteKeys(auth.RemoteKeysConfig{URL: "http://user.invalid" + auth.JWKSPath}))

	if after := familyNames(); !slices.Equal(after, before) {
		t.Errorf("metric families with metrics off:\n got %q\nwant %q (NewNoop's alone)", after, before)
	}
	// Nothing registered, not even empty: each name is still free.
	for _, name := range allMetrics {
		if err := tel.Registry.Register(prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "probe"})); err != nil {
			t.Errorf("%s was registered with metrics off: %v", name, err)
		}
	}

	// The spans are still made, whole.
	s := spanNamed(t, rec, "query Dashboard")
	wantAttributes(t, s,
		attribute.String("graphql.operation.name", "Dashboard"),
		attribute.String("graphql.operation.type", "query"),
		attribute.StringSlice("graphql.error.codes", []string{"FORBIDDEN"}))
	if st := s.Status(); st.Code != codes.Error {
		t.Errorf("span status %v, want Error", st.Code)
	}
	if ev := s.Events(); len(ev) != 1 || ev[0].Name != "stale products served" {
		t.Errorf("span events %v, want stale products served", ev)
	}
	spanNamed(t, rec, "mutation other")
	spanNamed(t, rec, "unknown anonymous")
}

// TestOperationsEndsSpanWhenHandlerPanics: a panic below the middleware
// (net/http's ErrAbortHandler among them) still ends the operation's span,
// with an error status, and counts the operation, then goes on up.
func TestOperationsEndsSpanWhenHandlerPanics(t *testing.T) {
	t.Parallel()
	obs, tel, rec := newObserver(t, "web")
	h := obs.Operations(knownOperations)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		serve(opContext(t, &guard.Operation{Name: "Dashboard", Type: ast.Query}), h)
	}()
	if err, _ := recovered.(error); !errors.Is(err, http.ErrAbortHandler) {
		t.Errorf("the panic that went on up was %v, want http.ErrAbortHandler", recovered)
	}
	ended := rec.Ended()
	if len(ended) != 1 || ended[0].Name() != "query Dashboard" || ended[0].Status().Code != codes.Error {
		t.Fatalf("ended spans %v, want query Dashboard with an error status", ended)
	}
	wantSeries(t, "graphql_server_operation_duration_seconds",
		series(t, tel, "graphql_server_operation_duration_seconds", dto.MetricType_HISTOGRAM),
		map[string]float64{opKey("Dashboard", "query", "web"): 1})
}
