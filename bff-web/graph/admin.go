package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/bff-web/graph/webmodel"
	"github.com/acme/bff-gateway/internal/bff/args"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/contract"
)

// recentWithStats tells whether the operation shows both the newest orders
// (a root recentOrders with a valid first) and a field of stats that reads
// the order totals, and how many orders: then one call to the order
// service answers both (upstream.Orders.RecentWithStats), shared by the
// two resolvers, instead of one call each. With more than one recentOrders
// (aliases), the first valid one is read with the totals; the others read
// on their own.
func recentWithStats(ctx context.Context) (limit int, ok bool) {
	op := graphql.GetOperationContext(ctx)
	if op.Operation == nil || op.Operation.Operation != ast.Query {
		return 0, false
	}
	totals, found := false, false
	for _, f := range graphql.CollectFields(op, op.Operation.SelectionSet, []string{"Query"}) {
		switch f.Name {
		case "stats":
			for _, sf := range graphql.CollectFields(op, f.Selections, []string{"Stats"}) {
				totals = totals || webmodel.ReadsOrderTotals(sf.Name)
			}
		case "recentOrders":
			if found {
				continue
			}
			first, valid := intArg(f.ArgumentMap(op.Variables)["first"])
			if !valid {
				continue
			}
			if n, err := args.PageSize(first, "first", defaultRecent, maxPage); err == nil {
				limit, found = n, true
			}
		}
	}
	return limit, totals && found
}

// readRecentWithStats returns the newest limit orders and the order
// totals, from one call shared by the request's resolvers.
func (r *Resolver) readRecentWithStats(ctx context.Context, limit int) (contract.OrderList, error) {
	return loader.For(ctx).RecentWithStats.Do(limit, func() (contract.OrderList, error) {
		orders, stats, err := r.Clients.Orders.RecentWithStats(ctx, limit)
		return contract.OrderList{Orders: orders, Stats: &stats}, err
	})
}
