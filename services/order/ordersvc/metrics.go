package ordersvc

import "github.com/prometheus/client_golang/prometheus"

// orderMetrics count what becomes of orders. Their methods do nothing on
// a nil *orderMetrics.
type orderMetrics struct {
	placed     prometheus.Counter
	cancelled  prometheus.Counter
	refused    *prometheus.CounterVec
	reconciled *prometheus.CounterVec
}

func newOrderMetrics(reg prometheus.Registerer) *orderMetrics {
	m := &orderMetrics{
		placed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_placed_total",
			Help: "Orders placed (a replay of an idempotency key is not counted again).",
		}),
		cancelled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orders_cancelled_total",
			Help: "Orders cancelled.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_refused_total",
			Help: "Placements the product service refused, by reason: insufficient_stock or unknown_product.",
		}, []string{"reason"}),
		reconciled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stock_releases_reconciled_total",
			Help: "Owed stock releases the reconciler retried, by result: released or failed.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.placed, m.cancelled, m.refused, m.reconciled)
	for _, reason := range []string{"insufficient_stock", "unknown_product"} {
		m.refused.WithLabelValues(reason)
	}
	for _, result := range []string{"released", "failed"} {
		m.reconciled.WithLabelValues(result)
	}
	return m
}

func (m *orderMetrics) orderPlaced() {
	if m != nil {
		m.placed.Inc()
	}
}

func (m *orderMetrics) orderCancelled() {
	if m != nil {
		m.cancelled.Inc()
	}
}

func (m *orderMetrics) orderRefused(reason string) {
	if m != nil {
		m.refused.WithLabelValues(reason).Inc()
	}
}

func (m *orderMetrics) releaseReconciled(ok bool) {
	if m == nil {
		return
	}
	result := "released"
	if !ok {
		result = "failed"
	}
	m.reconciled.WithLabelValues(result).Inc()
}
