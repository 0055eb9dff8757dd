// Package catalog serves the public product catalogue to the BFFs through
// one cache shared by all requests and users: products by id and the
// featured lists, fresh for a TTL, fetched in batches of at most
// contract.MaxBatchIDs, with concurrent identical fetches collapsed and
// stale entries served when the product service fails. Only public data
// lives here; nothing in it depends on who asks. What it serves stale it
// records on the request's state (request.State), for the answer to say.
package catalog

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/contract"
)

// Source is the product service's public catalogue (upstream.Products).
type Source interface {
	// Batch returns the products of ids (at most contract.MaxBatchIDs).
	Batch(ctx context.Context, ids []string) (contract.ProductBatch, error)
	// Featured returns up to limit featured products.
	Featured(ctx context.Context, limit int) ([]contract.Product, error)
}

// Catalog is the cached product catalogue.
type Catalog struct {
	source Source
	byID   *cache.Cache[string, contract.Product]
	lists  *cache.Cache[string, []contract.Product]
}

// New returns a catalogue reading through source with the cache settings.
func New(source Source, cfg cache.Config, now func() time.Time) (*Catalog, error) {
	byID, err := cache.New[string, contract.Product](cfg, now)
	if err != nil {
		return nil, fmt.Errorf("product cache: %w", err)
	}
	lists, err := cache.New[string, []contract.Product](cfg, now)
	if err != nil {
		return nil, fmt.Errorf("product list cache: %w", err)
	}
	return &Catalog{source: source, byID: byID, lists: lists}, nil
}

// Share puts second levels shared by replicas (Redis) behind the
// catalogue's two caches: products by id, and the featured lists. Call it
// before the catalogue is used.
func (c *Catalog) Share(products cache.SecondLevel[string, contract.Product], lists cache.SecondLevel[string, []contract.Product]) {
	c.byID.WithSecondLevel(products)
	c.lists.WithSecondLevel(lists)
}

// CacheStats returns the counts of the catalogue's two caches: "products"
// (by id) and "lists" (the featured lists).
func (c *Catalog) CacheStats() map[string]cache.Stats {
	return map[string]cache.Stats{"products": c.byID.Stats(), "lists": c.lists.Stats()}
}

// Products returns a result for each id, in order: fresh from the cache,
// or fetched in batches of at most contract.MaxBatchIDs sent in parallel.
// An unknown id is not Found; when the product service fails, a recently
// seen product comes back Stale, and is recorded as such on the request's
// state.
func (c *Catalog) Products(ctx context.Context, ids []string) []cache.Result[contract.Product] {
	results := c.byID.Load(ctx, ids, c.fetchBatches)
	for _, r := range results {
		if r.Stale {
			request.StateFrom(ctx).MarkStaleProducts(r.Value.ID)
		}
	}
	return results
}

func (c *Catalog) fetchBatches(ctx context.Context, ids []string) (map[string]contract.Product, error) {
	found := make(map[string]contract.Product, len(ids))
	batches := make([][]contract.Product, (len(ids)+contract.MaxBatchIDs-1)/contract.MaxBatchIDs)
	g, gctx := errgroup.WithContext(ctx)
	for i := range batches {
		chunk := ids[i*contract.MaxBatchIDs : min((i+1)*contract.MaxBatchIDs, len(ids))]
		g.Go(func() error {
			b, err := c.source.Batch(gctx, chunk)
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

// Featured returns up to limit featured products. When the product service
// fails, a list seen recently is served, and its products are recorded as
// stale on the request's state.
func (c *Catalog) Featured(ctx context.Context, limit int) ([]contract.Product, error) {
	r := c.lists.Get(ctx, fmt.Sprintf("featured:%d", limit), func(ctx context.Context) ([]contract.Product, bool, error) {
		list, err := c.source.Featured(ctx, limit)
		return list, err == nil, err
	})
	if r.Err != nil {
		return nil, r.Err
	}
	if r.Stale {
		state := request.StateFrom(ctx)
		for _, p := range r.Value {
			state.MarkStaleProducts(p.ID)
		}
	}
	return r.Value, nil
}
