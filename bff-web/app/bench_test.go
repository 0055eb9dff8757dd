package app_test

import (
	"testing"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
)

// benchmarkOp runs one operation through the whole web BFF against the
// services over loopback HTTP, with the default data set, and reports the
// upstream requests per operation alongside ns/op and allocs/op.
func benchmarkOp(b *testing.B, email, password, op string, vars map[string]any) {
	// The rate limits are off: a benchmark measures throughput, and one
	// client sending back to back would soon spend its address's budget.
	env := startWebWith(b, seed.DefaultSizes, func(c *config.Config) { c.RateLimit.Enabled = false })
	c := signIn(b, env, email, password)
	if r := c.Op(b, op, vars); len(r.Errors) > 0 { // warm-up: JWKS, product cache
		b.Fatalf("%s: %s", op, r.Raw)
	}
	env.Counter.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := c.Op(b, op, vars); len(r.Errors) > 0 {
			b.Fatalf("%s: %s", op, r.Raw)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(env.Counter.Total())/float64(b.N), "upstream/op")
}

func BenchmarkDashboard(b *testing.B) {
	benchmarkOp(b, "ada@example.com", "ada123", "Dashboard", nil)
}

func BenchmarkAdminOverview100(b *testing.B) {
	benchmarkOp(b, "admin@example.com", "admin123", "AdminOverview", map[string]any{"recent": 100})
}
