package observe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/telemetry"
)

// benchDropSpans takes spans and drops them.
type benchDropSpans struct{}

func (benchDropSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (benchDropSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkOperations is the cost of the Operations middleware and of two
// loader batches (what a Dashboard adds to a request) with telemetry off,
// with metrics (the default), and with metrics and 10 % of traces
// sampled into a batching exporter, against the handler alone ("none").
func BenchmarkOperations(b *testing.B) {
	off := telemetry.NewNoop("bench")
	off.Metrics = false
	traced := telemetry.NewNoop("bench")
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))),
		sdktrace.WithBatcher(benchDropSpans{}),
	)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	traced.Tracer = tp
	modes := map[string]*telemetry.Telemetry{"off": off, "metrics": telemetry.NewNoop("bench"), "metrics+traces10pct": traced}

	// One observer per mode, made once: a sub-benchmark's function runs
	// several times, and an observer registers its metrics.
	observers := map[string]*Observer{}
	for name, tel := range modes {
		observers[name] = New(tel, "web")
	}
	var observer *Observer
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if observer != nil {
			for _, loader := range []string{"users", "products"} {
				_, span := observer.Tracer().Start(r.Context(), "loader."+loader)
				observer.LoaderBatch(loader, 3)
				span.End()
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	known := []string{"Dashboard", "Login", "Logout", "PlaceOrder"}
	for _, name := range []string{"none", "off", "metrics", "metrics+traces10pct"} {
		b.Run(name, func(b *testing.B) {
			h := http.Handler(handler)
			observer = observers[name]
			if observer != nil {
				h = observer.Operations(known)(handler)
			}
			ctx := guard.NewContextWithOperation(b.Context(), guard.Operation{Name: "Dashboard", Type: ast.Query})
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequestWithContext(request.NewContextWithState(ctx, request.NewState()), http.MethodPost, "/graphql", http.NoBody)
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
