// Package app assembles the web BFF: its schema and resolvers over the
// shared BFF runtime, with sessions kept server-side behind a cookie.
package app

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/acme/bff-gateway/bff-web/graph"
	"github.com/acme/bff-gateway/bff-web/graph/generated"
	"github.com/acme/bff-gateway/bff-web/operations"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/gqldocs"
	"github.com/acme/bff-gateway/internal/bff/guard"
	"github.com/acme/bff-gateway/internal/bff/websafety"
)

// New returns the web BFF's handler: sessions kept server-side, in memory
// or, with redis.url, in Redis for every replica.
func New(opts bff.Options) (http.Handler, error) {
	h, _, err := NewWithDeps(opts)
	return h, err
}

// NewWithDeps returns the handler and the dependencies it was built on.
func NewWithDeps(opts bff.Options) (http.Handler, bff.Deps, error) {
	deps, err := bff.NewDeps(opts)
	if err != nil {
		return nil, deps, err
	}
	if deps.SessionCount != nil {
		deps.Observe.WatchSessions(deps.SessionCount)
	}
	sessions := &authn.Sessions{
		Store:    deps.Sessions,
		Verifier: deps.Verifier,
		Tokens:   deps.Clients.Users,
		Cookie:   opts.Config.Auth.SessionCookie,
		Secure:   opts.Config.Auth.SecureCookie,
		Now:      deps.Now,
	}
	schema := generated.NewExecutableSchema(generated.Config{
		Resolvers:  graph.NewResolver(deps),
		Directives: generated.DirectiveRoot{HasRole: authn.HasRole},
	})
	docs, err := gqldocs.Compose(operations.Documents())
	if err != nil {
		return nil, deps, fmt.Errorf("trusted documents: %w", err)
	}
	names, err := gqldocs.OperationNames(docs)
	if err != nil {
		return nil, deps, fmt.Errorf("operations: %w", err)
	}
	h, err := bff.NewHandler(deps, bff.HandlerConfig{
		Schema: schema,
		// A request carrying the session cookie must be one a browser
		// sends only from a page allowed to: checked before anything else
		// is done with it.
		BeforeGuard: []bff.Middleware{websafety.CSRF(opts.Config.Auth.SessionCookie)},
		// The session is looked up only for documents the guard passed.
		AfterGuard: []bff.Middleware{sessions.Middleware},
		Playground: bff.Playground{
			Title:     "bff-web",
			Documents: docs,
			// The development stack's demo account (README), so that the
			// Login tab signs in as it is.
			Variables: map[string]string{"Login": `{"email": "ada@example.com", "password": "ada123"}`},
		},
		Trusted:    guard.NewManifest(docs),
		Operations: names,
	})
	return h, deps, err
}

// Run is the web BFF's main.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return bff.Run(ctx, config.Web, args, getenv, stderr, New)
}
