// Package graph holds the web BFF's resolvers.
package graph

import (
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/contract"
)

// Limits of the web schema's arguments. A page is at most what the
// services answer in one call.
const (
	maxPage        = contract.MaxPageSize
	defaultOrders  = 5
	defaultRecent  = 20
	defaultSearch  = 20
	defaultFeature = 4
	maxSearchLen   = 200
)

// Resolver is the web BFF's dependency container: the clients, the shared
// catalogue, token verification, login limits and the clock of bff.Deps.
type Resolver struct {
	bff.Deps
}

// NewResolver returns the resolvers over the BFF's shared dependencies.
func NewResolver(d bff.Deps) *Resolver {
	return &Resolver{Deps: d}
}
