// Package loader holds the per-request dataloaders of the BFFs. A request
// gets its own loaders (built in middleware, reached with For), so nothing
// loaded for one user is ever served to another; within the request, every
// key asked for during one short wait goes upstream in one batch read.
package loader

import (
	"context"
	"net/http"
	"time"

	"github.com/graph-gophers/dataloader/v7"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/bff/cache"
	"github.com/acme/bff-gateway/internal/contract"
)

// Config tunes batching.
type Config struct {
	// Wait is how long a loader collects keys before it calls upstream.
	Wait time.Duration
	// MaxBatch is the most keys sent in one upstream call.
	MaxBatch int
	// Tracer, when set, starts a span for every batch ("loader.users",
	// "loader.products", with loader.batch.size).
	Tracer trace.Tracer
	// OnBatch, when set, is told the size of every batch, by loader
	// ("users" or "products").
	OnBatch func(loader string, size int)
}

// UserBatcher reads users in batches with the caller's own credential
// (upstream.Users does).
type UserBatcher interface {
	Batch(ctx context.Context, ids []string) (contract.UserBatch, error)
}

// ProductSource returns products by id, in the order asked: the shared
// catalogue (catalog.Catalog), which splits large batches itself and
// reports stale copies to the request.
type ProductSource interface {
	Products(ctx context.Context, ids []string) []cache.Result[contract.Product]
}

// Loaders are one request's dataloaders.
type Loaders struct {
	// Users loads users by id with the caller's own credential.
	Users *dataloader.Loader[string, *contract.User]
	// Products loads products by id through the shared catalogue.
	Products *dataloader.Loader[string, *contract.Product]
	// OrderPages shares a page of a user's orders between the resolver
	// that starts it early and the one that answers with it.
	OrderPages Once[OrderPageKey, contract.OrderPage]
	// listProducts is the Products loader's batch, called directly for
	// the products of a list (ListProducts).
	listProducts dataloader.BatchFunc[string, *contract.Product]
}

// OrderPageKey is a page of a user's orders: whose, how many, after what.
type OrderPageKey struct {
	UserID string
	Limit  int
	Cursor string
}

// queueCapacity is how many keys a loader's batch takes before the one
// who adds a key waits for the batch to take it (it takes them as they
// come: a batch is not bounded by it). dataloader's default, 1,000, made
// every batch allocate an 8 KB channel: for each request, most of what a
// BFF allocated besides its answer.
const queueCapacity = 64

// New returns fresh loaders for one request.
func New(users UserBatcher, products ProductSource, cfg Config) *Loaders {
	listProducts := observed("products", cfg, batchProducts(products))
	return &Loaders{
		listProducts: listProducts,
		Users: dataloader.NewBatchedLoader(observed("users", cfg, batchUsers(users)),
			dataloader.WithWait[string, *contract.User](cfg.Wait),
			dataloader.WithBatchCapacity[string, *contract.User](cfg.MaxBatch),
			dataloader.WithInputCapacity[string, *contract.User](queueCapacity)),
		// The catalogue splits large batches itself, so that all the
		// products a request asks for at once go out together, in
		// parallel.
		Products: dataloader.NewBatchedLoader(listProducts,
			dataloader.WithWait[string, *contract.Product](cfg.Wait),
			dataloader.WithInputCapacity[string, *contract.Product](queueCapacity)),
	}
}

// observed reports every batch of the loader named name to cfg's OnBatch
// and runs it in a span of cfg's Tracer.
func observed[V any](name string, cfg Config, batch dataloader.BatchFunc[string, V]) dataloader.BatchFunc[string, V] {
	if cfg.Tracer == nil && cfg.OnBatch == nil {
		return batch
	}
	return func(ctx context.Context, ids []string) []*dataloader.Result[V] {
		if cfg.OnBatch != nil {
			cfg.OnBatch(name, len(ids))
		}
		if cfg.Tracer != nil {
			var span trace.Span
			ctx, span = cfg.Tracer.Start(ctx, "loader."+name, trace.WithAttributes(attribute.Int("loader.batch.size", len(ids))))
			defer span.End()
		}
		return batch(ctx, ids)
	}
}

// batchUsers answers each id with its user, NotFound for an id the user
// service did not return (unknown, or not visible to the caller), or the
// batch's error.
func batchUsers(users UserBatcher) dataloader.BatchFunc[string, *contract.User] {
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

// batchProducts answers each id with its product, NotFound for an unknown
// one, or the error that left it without a copy.
func batchProducts(products ProductSource) dataloader.BatchFunc[string, *contract.Product] {
	return func(ctx context.Context, ids []string) []*dataloader.Result[*contract.Product] {
		results := make([]*dataloader.Result[*contract.Product], len(ids))
		for i, r := range products.Products(ctx, ids) {
			switch {
			case r.Err != nil:
				results[i] = &dataloader.Result[*contract.Product]{Error: r.Err}
			case !r.Found:
				results[i] = &dataloader.Result[*contract.Product]{Error: apperr.New(apperr.NotFound, "product not found")}
			default:
				p := r.Value
				results[i] = &dataloader.Result[*contract.Product]{Data: &p}
			}
		}
		return results
	}
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
func Middleware(users UserBatcher, products ProductSource, cfg Config) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := NewContext(r.Context(), New(users, products, cfg))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// ListProducts starts one batch of the products of ids (those of a list,
// all known at once), in a goroutine, and returns what waits for the
// product of each id, or the error that stands for it. It is the Products
// loader's batch (the catalogue, the batch's metric and span) without the
// loader's wait and per-key work: a key, a thunk, a channel and a cache
// entry for each product of a page of orders, for products the shared
// catalogue answers from memory. An id not among ids is NotFound.
func (l *Loaders) ListProducts(ctx context.Context, ids []string) func(id string) (*contract.Product, error) {
	index := make(map[string]int, len(ids))
	distinct := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, seen := index[id]; !seen {
			index[id] = len(distinct)
			distinct = append(distinct, id)
		}
	}
	var results []*dataloader.Result[*contract.Product]
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			// As dataloader does with a batch that panics: every key
			// gets the error, the request goes on.
			if p := recover(); p != nil {
				err := apperr.Errorf(apperr.Internal, "loading products failed: %v", p)
				results = make([]*dataloader.Result[*contract.Product], len(distinct))
				for i := range results {
					results[i] = &dataloader.Result[*contract.Product]{Error: err}
				}
			}
		}()
		if len(distinct) > 0 {
			results = l.listProducts(ctx, distinct)
		}
	}()
	return func(id string) (*contract.Product, error) {
		<-done
		i, ok := index[id]
		if !ok || i >= len(results) {
			return nil, apperr.New(apperr.NotFound, "product not found")
		}
		return results[i].Data, results[i].Error
	}
}

// PrefetchUsers queues the users of ids in one batch and returns, for
// each distinct id, what waits for its user.
func (l *Loaders) PrefetchUsers(ctx context.Context, ids []string) map[string]dataloader.Thunk[*contract.User] {
	return prefetch(ctx, l.Users, ids)
}

// prefetch queues every key before returning. (LoadMany queues each key
// from its own goroutine, so some could miss the batch and go in another.)
func prefetch[V any](ctx context.Context, dl *dataloader.Loader[string, V], ids []string) map[string]dataloader.Thunk[V] {
	out := make(map[string]dataloader.Thunk[V], len(ids))
	for _, id := range ids {
		if _, queued := out[id]; !queued {
			out[id] = dl.Load(ctx, id)
		}
	}
	return out
}
