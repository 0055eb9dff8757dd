package app_test

import (
	"testing"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/servicetest"
)

// benchmarkOp runs one operation through the whole web BFF against the
// services over loopback HTTP, with the default data set, and reports the
// upstream requests and the process's CPU time per operation alongside
// ns/op and allocs/op. A nil tel is the default: metrics on, no tracing.
func benchmarkOp(b *testing.B, tel *telemetry.Telemetry, email, password, op string, vars map[string]any) {
	env := bfftest.Start(b, bfftest.Options{
		Kind: config.Web, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack: servicetest.StackOptions{Seed: seed.DefaultSizes},
		// The rate limits are off: a benchmark measures throughput, and one
		// client sending back to back would soon spend its address's budget.
		Configure: func(c *config.Config) { c.RateLimit.Enabled = false },
		Telemetry: tel,
	})
	c := signIn(b, env, email, password)
	if r := c.Op(b, op, vars); len(r.Errors) > 0 { // warm-up: JWKS, product cache
		b.Fatalf("%s: %s", op, r.Raw)
	}
	env.Counter.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	stop := bfftest.CPUPerOp(b)
	for b.Loop() {
		if r := c.Op(b, op, vars); len(r.Errors) > 0 {
			b.Fatalf("%s: %s", op, r.Raw)
		}
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(env.Counter.Total())/float64(b.N), "upstream/op")
}

func BenchmarkDashboard(b *testing.B) {
	benchmarkOp(b, nil, "ada@example.com", "ada123", "Dashboard", nil)
}

func BenchmarkAdminOverview100(b *testing.B) {
	benchmarkOp(b, nil, "admin@example.com", "admin123", "AdminOverview", map[string]any{"recent": 100})
}

// BenchmarkDashboardTelemetry is Dashboard with the BFF's telemetry off,
// with metrics (the default), and with metrics and 10 % of traces
// exported: the cost docs/benchmarks.md records.
func BenchmarkDashboardTelemetry(b *testing.B) {
	for _, mode := range bfftest.TelemetryModes() {
		b.Run("telemetry="+mode.Name, func(b *testing.B) {
			benchmarkOp(b, mode.New(b, "bff-web"), "ada@example.com", "ada123", "Dashboard", nil)
		})
	}
}
