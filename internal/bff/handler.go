package bff

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/gqlerr"
	"github.com/acme/bff-gateway/internal/httpapi"
	"github.com/acme/bff-gateway/internal/loader"
	"github.com/acme/bff-gateway/internal/middleware"
)

// MaxBodyBytes caps a GraphQL request body.
const MaxBodyBytes = 1 << 20

// Playground configures the development GraphiQL page.
type Playground struct {
	Title string
	// Headers are filled in the page's header editor (e.g. the dev API key).
	Headers map[string]string
}

// HandlerConfig is what NewHandler needs besides the dependencies.
type HandlerConfig struct {
	Schema graphql.ExecutableSchema
	// Authenticate puts the caller's principal in the context, or refuses
	// the request.
	Authenticate func(http.Handler) http.Handler
	Playground   Playground
}

// NewHandler returns the BFF's HTTP handler.
func NewHandler(d Deps, hc HandlerConfig) http.Handler {
	gql := newGraphQLServer(d, hc.Schema)
	graphqlChain := middleware.Chain(gql,
		deadline(d.Config.Timeouts.Request),
		limitBody(MaxBodyBytes),
		hc.Authenticate,
		loader.Middleware(d.Clients.Users, d.Catalog, loader.Config{Wait: d.Config.Loader.Wait, MaxBatch: d.Config.Loader.MaxBatch}),
		codeTransportErrors,
	)
	mux := http.NewServeMux()
	mux.Handle("/graphql", graphqlChain)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !d.Ready() {
			httpapi.WriteError(w, r, apperr.New(apperr.Unavailable, "every upstream service's circuit breaker is open"))
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if !d.Config.Production() {
		opts := []playground.GraphiqlConfigOption{playground.WithGraphiqlEnablePluginExplorer(true)}
		if len(hc.Playground.Headers) > 0 {
			opts = append(opts, playground.WithGraphiqlUiHeaders(hc.Playground.Headers))
		}
		mux.Handle("GET /{$}", playground.Handler(hc.Playground.Title, "/graphql", opts...))
	}
	return middleware.Chain(mux,
		middleware.RequestID,
		middleware.AccessLog(d.Logger),
		middleware.Recover,
		securityHeaders,
	)
}

func newGraphQLServer(d Deps, schema graphql.ExecutableSchema) *handler.Server {
	srv := handler.New(schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetErrorPresenter(gqlerr.Presenter)
	srv.SetRecoverFunc(gqlerr.Recover)
	if d.Config.Production() {
		srv.SetDisableSuggestion(true)
	} else {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
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

// limitBody caps the request body; gqlgen's POST transport reads it whole.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				gqlerr.WriteHTTP(w, r, http.StatusRequestEntityTooLarge, gqlerr.CodeBadUserInput, "the request body is too large")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
