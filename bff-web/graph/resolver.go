// Package graph holds the web BFF's resolvers.
package graph

import (
	"context"

	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/resolve"
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

// orderRefs is what the operation reads of the orders the resolver being
// run lists: their items' products, their customers.
func orderRefs(ctx context.Context) resolve.Refs {
	return resolve.Refs{
		Products:  resolve.Selects(ctx, "OrderItem", "product"),
		Customers: resolve.Selects(ctx, "Order", "customer"),
	}
}

// attachOrder attaches what the operation reads of a mutation's order
// (none when the mutation placed or cancelled nothing).
func attachOrder(ctx context.Context, o *model.Order) {
	if o != nil {
		resolve.Attach(ctx, []*model.Order{o}, orderRefs(ctx))
	}
}
