// Package catalog serves the public product catalogue to the BFFs through
// one cache shared by all requests and users: products by id and the
// featured lists, fresh for a TTL, fetched in batches of at most 100, with
// concurrent identical fetches collapsed and stale entries served when the
// product service fails. Only public data lives here; nothing in it depends
// on who asks.
package catalog

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
)

// Catalog is the cached product catalogue.
type Catalog struct {
	products *upstream.Products
	byID     *cache.Cache[string, contract.Product]
	lists    *cache.Cache[string, []contract.Product]
}

// New returns a catalogue reading through products with the cache settings.
func New(products *upstream.Products, cfg cache.Config, now func() time.Time) (*Catalog, error) {
	byID, err := cache.New[string, contract.Product](cfg, now)
	if err != nil {
		return nil, fmt.Errorf("product cache: %w", err)
	}
	lists, err := cache.New[string, []contract.Product](cfg, now)
	if err != nil {
		return nil, fmt.Errorf("product list cache: %w", err)
	}
	return &Catalog{products: products, byID: byID, lists: lists}, nil
}

// Products returns a result for each id, in order: fresh from the cache,
// or fetched in batches of at most contract.MaxBatchIDs sent in parallel. An unknown id
// is not Found; when the product service fails, a recently seen product
// comes back Stale.
func (c *Catalog) Products(ctx context.Context, ids []string) []cache.Result[contract.Product] {
	return c.byID.Load(ctx, ids, c.fetchBatches)
}

func (c *Catalog) fetchBatches(ctx context.Context, ids []string) (map[string]contract.Product, error) {
	found := make(map[string]contract.Product, len(ids))
	batches := make([][]contract.Product, (len(ids)+contract.MaxBatchIDs-1)/contract.MaxBatchIDs)
	g, gctx := errgroup.WithContext(ctx)
	for i := range batches {
		chunk := ids[i*contract.MaxBatchIDs : min((i+1)*contract.MaxBatchIDs, len(ids))]
		g.Go(func() error {
			b, err := c.products.Batch(gctx, chunk)
			batches[i] = b.Products
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, b := range batches {
		for _, p := range b {
			found[p.ID] = p
		}
	}
	return found, nil
}

// Featured returns up to limit featured products, and whether they are a
// stale copy served because the product service failed.
func (c *Catalog) Featured(ctx context.Context, limit int) ([]contract.Product, bool, error) {
	r := c.lists.Get(ctx, fmt.Sprintf("featured:%d", limit), func(ctx context.Context) ([]contract.Product, bool, error) {
		list, err := c.products.Featured(ctx, limit)
		return list, err == nil, err
	})
	return r.Value, r.Stale, r.Err
}
