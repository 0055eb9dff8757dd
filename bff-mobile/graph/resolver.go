// Package graph holds the mobile BFF's resolvers.
package graph

import (
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/catalog"
	"github.com/acme/bff-gateway/internal/clients"
	"github.com/acme/bff-gateway/internal/ratelimit"
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

// Resolver is the mobile BFF's dependency container.
type Resolver struct {
	clients  *clients.Set
	catalog  *catalog.Catalog
	verifier *auth.Verifier
	logins   *ratelimit.LoginLimiter
	now      func() time.Time
}

// NewResolver returns the resolvers over the BFF's shared dependencies.
func NewResolver(d bff.Deps) *Resolver {
	return &Resolver{clients: d.Clients, catalog: d.Catalog, verifier: d.Verifier, logins: d.Logins, now: d.Now}
}
