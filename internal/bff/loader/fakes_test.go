package loader_test

import (
	"context"
	"slices"
	"sync"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/contract"
)

// fakeUsers is a loader.UserBatcher that records the ids of every call (and
// the subject of the principal it was called for); safe for concurrent use.
type fakeUsers struct {
	users map[string]contract.User
	err   error

	mu       sync.Mutex
	calls    [][]string
	subjects []string
}

func newFakeUsers(ids ...string) *fakeUsers {
	f := &fakeUsers{users: make(map[string]contract.User, len(ids))}
	for _, id := range ids {
		f.users[id] = contract.User{ID: id, Name: "name of " + id, Role: "customer"}
	}
	return f
}

func (f *fakeUsers) Batch(ctx context.Context, ids []string) (contract.UserBatch, error) {
	p, _ := auth.PrincipalFromContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, slices.Clone(ids))
	f.subjects = append(f.subjects, p.Subject)
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

func (f *fakeUsers) Calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeUsers) Subjects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subjects)
}

// fakeProducts is a loader.ProductSource that answers each id with its
// result (an id it does not know is not Found) and records the ids of every
// call and the last slice it returned; safe for concurrent use.
type fakeProducts struct {
	results map[string]cache.Result[contract.Product]

	mu    sync.Mutex
	calls [][]string
	last  []cache.Result[contract.Product]
}

func newFakeProducts(ids ...string) *fakeProducts {
	f := &fakeProducts{results: make(map[string]cache.Result[contract.Product], len(ids))}
	for _, id := range ids {
		f.results[id] = cache.Result[contract.Product]{Value: product(id), Found: true}
	}
	return f
}

func product(id string) contract.Product {
	return contract.Product{ID: id, Name: "name of " + id, PriceCents: 1250, Currency: contract.Currency, Stock: 3}
}

func (f *fakeProducts) Products(_ context.Context, ids []string) []cache.Result[contract.Product] {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, slices.Clone(ids))
	out := make([]cache.Result[contract.Product], len(ids))
	for i, id := range ids {
		out[i] = f.results[id]
	}
	f.last = out
	return out
}

func (f *fakeProducts) Calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeProducts) Last() []cache.Result[contract.Product] {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}
