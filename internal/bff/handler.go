package bff

import (
	"context"
	"fmt"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/bff/edge"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/bff/playground"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/websafety"
	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/middleware"
)

// Middleware is an HTTP middleware.
type Middleware = func(http.Handler) http.Handler

// Playground configures the development GraphiQL page
// (internal/bff/playground), served at / and /playground/assets/ when not
// in production.
type Playground struct {
	Title string
	// Headers are filled in the page's header editor (e.g. the dev API key).
	Headers map[string]string
	// Documents are the client's operations by name, each opened in a tab.
	Documents map[string]string
	// Variables are the variables (JSON text) a document's tab starts
	// with, by document name.
	Variables map[string]string
}

// HandlerConfig is what NewHandler needs besides the dependencies: what
// makes one BFF differ from the other.
type HandlerConfig struct {
	Schema graphql.ExecutableSchema
	// BeforeGuard run on /graphql before the guard reads the request:
	// checks that must cost a refused request nothing more (the web BFF's
	// CSRF check; the mobile BFF's API key and bearer token).
	BeforeGuard []Middleware
	// AfterGuard run once the guard has passed the document, before the
	// per-principal rate limit (the web BFF's session; the mobile BFF's
	// time zone).
	AfterGuard []Middleware
	Playground Playground
	// Trusted are the client's own documents, the only ones that run in
	// trusted-documents mode.
	Trusted *guard.Manifest
	// Operations are the names of the client's operations: the metrics
	// record any other name as one value (observe.OtherOperation).
	Operations []string
}

// NewHandler returns the BFF's HTTP handler: /graphql (see package edge
// for the order of its steps: nothing refused before gqlgen makes an
// upstream request), /healthz, /readyz and, in development, the GraphiQL
// playground at /.
func NewHandler(d Deps, hc HandlerConfig) (http.Handler, error) {
	gc := guard.ConfigFrom(d.Config.Limits, d.Config.PersistedQueries)
	if d.Config.TrustedOnly() {
		gc.Trusted = hc.Trusted
	}
	gc.Hooks = guard.Hooks{Refused: d.Observe.GuardRefused, APQ: d.Observe.APQ}
	gc.APQ.Shared = d.APQShared
	g, err := guard.Middleware(gc)
	if err != nil {
		return nil, fmt.Errorf("graphql guard: %w", err)
	}
	// Load shedding first: a request over the bound costs nothing more.
	shedder := edge.NewShedder(d.Config.Limits.InFlight())
	d.Observe.WatchShedding(shedder)
	chain := []Middleware{shedder.Middleware, edge.Begin(d.Config.Timeouts.Request, d.TrustedProxies)}
	rl := d.Config.RateLimit
	if rl.Enabled {
		chain = append(chain, edge.LimitAddresses(d.AddressStore,
			ratelimit.Limit{Rate: rl.RequestsPerSecondPerAddress, Burst: rl.RequestBurstPerAddress},
			edge.OnRefuse(d.Observe.RateLimited("address"))))
	}
	chain = append(chain, hc.BeforeGuard...)
	chain = append(chain, edge.RequestsOnly, g)
	chain = append(chain, hc.AfterGuard...)
	if rl.Enabled {
		chain = append(chain, edge.LimitOperations(d.RateStore,
			ratelimit.Limit{Rate: rl.CostPerSecond, Burst: rl.Burst}, operationCost,
			edge.OnRefuse(d.Observe.RateLimited("operation"))))
	}
	chain = append(chain,
		edge.Answer,
		d.Observe.Operations(hc.Operations),
		loader.Middleware(d.Clients.Users, d.Catalog, loader.Config{
			Wait: d.Config.Loader.Wait, MaxBatch: d.Config.Loader.MaxBatch,
			Tracer: d.Observe.Tracer(), OnBatch: d.Observe.LoaderBatch,
		}),
	)

	mux := http.NewServeMux()
	mux.Handle("/graphql", middleware.Chain(newGraphQLServer(d, hc.Schema), chain...))
	mux.HandleFunc("GET /healthz", httpserver.Healthz)
	mux.HandleFunc("GET /readyz", httpserver.Readyz(d.ready))
	if !d.Config.Production() {
		page := websafety.Playground(playground.Handler(playground.Options{
			Title:     hc.Playground.Title,
			Endpoint:  "/graphql",
			Headers:   hc.Playground.Headers,
			Documents: hc.Playground.Documents,
			Variables: hc.Playground.Variables,
		}))
		mux.Handle("GET /{$}", page)
		mux.Handle("GET "+playground.AssetsPath, page)
	}
	return middleware.Chain(mux,
		d.Telemetry.Server(func(r *http.Request) string { _, pattern := mux.Handler(r); return pattern }),
		middleware.RequestID,
		middleware.AccessLog(d.Logger),
		middleware.Recover,
		websafety.SecurityHeaders,
		websafety.CORS(d.Config.HTTP.CORSOrigins),
	), nil
}

// use adds ext to srv. An extension that intercepts fields is refused:
// the leaf fields that only read their model are marshalled without
// gqlgen's per-field middleware (internal/tools/gqlexec), so it would not
// see them, silently. Such an extension needs that rewrite changed first.
func use(srv *handler.Server, ext graphql.HandlerExtension) {
	if _, ok := ext.(graphql.FieldInterceptor); ok {
		panic(fmt.Sprintf("bff: extension %s intercepts fields, which the leaf fields of the models bypass (internal/tools/gqlexec)", ext.ExtensionName()))
	}
	srv.Use(ext)
}

// queryCache is gqlgen's cache of validated documents, by their text,
// within the guard's bounds for its own cache of parsed documents:
// guard.CachedDocuments of them, none longer than
// guard.MaxCachedDocumentBytes (a longer one is parsed and validated
// every time). gqlgen's default, 1000 documents of any size, let
// documents sent to fill it hold a gigabyte.
type queryCache struct {
	*lru.LRU[*ast.QueryDocument]
}

func newQueryCache() queryCache {
	return queryCache{lru.New[*ast.QueryDocument](guard.CachedDocuments)}
}

// Add remembers doc unless its text, key, is over the bound.
func (c queryCache) Add(ctx context.Context, key string, doc *ast.QueryDocument) {
	if len(key) <= guard.MaxCachedDocumentBytes {
		c.LRU.Add(ctx, key, doc)
	}
}

// operationCost is what an operation spends from its principal's bucket:
// its cost as the guard measured it.
func operationCost(ctx context.Context) int {
	c, _ := guard.CostFromContext(ctx)
	return c
}

// newGraphQLServer returns gqlgen's handler with the transports, caches
// and hooks chosen on purpose: GET and POST (answered through the edge's
// writer), a parsed-document cache, the edge's error presenter and panic
// recovery, introspection in development only, and the stale-data report.
// POST is the edge's (gqlgen's, writing the executor's data without
// re-encoding it).
// Persisted queries are resolved by the guard (internal/bff/guard), before
// anything is parsed, so gqlgen's own APQ extension is not used.
func newGraphQLServer(d Deps, schema graphql.ExecutableSchema) *handler.Server {
	srv := handler.New(schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(edge.POST{})
	srv.SetQueryCache(newQueryCache())
	srv.SetErrorPresenter(edge.Presenter)
	srv.SetRecoverFunc(edge.Recover)
	if d.Config.Production() {
		srv.SetDisableSuggestion(true)
	} else {
		use(srv, extension.Introspection{})
	}
	srv.AroundResponses(edge.ReportStaleData)
	return srv
}
