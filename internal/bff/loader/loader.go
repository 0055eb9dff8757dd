// Package loader holds the per-request dataloaders of the BFFs. A request
// gets its own loaders (built in middleware, reached with For), so nothing
// loaded for one user is ever served to another; within the request, every
// key asked for during one short wait goes upstream in one batch read.
package loader

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/catalog"
	"github.com/acme/bff-gateway/internal/bff/upstream"
	"github.com/acme/bff-gateway/internal/contract"
)

// Config tunes batching.
type Config struct {
	// Wait is how long a loader collects keys before it calls upstream.
	Wait time.Duration
	// MaxBatch is the most keys sent in one upstream call.
	MaxBatch int
}

// Loaders are one request's dataloaders.
type Loaders struct {
	// Users loads users by id with the caller's own credential.
	Users *dataloader.Loader[string, *contract.User]
	// Products loads products by id through the shared catalogue cache.
	Products *dataloader.Loader[string, *contract.Product]

	mu    sync.Mutex
	stale map[string]bool
}

// New returns fresh loaders for one request.
func New(users *upstream.Users, cat *catalog.Catalog, cfg Config) *Loaders {
	l := &Loaders{stale: map[string]bool{}}
	l.Users = dataloader.NewBatchedLoader(l.batchUsers(users),
		dataloader.WithWait[string, *contract.User](cfg.Wait),
		dataloader.WithBatchCapacity[string, *contract.User](cfg.MaxBatch))
	// The catalogue splits large batches itself, so that all the products
	// a request asks for at once go out together, in parallel.
	l.Products = dataloader.NewBatchedLoader(l.batchProducts(cat),
		dataloader.WithWait[string, *contract.Product](cfg.Wait))
	return l
}

func (l *Loaders) batchUsers(users *upstream.Users) dataloader.BatchFunc[string, *contract.User] {
	return func(ctx context.Context, ids []string) []*dataloader.Result[*contract.User] {
		results := make([]*dataloader.Result[*contract.User], len(ids))
		batch, err := users.Batch(ctx, ids)
		if err != nil {
			for i := range results {
				results[i] = &dataloader.Result[*contract.User]{Error: err}
			}
			return results
		}
		byID := make(map[string]*contract.User, len(batch.Users))
		for i := range batch.Users {
			byID[batch.Users[i].ID] = &batch.Users[i]
		}
		for i, id := range ids {
			if u, ok := byID[id]; ok {
				results[i] = &dataloader.Result[*contract.User]{Data: u}
			} else {
				results[i] = &dataloader.Result[*contract.User]{Error: apperr.New(apperr.NotFound, "user not found")}
			}
		}
		return results
	}
}

func (l *Loaders) batchProducts(cat *catalog.Catalog) dataloader.BatchFunc[string, *contract.Product] {
	return func(ctx context.Context, ids []string) []*dataloader.Result[*contract.Product] {
		results := make([]*dataloader.Result[*contract.Product], len(ids))
		for i, r := range cat.Products(ctx, ids) {
			switch {
			case r.Err != nil:
				results[i] = &dataloader.Result[*contract.Product]{Error: r.Err}
			case !r.Found:
				results[i] = &dataloader.Result[*contract.Product]{Error: apperr.New(apperr.NotFound, "product not found")}
			default:
				p := r.Value
				if r.Stale {
					l.MarkStale(p.ID)
				}
				results[i] = &dataloader.Result[*contract.Product]{Data: &p}
			}
		}
		return results
	}
}

// MarkStale records that a product was served from a stale copy.
func (l *Loaders) MarkStale(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stale[id] = true
}

// StaleProducts returns the ids of the products this request served from
// stale copies, sorted.
func (l *Loaders) StaleProducts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.stale))
	for id := range l.stale {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

type loadersKey struct{}

// NewContext returns ctx carrying l.
func NewContext(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// For returns the request's loaders; it panics when the middleware did not
// run, which is a wiring bug.
func For(ctx context.Context) *Loaders {
	l, ok := ctx.Value(loadersKey{}).(*Loaders)
	if !ok {
		panic("loader: no loaders in the context; is loader.Middleware installed?")
	}
	return l
}

// Middleware gives every request its own loaders.
func Middleware(users *upstream.Users, cat *catalog.Catalog, cfg Config) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := NewContext(r.Context(), New(users, cat, cfg))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// PrefetchProducts starts loading the products of ids in one batch, so that
// the fields that ask for them one by one later find them loaded.
func (l *Loaders) PrefetchProducts(ctx context.Context, ids []string) {
	prefetch(ctx, l.Products, ids)
}

// PrefetchUsers starts loading the users of ids in one batch.
func (l *Loaders) PrefetchUsers(ctx context.Context, ids []string) {
	prefetch(ctx, l.Users, ids)
}

// prefetch queues every key before returning. (LoadMany queues each key
// from its own goroutine, so some could miss the batch and go in another.)
func prefetch[V any](ctx context.Context, dl *dataloader.Loader[string, V], ids []string) {
	for _, id := range dedupe(ids) {
		dl.Load(ctx, id)
	}
}

func dedupe(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
