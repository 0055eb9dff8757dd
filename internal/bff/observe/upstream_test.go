package observe_test

import (
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/acme/bff-gateway/internal/bff/upstream"
)

func TestWatchUpstreamStartsEverySeriesAtZeroAndCounts(t *testing.T) {
	t.Parallel()
	obs, tel, _ := newObserver(t, "web")
	u := obs.WatchUpstream([]string{"order", "user"})
	retries, calls := map[string]float64{}, map[string]float64{}
	for _, s := range []string{"order", "user"} {
		for _, r := range upstream.RetryReasons {
			retries["reason="+r+",service="+s] = 0
		}
		for _, o := range upstream.CallOutcomes {
			calls["outcome="+o+",service="+s] = 0
		}
	}
	const (
		retriesMetric = "bff_upstream_retries_total"
		callsMetric   = "bff_upstream_calls_total"
	)
	wantSeries(t, retriesMetric, series(t, tel, retriesMetric, dto.MetricType_COUNTER), retries)
	wantSeries(t, callsMetric, series(t, tel, callsMetric, dto.MetricType_COUNTER), calls)

	u.Retried("order", upstream.RetryStatus503)
	u.Retried("order", upstream.RetryStatus503)
	u.Call("user", upstream.CallBudgetExhausted)
	u.Call("order", upstream.CallRetriedOK)
	retries["reason=status_503,service=order"] = 2
	calls["outcome=budget_exhausted,service=user"] = 1
	calls["outcome=retried_ok,service=order"] = 1
	wantSeries(t, retriesMetric, series(t, tel, retriesMetric, dto.MetricType_COUNTER), retries)
	wantSeries(t, callsMetric, series(t, tel, callsMetric, dto.MetricType_COUNTER), calls)
}
