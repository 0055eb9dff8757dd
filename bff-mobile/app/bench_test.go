package app_test

import (
	"testing"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
)

// BenchmarkHome runs the Home document through the whole mobile BFF against
// the services over loopback HTTP, with the default data set, and reports
// the upstream requests per operation alongside ns/op and allocs/op.
func BenchmarkHome(b *testing.B) {
	// The rate limits are off: a benchmark measures throughput, and one
	// client sending back to back would soon spend its address's budget.
	env := startMobileSeeded(b, nil, seed.DefaultSizes, func(c *config.Config) { c.RateLimit.Enabled = false })
	c := signIn(b, env, adaEmail, adaPassword)
	if r := c.Op(b, "Home", nil); len(r.Errors) > 0 { // warm-up: JWKS, product cache
		b.Fatalf("Home: %s", r.Raw)
	}
	env.Counter.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := c.Op(b, "Home", nil); len(r.Errors) > 0 {
			b.Fatalf("Home: %s", r.Raw)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(env.Counter.Total())/float64(b.N), "upstream/op")
}
