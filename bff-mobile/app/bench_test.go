package app_test

import (
	"testing"

	"github.com/acme/bff-gateway/bff-mobile/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/telemetry"
	"github.com/acme/bff-gateway/services/servicetest"
)

// benchmarkHome runs the Home document through the whole mobile BFF
// against the services over loopback HTTP, with the default data set, and
// reports the upstream requests and the process's CPU time per operation
// alongside ns/op and allocs/op. A nil tel is the default: metrics on, no
// tracing.
func benchmarkHome(b *testing.B, tel *telemetry.Telemetry) {
	env := bfftest.Start(b, bfftest.Options{
		Kind: config.Mobile, Build: app.NewWithDeps, OperationsDir: "../operations",
		Stack: servicetest.StackOptions{Seed: seed.DefaultSizes},
		// The rate limits are off: a benchmark measures throughput, and one
		// client sending back to back would soon spend its address's budget.
		Configure: func(c *config.Config) { c.RateLimit.Enabled = false },
		Telemetry: tel,
	})
	c := signIn(b, env, adaEmail, adaPassword)
	if r := c.Op(b, "Home", nil); len(r.Errors) > 0 { // warm-up: JWKS, product cache
		b.Fatalf("Home: %s", r.Raw)
	}
	env.Counter.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	stop := bfftest.CPUPerOp(b)
	for b.Loop() {
		if r := c.Op(b, "Home", nil); len(r.Errors) > 0 {
			b.Fatalf("Home: %s", r.Raw)
		}
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(env.Counter.Total())/float64(b.N), "upstream/op")
}

func BenchmarkHome(b *testing.B) { benchmarkHome(b, nil) }

// BenchmarkHomeTelemetry is Home with the BFF's telemetry off, with
// metrics (the default), and with metrics and 10 % of traces exported:
// the cost docs/benchmarks.md records.
func BenchmarkHomeTelemetry(b *testing.B) {
	for _, mode := range bfftest.TelemetryModes() {
		b.Run("telemetry="+mode.Name, func(b *testing.B) { benchmarkHome(b, mode.New(b, "bff-mobile")) })
	}
}
