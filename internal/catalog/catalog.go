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

	"github.com/acme/bff-gateway/internal/api"
	"github.com/acme/bff-gateway/internal/cache"
	"github.com/acme/bff-gateway/internal/clients"
)

// MaxBatch is the most ids the product service takes in one batch read.
const MaxBatch = 100

// Catalog is the cached product catalogue.
type Catalog struct {
	products *clients.Products
	byID     *cache.Cache[string, api.Product]
	lists    *cache.Cache[string, []api.Product]
}

// New returns a catalogue reading through products with the cache settings.
func New(products *clients.Products, cfg cache.Config, now func() time.Time) (*Catalog, error) {
	byID, err := cache.New[string, api.Product](cfg, now)
	if err != nil {
		return nil, fmt.Errorf("product cache: %w", err)
	}
	lists, err := cache.New[string, []api.Product](cfg, now)
	if err != nil {
		return nil, fmt.Errorf("product list cache: %w", err)
	}
	return &Catalog{products: products, byID: byID, lists: lists}, nil
}

// Products returns a result for each id, in order: fresh from the cache,
// or fetched in batches of at most MaxBatch sent in parallel. An unknown id
// is not Found; when the product service fails, a recently seen product
// comes back Stale.
func (c *Catalog) Products(ctx context.Context, ids []string) []cache.Result[api.Product] {
	return c.byID.Load(ctx, ids, c.fetchBatches)
}

func (c *Catalog) fetchBatches(ctx context.Context, ids []string) (map[string]api.Product, error) {
	found := make(map[string]api.Product, len(ids))
	batches := make([][]api.Product, (len(ids)+MaxBatch-1)/MaxBatch)
	g, gctx := errgroup.WithContext(ctx)
	for i := range batches {
		chunk := ids[i*MaxBatch : min((i+1)*MaxBatch, len(ids))]
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
func (c *Catalog) Featured(ctx context.Context, limit int) ([]api.Product, bool, error) {
	r := c.lists.Get(ctx, fmt.Sprintf("featured:%d", limit), func(ctx context.Context) ([]api.Product, bool, error) {
		list, err := c.products.Featured(ctx, limit)
		return list, err == nil, err
	})
	return r.Value, r.Stale, r.Err
}
