package observe

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/acme/bff-gateway/internal/bff/upstream"
)

// Upstream counts the retries of the calls to the services and what the
// calls ended in; its methods are upstream.RetrySettings' hooks.
type Upstream struct {
	on      bool
	retries *prometheus.CounterVec
	calls   *prometheus.CounterVec
}

// WatchUpstream exports bff_upstream_retries_total{service,reason} and
// bff_upstream_calls_total{service,outcome} (budget exhaustion is the
// outcome budget_exhausted), every series of each of
// services starting at 0, and returns their hooks. Call it once.
func (o *Observer) WatchUpstream(services []string) *Upstream {
	u := &Upstream{
		on: o.metrics,
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_upstream_retries_total",
			Help: "Calls to a service sent again, by service and reason: connection (no answer, or an answer broken off), status_502, status_503, status_504, status_429 (after its Retry-After), in_progress (a placement's idempotency key still being answered).",
		}, []string{"service", "reason"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_upstream_calls_total",
			Help: "Calls to a service by what they ended in, retries included: ok, retried_ok, failed (no answer, a 5xx or a 429), budget_exhausted, cancelled (by the caller). Calls an open breaker refused are not counted here.",
		}, []string{"service", "outcome"}),
	}
	if !u.on {
		return u
	}
	o.reg.MustRegister(u.retries, u.calls)
	for _, s := range services {
		for _, r := range upstream.RetryReasons {
			u.retries.WithLabelValues(s, r)
		}
		for _, out := range upstream.CallOutcomes {
			u.calls.WithLabelValues(s, out)
		}
	}
	return u
}

// Retried counts a retry (upstream.RetrySettings.OnRetry).
func (u *Upstream) Retried(service, reason string) {
	if u.on {
		u.retries.WithLabelValues(service, reason).Inc()
	}
}

// Call counts a call's outcome (upstream.RetrySettings.OnCall).
func (u *Upstream) Call(service, outcome string) {
	if u.on {
		u.calls.WithLabelValues(service, outcome).Inc()
	}
}
