package bff

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/bff/playground"
	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/websafety"
	"github.com/acme/bff-gateway/internal/gqlerr"
	"github.com/acme/bff-gateway/internal/httpserver"
	"github.com/acme/bff-gateway/internal/middleware"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// Playground configures the development GraphiQL page (internal/bff/playground),
// served at / and /playground/assets/ when not in production.
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

// HandlerConfig is what NewHandler needs besides the dependencies.
type HandlerConfig struct {
	Schema graphql.ExecutableSchema
	// Authenticate puts the caller's principal in the context, or refuses
	// the request.
	Authenticate func(http.Handler) http.Handler
	// Protect runs first on /graphql (the web BFF's CSRF check).
	Protect    []func(http.Handler) http.Handler
	Playground Playground
	// Trusted are the client's own documents, the only ones that run in
	// trusted-documents mode.
	Trusted *guard.Manifest
}

// NewHandler returns the BFF's HTTP handler. On /graphql, in order: the
// request deadline, the client's address and its request limit, the BFF's
// own protections (CSRF
// on the web), the refusal of other methods, request media types and
// unacceptable Accept headers (graphqlRequestsOnly), the GraphQL guard
// (body, persisted and trusted documents, size and cost limits: refused
// before anything is validated), the caller's authentication, the rate
// limit (the operation's cost, per principal), then per-request loaders and
// gqlgen, whose GET and POST transports answer in the negotiated media type
// (see negotiated). Nothing refused before gqlgen makes an upstream request.
func NewHandler(d Deps, hc HandlerConfig) (http.Handler, error) {
	gql := newGraphQLServer(d, hc.Schema)
	guard, err := guard.Middleware(guardConfig(d.Config, hc.Trusted))
	if err != nil {
		return nil, fmt.Errorf("graphql guard: %w", err)
	}
	chain := []func(http.Handler) http.Handler{
		deadline(d.Config.Timeouts.Request),
		clientIP(d.TrustedProxies),
		d.addressLimit(),
	}
	chain = append(chain, hc.Protect...)
	chain = append(chain,
		graphqlRequestsOnly,
		guard,
		hc.Authenticate,
		d.rateLimit(),
		ratelimit.StatusOverride,
		loader.Middleware(d.Clients.Users, d.Catalog, loader.Config{Wait: d.Config.Loader.Wait, MaxBatch: d.Config.Loader.MaxBatch}),
		codeTransportErrors,
	)
	graphqlChain := middleware.Chain(gql, chain...)
	mux := http.NewServeMux()
	mux.Handle("/graphql", graphqlChain)
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
		middleware.RequestID,
		middleware.AccessLog(d.Logger),
		middleware.Recover,
		websafety.SecurityHeaders,
		websafety.CORS(d.Config.HTTP.CORSOrigins),
	), nil
}

// guardConfig maps the configured limits onto the GraphQL guard.
func guardConfig(c config.Config, trusted *guard.Manifest) guard.Config {
	g := guard.DefaultConfig()
	g.MaxBodyBytes = c.Limits.MaxBodyBytes
	g.MaxTokens = c.Limits.MaxTokens
	g.MaxDepth = c.Limits.MaxDepth
	g.MaxAliases = c.Limits.MaxAliases
	g.MaxRootFields = c.Limits.MaxRootFields
	g.MaxDirectives = c.Limits.MaxDirectives
	g.MaxComplexity = c.Limits.MaxComplexity
	g.Batching.Enabled = c.Limits.Batching
	g.Batching.MaxOperations = c.Limits.MaxBatch
	g.APQ.Enabled = c.PersistedQueries.APQ
	g.APQ.MaxEntries = c.PersistedQueries.APQMaxEntries
	if c.TrustedOnly() {
		g.Trusted = trusted
	}
	return g
}

// clientIP records the caller's address (X-Forwarded-For only from a
// trusted proxy) for rate limits and logs.
func clientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := requestctx.NewContextWithClientIP(r.Context(), ratelimit.ClientIP(r, trusted))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

func newGraphQLServer(d Deps, schema graphql.ExecutableSchema) *handler.Server {
	srv := handler.New(schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(negotiated{transport.GET{}})
	srv.AddTransport(negotiated{transport.POST{}})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetErrorPresenter(gqlerr.Presenter)
	srv.SetRecoverFunc(gqlerr.Recover)
	if d.Config.Production() {
		srv.SetDisableSuggestion(true)
	} else {
		srv.Use(extension.Introspection{})
	}
	// Persisted queries are resolved by the guard (internal/bff/guard),
	// before anything is parsed, so gqlgen's own APQ extension is not used.
	srv.AroundResponses(reportStaleData)
	return srv
}

// reportStaleData says in the response's extensions which products were
// served from stale copies because the product service failed.
func reportStaleData(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return resp
	}
	if ids := loader.For(ctx).StaleProducts(); len(ids) > 0 {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["staleData"] = map[string]any{
			"products": ids,
			"reason":   "the product service is unavailable; these products are recent copies",
		}
	}
	return resp
}

// deadline bounds the whole request.
func deadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
