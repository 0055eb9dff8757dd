package resolve_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/bff/loader"
	"github.com/acme/bff-gateway/internal/contract"
)

var createdAt = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

// calls records the ids of every call of a fake; safe for concurrent use.
type calls struct {
	mu  sync.Mutex
	ids [][]string
}

func (c *calls) record(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, slices.Clone(ids))
}

func (c *calls) Calls() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// fakeUsers is a loader.UserBatcher over a fixed set of users.
type fakeUsers struct {
	calls
	users map[string]contract.User
	err   error
}

func user(id string) contract.User {
	return contract.User{
		ID: id, Email: id + "@example.com", Name: "Name " + id, FirstName: "First " + id,
		Role: "customer", AvatarURL: "https://img.example.com/" + id + ".png", CreatedAt: createdAt,
	}
}

func newFakeUsers(ids ...string) *fakeUsers {
	f := &fakeUsers{users: make(map[string]contract.User, len(ids))}
	for _, id := range ids {
		f.users[id] = user(id)
	}
	return f
}

func (f *fakeUsers) Batch(_ context.Context, ids []string) (contract.UserBatch, error) {
	f.record(ids)
	if f.err != nil {
		return contract.UserBatch{}, f.err
	}
	var b contract.UserBatch
	for _, id := range ids {
		if u, ok := f.users[id]; ok {
			b.Users = append(b.Users, u)
		} else {
			b.Missing = append(b.Missing, id)
		}
	}
	return b, nil
}

// fakeProducts is a loader.ProductSource over a fixed set of products.
type fakeProducts struct {
	calls
	products map[string]contract.Product
	err      error
}

func product(id string) contract.Product {
	return contract.Product{
		ID: id, SKU: "SKU-" + id, Name: "Name " + id, Description: "About " + id, Category: "tools",
		PriceCents: 1999, Currency: "USD", ImageURL: "https://img.example.com/" + id + ".jpg",
		Stock: 4, Featured: true, CreatedAt: createdAt,
	}
}

func newFakeProducts(ids ...string) *fakeProducts {
	f := &fakeProducts{products: make(map[string]contract.Product, len(ids))}
	for _, id := range ids {
		f.products[id] = product(id)
	}
	return f
}

func (f *fakeProducts) Products(_ context.Context, ids []string) []cache.Result[contract.Product] {
	f.record(ids)
	out := make([]cache.Result[contract.Product], len(ids))
	for i, id := range ids {
		p, ok := f.products[id]
		switch {
		case f.err != nil:
			out[i] = cache.Result[contract.Product]{Err: f.err}
		case ok:
			out[i] = cache.Result[contract.Product]{Value: p, Found: true}
		}
	}
	return out
}

// fakeFeatured is a resolve.FeaturedSource.
type fakeFeatured struct {
	mu     sync.Mutex
	list   []contract.Product
	err    error
	limits []int
}

func (f *fakeFeatured) Featured(_ context.Context, limit int) ([]contract.Product, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = append(f.limits, limit)
	if f.err != nil {
		return nil, f.err
	}
	return f.list[:min(limit, len(f.list))], nil
}

func (f *fakeFeatured) Limits() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.limits)
}

// fakeOrders is a resolve.OrderGetter.
type fakeOrders struct {
	calls
	orders map[string]contract.Order
	err    error
}

func (f *fakeOrders) Get(_ context.Context, id string) (contract.Order, error) {
	f.record([]string{id})
	if f.err != nil {
		return contract.Order{}, f.err
	}
	return f.orders[id], nil
}

// loaderWait is the loaders' wait: long enough for a few keys queued in a
// row to make one batch on a loaded machine.
const loaderWait = 50 * time.Millisecond

// withLoaders returns ctx carrying fresh loaders over users and products.
func withLoaders(ctx context.Context, users *fakeUsers, products *fakeProducts) context.Context {
	return loader.NewContext(ctx, loader.New(users, products, loader.Config{Wait: loaderWait, MaxBatch: 100}))
}
