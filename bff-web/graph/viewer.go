package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/acme/bff-gateway/internal/bff/args"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
)

// startViewerOrders starts, before the viewer is read, the pages of the
// viewer's orders that the operation asks for under viewer (the viewer's
// id is the token's subject): the user and their orders then go upstream
// together, one wave instead of two. User.orders finds its page started.
// Arguments that are not valid start nothing: User.orders reports them.
func (r *Resolver) startViewerOrders(ctx context.Context, userID string) {
	vars := graphql.GetOperationContext(ctx).Variables
	for _, f := range graphql.CollectFieldsCtx(ctx, []string{"User"}) {
		if f.Name != "orders" {
			continue
		}
		a := f.ArgumentMap(vars)
		first, ok := intArg(a["first"])
		if !ok {
			continue
		}
		after, ok := a["after"].(string)
		if !ok && a["after"] != nil {
			continue
		}
		if key, err := ordersPageKey(userID, first, &after); err == nil {
			r.ordersPage(ctx, key)
		}
	}
}

// ordersPageKey is the page of a user's orders that User.orders(first,
// after) reads, or the error its arguments deserve.
func ordersPageKey(userID string, first *int, after *string) (loader.OrderPageKey, error) {
	n, err := args.PageSize(first, "first", defaultOrders, maxPage)
	if err != nil {
		return loader.OrderPageKey{}, err
	}
	return loader.OrderPageKey{UserID: userID, Limit: n, Cursor: args.Value(after)}, nil
}

// intArg reads an optional Int argument as gqlparser gives it.
func intArg(v any) (*int, bool) {
	switch n := v.(type) {
	case nil:
		return nil, true
	case int64:
		i := int(n)
		return &i, true
	case int:
		return &n, true
	}
	return nil, false
}

// ordersPage returns what waits for a page of a user's orders, starting
// its read unless an earlier resolver of the request did.
func (r *Resolver) ordersPage(ctx context.Context, key loader.OrderPageKey) func() (contract.OrderPage, error) {
	return loader.For(ctx).OrderPages.Start(key, func() (contract.OrderPage, error) {
		return r.Clients.Orders.List(ctx, upstream.OrderQuery{UserID: key.UserID, Limit: key.Limit, Cursor: key.Cursor})
	})
}
