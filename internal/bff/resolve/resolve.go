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

// Refs says what of the orders a resolver lists the operation reads: the
// products of their items, their customers. Attach loads only those.
type Refs struct {
	// Products: the products of the orders' items; with FirstItemOnly, of
	// their first items only (a thumbnail's).
	Products, FirstItemOnly bool
	Customers               bool
}

// items returns the items of o whose products refs asks for.
func (refs Refs) items(o *model.Order) []*model.OrderItem {
	if refs.FirstItemOnly && len(o.Items) > 1 {
		return o.Items[:1]
	}
	return o.Items
}

// Orders converts orders and attaches what refs asks of them (Attach).
func Orders(ctx context.Context, list []contract.Order, refs Refs) []*model.Order {
	out := make([]*model.Order, len(list))
	for i, o := range list {
		out[i] = model.OrderFromAPI(o)
	}
	Attach(ctx, out, refs)
	return out
}

// Attach loads, for the whole list at once, what refs asks of the orders
// (their items' products in one batch, their customers in another, both
// at the same time, with the caller's credential) and attaches each to
// its order or item, or the error that stands for it: the fields then
// answer without a call of their own. What refs does not ask for is
// neither loaded nor attached.
func Attach(ctx context.Context, orders []*model.Order, refs Refs) {
	l := loader.For(ctx)
	var products func(id string) (*contract.Product, error)
	var customers func(id string) (*contract.User, error)
	// The customers' batch first, in its goroutine: the products' runs in
	// this one, the two in the same wave.
	if refs.Customers {
		ids := make([]string, len(orders))
		for i, o := range orders {
			ids[i] = o.UserID
		}
		customers = l.ListUsers(ctx, ids)
	}
	if refs.Products {
		var ids []string
		for _, o := range orders {
			for _, it := range refs.items(o) {
				ids = append(ids, it.ProductID)
			}
		}
		products = l.ListProducts(ctx, ids)
	}
	// Each product and customer is made a model once and shared by the
	// items and orders that refer to it (models are never changed once
	// made): a list of 100 orders names far fewer products than items.
	productOf := converted(products, model.ProductFromAPI)
	customerOf := converted(customers, model.UserFromAPI)
	for _, o := range orders {
		if refs.Products {
			for _, it := range refs.items(o) {
				it.AttachProduct(productOf(it.ProductID))
			}
		}
		if refs.Customers {
			o.AttachCustomer(customerOf(o.UserID))
		}
	}
}

// converted returns what answers, for an id, the value load gives for it
// made a model by convert, or the error that stands for it; each id's
// value is converted once.
func converted[V, M any](load func(id string) (*V, error), convert func(V) *M) func(id string) (*M, error) {
	made := map[string]*M{}
	return func(id string) (*M, error) {
		if m, ok := made[id]; ok {
			return m, nil
		}
		v, err := load(id)
		if err != nil {
			return nil, err
		}
		m := convert(*v)
		made[id] = m
		return m, nil
	}
}

// Order returns one order visible to the caller; anyone else's, an unknown
// or a malformed id is NOT_FOUND.
func Order(ctx context.Context, orders OrderGetter, id string, refs Refs) (*model.Order, error) {
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
	return Orders(ctx, []contract.Order{o}, refs)[0], nil
}
