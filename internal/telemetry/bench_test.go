package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardExporter takes spans and drops them: the cost of tracing up to
// the wire, without a wire.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// benchModes are the telemetry settings whose cost docs/benchmarks.md
// records: off (no metrics, no-op tracer), metrics (the default), and
// metrics with 10 % of root traces sampled into a batching exporter.
func benchModes(b *testing.B) map[string]*Telemetry {
	off := NewNoop("bench")
	off.Metrics = false
	traced := NewNoop("bench")
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))),
		sdktrace.WithBatcher(discardExporter{}),
	)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	traced.Tracer = tp
	return map[string]*Telemetry{"off": off, "metrics": NewNoop("bench"), "metrics+traces10pct": traced}
}

// BenchmarkServer is the cost of Server's middleware on one request to a
// handler that writes a short answer, against the handler alone ("none").
func BenchmarkServer(b *testing.B) {
	answer := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"data":{}}`) })
	route := func(*http.Request) string { return "POST /graphql" }
	handlers := map[string]http.Handler{"none": answer}
	for name, tel := range benchModes(b) {
		handlers[name] = tel.Server(route)(answer)
	}
	for _, name := range []string{"none", "off", "metrics", "metrics+traces10pct"} {
		h := handlers[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/graphql", strings.NewReader(`{}`))
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkClient is the cost of Client's transport on one call, against
// the transport it wraps alone ("none"), which answers at once.
func BenchmarkClient(b *testing.B) {
	base := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
	})
	transports := map[string]http.RoundTripper{"none": base}
	for name, tel := range benchModes(b) {
		transports[name] = tel.Client("order", base, nil)
	}
	for _, name := range []string{"none", "off", "metrics", "metrics+traces10pct"} {
		rt := transports[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, "http://order.invalid/v1/orders/ord_abc123", nil)
				resp, err := rt.RoundTrip(r)
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
			}
		})
	}
}
