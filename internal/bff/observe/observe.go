// Package observe is what a BFF tells its operators: the R.E.D. metrics of
// its GraphQL operations, and the metrics of the runtime's parts
// (breakers, the product cache, loaders, persisted queries, guard and
// rate-limit refusals, web sessions, the JWKS cache), plus a span for each
// operation. Prometheus stays here: the parts it watches offer hooks and
// counters, not a dependency on it.
package observe

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/breaker"
	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/telemetry"
)

// Label values of bounded sets.
const (
	// OtherOperation stands for every operation name the BFF does not
	// know (not one of its client's documents), so that made-up names add
	// no series.
	OtherOperation = "other"
	// AnonymousOperation is an operation without a name.
	AnonymousOperation = "anonymous"
	// UnknownType is the type of an operation the guard did not measure.
	UnknownType = "unknown"
)

// Observer records a BFF's metrics in its telemetry's registry and starts
// its operations' spans. Its methods may be used as the parts' hooks.
type Observer struct {
	client  string
	metrics bool
	tracer  trace.Tracer
	reg     prometheus.Registerer

	operations  *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	apq         *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	transitions *prometheus.CounterVec
	batches     *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	redis       *prometheus.HistogramVec
	// upstreamCalls and upstreamWaves: per operation, its calls to the
	// services and the rounds of them that waited for one another.
	upstreamCalls *prometheus.HistogramVec
	upstreamWaves *prometheus.HistogramVec
}

// New returns the observer of the BFF whose clients are client ("web" or
// "mobile"), recording in tel (no metric at all when tel.Metrics is off;
// the spans still go to tel.Tracer).
func New(tel *telemetry.Telemetry, client string) *Observer {
	o := &Observer{
		client:  client,
		metrics: tel.Metrics,
		tracer:  tel.Tracer.Tracer("github.com/acme/bff-gateway/internal/bff"),
		reg:     tel.Registry,
		operations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "graphql_server_operation_duration_seconds",
			Help:    "Duration of the GraphQL operations the BFF ran, by operation name (other for a name not among the client's documents), type and client.",
			Buckets: telemetry.DurationBuckets,
		}, []string{"graphql_operation_name", "graphql_operation_type", "client"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "graphql_server_errors_total",
			Help: "Errors in the answers of GraphQL operations, by operation name, type, client and extensions.code.",
		}, []string{"graphql_operation_name", "graphql_operation_type", "client", "code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_guard_refusals_total",
			Help: "Requests the guard refused before anything ran, by extensions.code.",
		}, []string{"code"}),
		apq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_apq_requests_total",
			Help: "Automatic persisted queries, by outcome: hit, miss or registered.",
		}, []string{"outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_rate_limit_refusals_total",
			Help: "Requests refused for their rate, by kind: address (requests per address), operation (cost per principal) or login.",
		}, []string{"kind"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_breaker_transitions_total",
			Help: "Changes of state of the services' circuit breakers, by service and states.",
		}, []string{"service", "from", "to"}),
		batches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bff_loader_batch_size",
			Help:    "Keys per batch the per-request loaders sent upstream, by loader.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100},
		}, []string{"loader"}),
	}
	o.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_shared_store_errors_total",
		Help: "Calls to a store the replicas share (Redis) that failed, by store; the BFF fell back (see the README).",
	}, []string{"store"})
	o.redis = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bff_redis_command_duration_seconds",
		Help:    "Round trips to Redis (a command, a script or a pipeline), by command and outcome (ok or error).",
		Buckets: telemetry.DurationBuckets,
	}, []string{"command", "outcome"})
	o.upstreamCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bff_operation_upstream_requests",
		Help:    "Calls to the services per GraphQL operation (a call and its retries are one; calls an open breaker refused are not counted), by operation name and client.",
		Buckets: []float64{0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20},
	}, []string{"graphql_operation_name", "client"})
	o.upstreamWaves = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bff_operation_upstream_waves",
		Help:    "Rounds of calls to the services per GraphQL operation that had to wait for one another (a call started after another ended is in the next round), by operation name and client.",
		Buckets: []float64{0, 1, 2, 3, 4, 5},
	}, []string{"graphql_operation_name", "client"})
	if o.metrics {
		o.reg.MustRegister(o.operations, o.errors, o.refusals, o.apq, o.rateLimited, o.transitions, o.batches,
			o.upstreamCalls, o.upstreamWaves)
		for _, kind := range []string{"address", "operation", "login"} {
			o.rateLimited.WithLabelValues(kind)
		}
		for _, outcome := range []string{guard.APQHit, guard.APQMiss, guard.APQRegistered} {
			o.apq.WithLabelValues(outcome)
		}
	}
	return o
}

// Operations returns the middleware that runs each operation in a span
// ("query Dashboard": graphql.operation.name and .type) and records its
// duration and its errors by code (from the request.State: it runs inside
// edge.Answer). known are the operation names of the client's documents;
// any other name is recorded as OtherOperation.
func (o *Observer) Operations(known []string) func(http.Handler) http.Handler {
	names := make(map[string]bool, len(known))
	for _, n := range known {
		names[n] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, typ := AnonymousOperation, UnknownType
			if op, ok := guard.OperationFromContext(r.Context()); ok {
				typ = string(op.Type)
				switch {
				case names[op.Name]:
					name = op.Name
				case op.Name != "":
					name = OtherOperation
				}
			}
			ctx, span := o.tracer.Start(r.Context(), typ+" "+name, trace.WithAttributes(
				attribute.String("graphql.operation.name", name),
				attribute.String("graphql.operation.type", typ),
			))
			start := time.Now()
			defer func() {
				// A panic (net/http's ErrAbortHandler among them) still
				// ends the span and counts the operation, then goes on up
				// to the recovery middleware.
				if p := recover(); p != nil {
					span.SetStatus(codes.Error, "panic")
					span.End()
					if o.metrics {
						o.operations.WithLabelValues(name, typ, o.client).Observe(time.Since(start).Seconds())
					}
					panic(p)
				}
			}()
			next.ServeHTTP(w, r.WithContext(ctx))
			elapsed := time.Since(start)
			state := request.StateFrom(ctx)
			errs := state.Errors()
			if stale := state.StaleProducts(); len(stale) > 0 {
				span.AddEvent("stale products served", trace.WithAttributes(attribute.Int("count", len(stale))))
			}
			if len(errs) > 0 {
				codeList := make([]string, 0, len(errs))
				for code := range errs {
					codeList = append(codeList, code)
				}
				slices.Sort(codeList)
				span.SetAttributes(attribute.StringSlice("graphql.error.codes", codeList))
				span.SetStatus(codes.Error, strconv.Itoa(len(errs))+" error codes")
			}
			span.End()
			if !o.metrics {
				return
			}
			o.operations.WithLabelValues(name, typ, o.client).Observe(elapsed.Seconds())
			calls, waves := state.Upstream()
			o.upstreamCalls.WithLabelValues(name, o.client).Observe(float64(calls))
			o.upstreamWaves.WithLabelValues(name, o.client).Observe(float64(waves))
			for code, n := range errs {
				o.errors.WithLabelValues(name, typ, o.client, code).Add(float64(n))
			}
		})
	}
}

// GuardRefused counts a refusal of the guard (guard.Hooks.Refused).
func (o *Observer) GuardRefused(code string) {
	if o.metrics {
		o.refusals.WithLabelValues(code).Inc()
	}
}

// APQ counts an automatic persisted query's outcome (guard.Hooks.APQ).
func (o *Observer) APQ(outcome string) {
	if o.metrics {
		o.apq.WithLabelValues(outcome).Inc()
	}
}

// RateLimited returns the hook that counts the refusals of a rate limit of
// kind "address", "operation" or "login".
func (o *Observer) RateLimited(kind string) func() {
	if !o.metrics {
		return func() {}
	}
	c := o.rateLimited.WithLabelValues(kind)
	return c.Inc
}

// BreakerChanged counts a breaker's change of state
// (breaker.Settings.OnStateChange).
func (o *Observer) BreakerChanged(service, from, to string) {
	if o.metrics {
		o.transitions.WithLabelValues(service, from, to).Inc()
	}
}

// LoaderBatch records the size of a loader's batch (loader.Config.OnBatch).
func (o *Observer) LoaderBatch(loader string, size int) {
	if o.metrics {
		o.batches.WithLabelValues(loader).Observe(float64(size))
	}
}

// WatchSharedStores exports the failures of the stores shared in Redis,
// each store's series starting at 0, and the round trips to Redis. Call
// it once, when the stores are shared.
func (o *Observer) WatchSharedStores(stores []string) {
	if !o.metrics {
		return
	}
	o.reg.MustRegister(o.storeErrors, o.redis)
	for _, s := range stores {
		o.storeErrors.WithLabelValues(s)
	}
}

// SharedStoreFailed counts a failure of a shared store.
func (o *Observer) SharedStoreFailed(store string) {
	if o.metrics {
		o.storeErrors.WithLabelValues(store).Inc()
	}
}

// redisCommands are the commands the stores send, the label's values;
// any other is "other".
var redisCommands = map[string]bool{
	"get": true, "set": true, "setnx": true, "del": true, "mget": true, "evalsha": true,
	"eval": true, "script": true, "ping": true, "pipeline": true,
}

// RedisCommand records a round trip to Redis (redisstore.Client.Observe).
func (o *Observer) RedisCommand(cmd string, d time.Duration, err error) {
	if !o.metrics {
		return
	}
	if !redisCommands[cmd] {
		cmd = "other"
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	o.redis.WithLabelValues(cmd, outcome).Observe(d.Seconds())
}

// Tracer is the tracer of the BFF's own spans (loaders, operations).
func (o *Observer) Tracer() trace.Tracer { return o.tracer }

// breakerTransitions are the changes of state a circuit breaker makes.
var breakerTransitions = [][2]breaker.State{
	{breaker.StateClosed, breaker.StateOpen},
	{breaker.StateOpen, breaker.StateHalfOpen},
	{breaker.StateHalfOpen, breaker.StateClosed},
	{breaker.StateHalfOpen, breaker.StateOpen},
}

// WatchBreakers exports each breaker's state as bff_breaker_state
// (0 closed, 1 half-open, 2 open), and starts its transitions' series at
// 0, so that a rate over them is 0, not missing, before the first.
func (o *Observer) WatchBreakers(breakers []*breaker.Transport) {
	if !o.metrics {
		return
	}
	for _, b := range breakers {
		for _, t := range breakerTransitions {
			o.transitions.WithLabelValues(b.Name(), string(t[0]), string(t[1]))
		}
		o.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "bff_breaker_state",
			Help:        "The state of a service's circuit breaker: 0 closed, 1 half-open, 2 open.",
			ConstLabels: prometheus.Labels{"service": b.Name()},
		}, func() float64 {
			switch b.State() {
			case breaker.StateOpen:
				return 2
			case breaker.StateHalfOpen:
				return 1
			}
			return 0
		}))
	}
}

// WatchCache exports the counts of caches (by name, read once a scrape):
// bff_product_cache_{hits,misses,stale,evictions}_total and
// bff_product_cache_entries, each by cache.
func (o *Observer) WatchCache(stats func() map[string]cache.Stats) {
	if o.metrics {
		o.reg.MustRegister(cacheCollector{stats: stats})
	}
}

// WatchSessions exports the number of web sessions held, as bff_web_sessions.
func (o *Observer) WatchSessions(count func() int) {
	if o.metrics {
		o.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bff_web_sessions",
			Help: "Web sessions held by the session store.",
		}, func() float64 { return float64(count()) }))
	}
}

// WatchJWKS exports the fetches of the user service's keys and the
// failed ones: bff_jwks_refreshes_total, bff_jwks_refresh_failures_total.
func (o *Observer) WatchJWKS(keys *auth.RemoteKeys) {
	if !o.metrics {
		return
	}
	o.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bff_jwks_refreshes_total",
			Help: "Fetches of the user service's signing keys (JWKS).",
		}, func() float64 { return float64(keys.Fetches()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bff_jwks_refresh_failures_total",
			Help: "Fetches of the user service's signing keys that failed (the keys known before are kept).",
		}, func() float64 { return float64(keys.Failures()) }),
	)
}

// cacheCollector reads caches' counts at each scrape.
type cacheCollector struct {
	stats func() map[string]cache.Stats
}

var (
	cacheHits      = prometheus.NewDesc("bff_product_cache_hits_total", "Keys the product cache served fresh, by cache (products, lists).", []string{"cache"}, nil)
	cacheMisses    = prometheus.NewDesc("bff_product_cache_misses_total", "Keys the product cache had to fetch, by cache.", []string{"cache"}, nil)
	cacheStale     = prometheus.NewDesc("bff_product_cache_stale_total", "Keys the product cache served past their freshness because the product service failed, by cache.", []string{"cache"}, nil)
	cacheEvictions = prometheus.NewDesc("bff_product_cache_evictions_total", "Entries the product cache dropped to make room, by cache.", []string{"cache"}, nil)
	cacheEntries   = prometheus.NewDesc("bff_product_cache_entries", "Entries the product cache holds, by cache.", []string{"cache"}, nil)
	cacheShared    = prometheus.NewDesc("bff_product_cache_shared_hits_total", "Keys this replica lacked and found fresh in the cache replicas share (Redis), by cache.", []string{"cache"}, nil)
)

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cacheHits, cacheMisses, cacheStale, cacheEvictions, cacheEntries, cacheShared} {
		ch <- d
	}
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	for name, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(cacheHits, prometheus.CounterValue, float64(s.Hits), name)
		ch <- prometheus.MustNewConstMetric(cacheMisses, prometheus.CounterValue, float64(s.Misses), name)
		ch <- prometheus.MustNewConstMetric(cacheStale, prometheus.CounterValue, float64(s.Stale), name)
		ch <- prometheus.MustNewConstMetric(cacheEvictions, prometheus.CounterValue, float64(s.Evictions), name)
		ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(s.Entries), name)
		ch <- prometheus.MustNewConstMetric(cacheShared, prometheus.CounterValue, float64(s.Shared), name)
	}
}
