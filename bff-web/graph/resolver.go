// Package graph holds the web BFF's resolvers.
package graph

import (
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/catalog"
	"github.com/acme/bff-gateway/internal/clients"
	"github.com/acme/bff-gateway/internal/ratelimit"
)

// Limits of the web schema's arguments.
const (
	maxPage        = 100
	defaultOrders  = 5
	defaultRecent  = 20
	defaultSearch  = 20
	defaultFeature = 4
	maxSearchLen   = 200
)

// Resolver is the web BFF's dependency container.
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
