package observe

import "github.com/prometheus/client_golang/prometheus"

// Shedding is what the load shedder (edge.Shedder) tells.
type Shedding interface {
	InFlight() int
	Shed() int
}

// WatchShedding exports the GraphQL requests in flight and those refused
// for it: bff_graphql_requests_in_flight, bff_overload_refusals_total.
func (o *Observer) WatchShedding(s Shedding) {
	if !o.metrics {
		return
	}
	o.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bff_graphql_requests_in_flight",
			Help: "GraphQL requests being served (at most limits.max_in_flight).",
		}, func() float64 { return float64(s.InFlight()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bff_overload_refusals_total",
			Help: "GraphQL requests refused at once because limits.max_in_flight were being served (503 OVERLOADED).",
		}, func() float64 { return float64(s.Shed()) }),
	)
}
