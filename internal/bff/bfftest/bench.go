package bfftest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/telemetry"
)

// TelemetryMode is one telemetry setting whose cost the benchmarks
// measure (docs/benchmarks.md).
type TelemetryMode struct {
	Name string
	// New returns the BFF's telemetry in this mode.
	New func(tb testing.TB, service string) *telemetry.Telemetry
}

// TelemetryModes are everything off, metrics on and tracing off (the
// default), and metrics on with 10 % of traces exported over OTLP/HTTP to
// a receiver in the process that reads and drops them.
func TelemetryModes() []TelemetryMode {
	return []TelemetryMode{
		{Name: "off", New: func(_ testing.TB, service string) *telemetry.Telemetry {
			tel := telemetry.NewNoop(service)
			tel.Metrics = false
			return tel
		}},
		{Name: "metrics", New: func(_ testing.TB, service string) *telemetry.Telemetry {
			return telemetry.NewNoop(service)
		}},
		{Name: "metrics+traces10pct", New: func(tb testing.TB, service string) *telemetry.Telemetry {
			tb.Helper()
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/x-protobuf")
			}))
			tel, err := telemetry.New(tb.Context(), service, telemetry.Env{
				Endpoint: receiver.URL, Sampler: "parentbased_traceidratio", SamplerArg: "0.1",
			})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() {
				// The test's context is done by now; flush on one of its own.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = tel.Shutdown(ctx)
				receiver.Close()
			})
			return tel
		}},
	}
}

// CPUPerOp starts counting the process's CPU time (user and system); the
// function it returns reports it per operation as cpu-ns/op. The process
// holds the services too: their share is the same in every mode.
func CPUPerOp(b *testing.B) (stop func()) {
	b.Helper()
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
