// Package app assembles the mobile BFF: its schema and resolvers over the
// shared BFF runtime, admitting only requests with a configured API key and
// taking the user from a bearer token.
package app

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/acme/bff-gateway/bff-mobile/graph"
	"github.com/acme/bff-gateway/bff-mobile/graph/generated"
	"github.com/acme/bff-gateway/bff-mobile/operations"
	"github.com/acme/bff-gateway/bff-mobile/timezone"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/gqldocs"
	"github.com/acme/bff-gateway/internal/bff/guard"
)

// New returns the mobile BFF's handler.
func New(opts bff.Options) (http.Handler, error) {
	h, _, err := NewWithDeps(opts)
	return h, err
}

// NewWithDeps returns the handler and the dependencies it was built on.
func NewWithDeps(opts bff.Options) (http.Handler, bff.Deps, error) {
	keys, err := apikey.NewSet(opts.Config.APIKeys)
	if err != nil {
		return nil, bff.Deps{}, fmt.Errorf("api keys: %w", err)
	}
	// The app's documents as written, and as Apollo Client sends them
	// (its manifest): either is trusted, by text or by hash.
	trusted, err := guard.NewManifestWithPersisted(operations.Documents(), operations.Manifest())
	if err != nil {
		return nil, bff.Deps{}, fmt.Errorf("trusted documents: %w", err)
	}
	names, err := gqldocs.OperationNames(operations.Documents())
	if err != nil {
		return nil, bff.Deps{}, fmt.Errorf("operations: %w", err)
	}
	deps, err := bff.NewDeps(opts)
	if err != nil {
		return nil, deps, err
	}
	mobileAuth := authn.MobileAuth(keys, deps.Verifier)
	schema := generated.NewExecutableSchema(generated.Config{
		Resolvers:  graph.NewResolver(deps),
		Directives: generated.DirectiveRoot{HasRole: authn.HasRole},
	})
	h, err := bff.NewHandler(deps, bff.HandlerConfig{
		Schema: schema,
		// The key is checked before anything else, so that a request
		// without one costs nothing more, not even parsing.
		BeforeGuard: []bff.Middleware{mobileAuth},
		AfterGuard:  []bff.Middleware{timezone.Middleware},
		Playground: bff.Playground{
			Title:     "bff-mobile",
			Headers:   map[string]string{authn.APIKeyHeader: apikey.DevKey},
			Documents: operations.Documents(),
			// The development stack's demo account (README), so that the
			// Login tab signs in as it is.
			Variables: map[string]string{"Login": `{"email": "ada@example.com", "password": "ada123"}`},
		},
		Trusted:    trusted,
		Operations: names,
	})
	return h, deps, err
}

// Run is the mobile BFF's main.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return bff.Run(ctx, config.Mobile, args, getenv, stderr, New)
}
