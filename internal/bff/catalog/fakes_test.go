package catalog_test

import (
	"context"
	"slices"
	"sync"

	"github.com/acme/bff-gateway/internal/contract"
)

// fakeSource is a catalog.Source that records the ids of every batch call
// and the limit of every featured call; safe for concurrent use (the cache
// fetches on goroutines of its own).
type fakeSource struct {
	mu            sync.Mutex
	products      map[string]contract.Product
	featured      []contract.Product
	err           error // the error of every call, when set
	batchCalls    [][]string
	featuredCalls []int
	// onBatch, when set, runs after a batch call is recorded; its error
	// is the call's.
	onBatch func(ctx context.Context, ids []string) error
}

func newFakeSource(ids ...string) *fakeSource {
	f := &fakeSource{products: make(map[string]contract.Product, len(ids))}
	for _, id := range ids {
		f.products[id] = product(id)
	}
	return f
}

func product(id string) contract.Product {
	return contract.Product{ID: id, Name: "name of " + id, PriceCents: 990, Currency: contract.Currency, Stock: 7}
}

func (f *fakeSource) Batch(ctx context.Context, ids []string) (contract.ProductBatch, error) {
	f.mu.Lock()
	f.batchCalls = append(f.batchCalls, slices.Clone(ids))
	hook, err := f.onBatch, f.err
	var b contract.ProductBatch
	for _, id := range ids {
		if p, ok := f.products[id]; ok {
			b.Products = append(b.Products, p)
		} else {
			b.Missing = append(b.Missing, id)
		}
	}
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, ids); err != nil {
			return contract.ProductBatch{}, err
		}
	}
	if err != nil {
		return contract.ProductBatch{}, err
	}
	return b, nil
}

func (f *fakeSource) Featured(_ context.Context, limit int) ([]contract.Product, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.featuredCalls = append(f.featuredCalls, limit)
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.featured[:min(limit, len(f.featured))]), nil
}

func (f *fakeSource) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSource) BatchCalls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batchCalls)
}

func (f *fakeSource) FeaturedCalls() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.featuredCalls)
}
