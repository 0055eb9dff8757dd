// Package loader holds the per-request dataloaders of the BFFs. A request
// gets its own loaders (built in middleware, reached with For), so nothing
// loaded for one user is ever served to another; within the request, every
// key asked for during one short wait goes upstream in one batch read.
package loader

import (
	"context"
	"fmt"
	"net/http"
	"sync"
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
	// RecentWithStats shares the newest orders read with the order totals
	// (by how many) between the resolvers of an operation that shows both.
	RecentWithStats Once[int, contract.OrderList]
	// listProducts and listUsers are the loaders' batches, called
	// directly for the products and users of a list (ListProducts,
	// ListUsers), with the most ids of one call of users.
	listProducts dataloader.BatchFunc[string, *contract.Product]
	listUsers    dataloader.BatchFunc[string, *contract.User]
	maxBatch     int
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
	listUsers := observed("users", cfg, batchUsers(users))
	return &Loaders{
		listProducts: listProducts,
		listUsers:    listUsers,
		maxBatch:     cfg.MaxBatch,
		Users: dataloader.NewBatchedLoader(listUsers,
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

// ListProducts loads the products of ids (those of a list, all known at
// once) in one batch, in the caller's goroutine, and returns what answers
// the product of each id, or the error that stands for it. It is the
// Products loader's batch (the catalogue, which splits large batches
// itself; the batch's metric and span) without the loader's wait and
// per-key work: a key, a thunk, a channel and a cache entry for each
// product of a page of orders, for products the shared catalogue answers
// from memory. An id not among ids is NotFound. Start what should go
// upstream in the same wave (ListUsers) before calling it.
func (l *Loaders) ListProducts(ctx context.Context, ids []string) func(id string) (*contract.Product, error) {
	return listed(ctx, ids, 0, l.listProducts, "products", "product not found", true)
}

// ListUsers starts the batches of the users of a list (the customers of
// a page of orders): the Users loader's batch, at most MaxBatch ids a
// call, the calls sent together, each in a goroutine, with the caller's
// credential; it returns what waits for the user of each id. What it
// loads is not kept for the request's other loads of users (a user both
// listed and loaded goes in both calls: the viewer, say, whose load was
// sent in an earlier wave anyway).
func (l *Loaders) ListUsers(ctx context.Context, ids []string) func(id string) (*contract.User, error) {
	return listed(ctx, ids, l.maxBatch, l.listUsers, "users", "user not found", false)
}

// listed calls batch for the distinct ids, in batches of at most
// maxBatch (all at once when 0), each in a goroutine (the last in the
// caller's when inCaller: its stack has grown already, where a new
// goroutine's grows and is copied on the way to the service), and
// returns what waits for the result of an id. A batch that panics
// answers each of its ids with an Internal error, as dataloader does; an
// id not among ids is NotFound (notFound).
func listed[V any](ctx context.Context, ids []string, maxBatch int, batch dataloader.BatchFunc[string, V], what, notFound string, inCaller bool) func(id string) (V, error) {
	index := make(map[string]int, len(ids))
	distinct := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, seen := index[id]; !seen {
			index[id] = len(distinct)
			distinct = append(distinct, id)
		}
	}
	size := len(distinct)
	if maxBatch > 0 && maxBatch < size {
		size = maxBatch
	}
	results := make([]*dataloader.Result[V], len(distinct))
	var wg sync.WaitGroup
	for start := 0; start < len(distinct); start += size {
		chunk := distinct[start:min(start+size, len(distinct))]
		run := func() {
			defer func() {
				// As dataloader does with a batch that panics: every key
				// gets the error, the request goes on.
				if p := recover(); p != nil {
					err := apperr.Errorf(apperr.Internal, "loading %s failed: %v", what, p)
					for i := range chunk {
						results[start+i] = &dataloader.Result[V]{Error: err}
					}
				}
			}()
			got := batch(ctx, chunk)
			if len(got) != len(chunk) {
				panic(fmt.Sprintf("the batch answered %d of %d keys", len(got), len(chunk)))
			}
			copy(results[start:], got)
		}
		if inCaller && start+size >= len(distinct) {
			run()
			break
		}
		wg.Go(run)
	}
	return func(id string) (V, error) {
		wg.Wait()
		i, ok := index[id]
		if !ok || results[i] == nil {
			var zero V
			return zero, apperr.New(apperr.NotFound, notFound)
		}
		return results[i].Data, results[i].Error
	}
}
