// Package telemetry is the observability plumbing both sides share: a
// Prometheus registry with the Go and process collectors, the R.E.D.
// metrics and spans of HTTP servers (by route template) and of calls to
// other services (by service and route template), OpenTelemetry tracing
// configured from the standard OTEL_* variables (nothing is exported, at
// the cost of a no-op tracer, when no endpoint is set), log lines that
// carry the trace they were written in, and the admin listener that serves
// /metrics (and, in development, pprof) apart from the public port.
//
// A process makes one Telemetry and hands it to what it builds. Nothing
// here is global: tests run several processes in one, each with its own.
package telemetry

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Telemetry is one process's metrics registry and tracer provider.
type Telemetry struct {
	// Service is the process's name: bff-web, user, ….
	Service string
	// Registry holds every metric the process exports.
	Registry *prometheus.Registry
	// Tracer makes the process's spans.
	Tracer trace.TracerProvider
	// Propagator reads and writes the trace context (W3C traceparent and
	// baggage) of requests.
	Propagator propagation.TextMapPropagator
	// Exporting reports whether spans are sent anywhere.
	Exporting bool
	// Metrics turns the recording of metrics on (New and NewNoop: on);
	// off, only the Go and process collectors remain. It is read when
	// things are built and on every request: set it before either.
	Metrics bool

	http *httpMetrics

	shutdown func(context.Context) error
}

// New returns the telemetry of the process named service: a registry
// with the Go and process collectors, and tracing as env says (see
// NewTracerProvider).
func New(ctx context.Context, service string, env Env) (*Telemetry, error) {
	t := NewNoop(service)
	tp, shutdown, err := NewTracerProvider(ctx, service, env)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if shutdown != nil {
		t.Tracer, t.shutdown, t.Exporting = tp, shutdown, true
	}
	return t, nil
}

// NewNoop returns telemetry that registers metrics but traces nothing.
func NewNoop(service string) *Telemetry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return &Telemetry{
		Service:    service,
		Registry:   reg,
		Metrics:    true,
		http:       newHTTPMetrics(reg),
		Tracer:     noop.NewTracerProvider(),
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// Shutdown sends the spans not yet exported and stops the exporter.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// MustRegister registers collectors, panicking on a programming error (a
// name registered twice), as prometheus.MustRegister does.
func (t *Telemetry) MustRegister(cs ...prometheus.Collector) {
	t.Registry.MustRegister(cs...)
}

// Register registers collectors and returns every error at once.
func (t *Telemetry) Register(cs ...prometheus.Collector) error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, t.Registry.Register(c))
	}
	return errors.Join(errs...)
}
