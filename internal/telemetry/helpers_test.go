package telemetry

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newRecordingTelemetry returns no-op telemetry whose tracer provider
// records every span (sampled or not) in the returned recorder.
func newRecordingTelemetry(t *testing.T, service string) (*Telemetry, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tel := NewNoop(service)
	tel.Tracer = tp
	return tel, rec
}

// series gathers g and returns the series of the metric family name, keyed
// by their labels written "name=value,…" (sorted by name), each with its
// sample count (histograms) or value (counters, as a whole number). A
// family with no series gives an empty map.
func series(t *testing.T, g prometheus.Gatherer, name string) map[string]uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[labelKey(m.GetLabel())] = sampleCount(t, mf.GetType(), m)
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

func sampleCount(t *testing.T, typ dto.MetricType, m *dto.Metric) uint64 {
	t.Helper()
	switch typ {
	case dto.MetricType_HISTOGRAM:
		return m.GetHistogram().GetSampleCount()
	case dto.MetricType_COUNTER:
		return uint64(m.GetCounter().GetValue())
	default:
		t.Fatalf("metric of type %v", typ)
		return 0
	}
}

// wantSeries fails the test unless got is exactly want.
func wantSeries(t *testing.T, name string, got, want map[string]uint64) {
	t.Helper()
	if want == nil {
		want = map[string]uint64{}
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s series:\n got %v\nwant %v", name, got, want)
	}
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
		t.Fatalf("%d ended spans named %q; ended spans: %q", len(found), name, names)
	}
	return found[0]
}

// attr returns the value of the attribute key of attrs, and whether it is there.
func attr(attrs []attribute.KeyValue, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range attrs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}
