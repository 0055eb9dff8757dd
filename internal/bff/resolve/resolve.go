// Package resolve is the reads both BFFs' resolvers share: the viewer,
// users and products through the request's loaders (batched, and private
// data only ever with the caller's own credential), the shared catalogue's
// featured products, and orders, with everything a list of them refers to
// prefetched in one batch.
package resolve

import (
	"context"

	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
)

// FeaturedSource lists featured products (catalog.Catalog does, from its
// shared cache).
type FeaturedSource interface {
	Featured(ctx context.Context, limit int) ([]contract.Product, error)
}

// OrderGetter reads one order with the caller's credential
// (upstream.Orders does).
type OrderGetter interface {
	Get(ctx context.Context, id string) (contract.Order, error)
}

// Viewer returns the signed-in user: UNAUTHENTICATED without a session.
func Viewer(ctx context.Context) (*model.User, error) {
	p, err := auth.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	return User(ctx, p.Subject)
}

// User loads a user through the request's loader, with the caller's own
// credential (so a customer can load only themselves).
func User(ctx context.Context, id string) (*model.User, error) {
	u, err := loader.For(ctx).Users.Load(ctx, id)()
	if err != nil {
		return nil, err
	}
	return model.UserFromAPI(*u), nil
}

// Product loads a product of the catalogue; an unknown or malformed id is
// NOT_FOUND.
func Product(ctx context.Context, id string) (*model.Product, error) {
	if !ids.ValidProduct(id) {
		return nil, apperr.New(apperr.NotFound, "product not found")
	}
	p, err := loader.For(ctx).Products.Load(ctx, id)()
	if err != nil {
		return nil, err
	}
	return model.ProductFromAPI(*p), nil
}

// Featured returns n featured products.
func Featured(ctx context.Context, source FeaturedSource, n int) ([]*model.Product, error) {
	list, err := source.Featured(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Product, len(list))
	for i, p := range list {
		out[i] = model.ProductFromAPI(p)
	}
	return out, nil
}

// Orders converts orders and starts loading, in one batch each, the
// products of their items and, when customers is set, their customers.
func Orders(ctx context.Context, list []contract.Order, customers bool) []*model.Order {
	out := make([]*model.Order, len(list))
	var productIDs, userIDs []string
	for i, o := range list {
		out[i] = model.OrderFromAPI(o)
		for _, it := range o.Items {
			productIDs = append(productIDs, it.ProductID)
		}
		userIDs = append(userIDs, o.UserID)
	}
	l := loader.For(ctx)
	l.PrefetchProducts(ctx, productIDs)
	if customers {
		l.PrefetchUsers(ctx, userIDs)
	}
	return out
}

// Order returns one order visible to the caller; anyone else's, an unknown
// or a malformed id is NOT_FOUND.
func Order(ctx context.Context, orders OrderGetter, id string, customer bool) (*model.Order, error) {
	if _, err := auth.RequirePrincipal(ctx); err != nil {
		return nil, err
	}
	if !ids.ValidOrder(id) {
		return nil, apperr.New(apperr.NotFound, "order not found")
	}
	o, err := orders.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return Orders(ctx, []contract.Order{o}, customer)[0], nil
}
