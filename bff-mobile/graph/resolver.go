// Package graph holds the mobile BFF's resolvers.
package graph

import (
	"context"

	"github.com/acme/bff-gateway/bff-mobile/graph/mobilemodel"
	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/resolve"
)

// Limits of the mobile schema's arguments.
const (
	maxRecent       = 20
	defaultRecent   = 3
	maxFeatured     = 20
	defaultFeatured = 6
	maxMyOrders     = 50
	defaultMyOrders = 20
)

// Resolver is the mobile BFF's dependency container: the clients, the shared
// catalogue, token verification, login limits and the clock of bff.Deps.
type Resolver struct {
	bff.Deps
}

// NewResolver returns the resolvers over the BFF's shared dependencies.
func NewResolver(d bff.Deps) *Resolver {
	return &Resolver{Deps: d}
}

// loginResult is the app's view of a sign-in or a refresh.
func loginResult(in authn.SignedIn) *mobilemodel.LoginResult {
	return &mobilemodel.LoginResult{
		Token:            in.Principal.Token,
		ExpiresAt:        in.ExpiresAt,
		RefreshToken:     in.RefreshToken,
		RefreshExpiresAt: in.RefreshExpiresAt,
		User:             model.UserFromAPI(in.User),
	}
}

// summaryRefs is what the operation reads of the order summaries the
// resolver being run lists: a thumbnail, the first item's product.
func summaryRefs(ctx context.Context) resolve.Refs {
	return resolve.Refs{Products: resolve.Selects(ctx, "OrderSummary", "thumbnailUrl"), FirstItemOnly: true}
}
