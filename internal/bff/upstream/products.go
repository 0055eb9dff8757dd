package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/restclient"
)

// Products is the client of the product service's catalogue. The public
// reads (Get, Batch, Search, Featured) send no credential, so that their
// answers are the same for every caller and may be cached across users;
// Count forwards the caller's own token.
//
// Besides the codes listed on each method, every call can fail with
// Unavailable (service down, 5xx, unreadable answer, or its breaker open),
// Timeout (the call timeout or the caller's deadline), or the context's
// error when the caller cancelled.
type Products struct {
	authed, public *restclient.Client
}

// ProductQuery selects a page of the catalogue. Empty fields are left out:
// no filter, the service's default page size (20), the first page.
type ProductQuery struct {
	// Search is a substring of the name or SKU, ignoring case.
	Search string
	// Category is the exact category, ignoring case.
	Category string
	// Limit is the page size, 1 to 100.
	Limit int
	// Cursor is the NextCursor of the previous page.
	Cursor string
}

// Get returns one product. It returns NotFound for an unknown product and
// Invalid (param "id") for a malformed id, without a call.
func (p *Products) Get(ctx context.Context, id string) (contract.Product, error) {
	if !ids.ValidProduct(id) {
		return contract.Product{}, malformedID("product")
	}
	var out contract.Product
	err := p.public.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "products", id)}, &out)
	return out, err
}

// Batch returns the products with the given ids in the order asked,
// repeats dropped; ids not found or malformed (those are not sent) are
// listed in Missing. No ids, or only malformed ones, answer without a call.
// It returns Invalid for more than contract.MaxBatchIDs ids.
func (p *Products) Batch(ctx context.Context, productIDs []string) (contract.ProductBatch, error) {
	good, malformed, err := splitIDs(productIDs, ids.ValidProduct)
	if err != nil {
		return contract.ProductBatch{}, err
	}
	out := contract.ProductBatch{Products: room[contract.Product](len(good))}
	if len(good) > 0 {
		err = p.public.Do(ctx, restclient.Request{
			Method: http.MethodGet,
			Path:   restclient.Path("v1", "products"),
			Query:  url.Values{"ids": {strings.Join(good, ",")}},
		}, &out)
		if err != nil {
			return contract.ProductBatch{}, err
		}
	}
	out.Products = orEmpty(out.Products)
	out.Missing = append(orEmpty(out.Missing), malformed...)
	return out, nil
}

// Search returns one page of the catalogue matching q, ordered by name then
// id. It returns Invalid (with the param at fault) for a limit out of
// range, a filter too long or a bad cursor.
func (p *Products) Search(ctx context.Context, q ProductQuery) (contract.ProductPage, error) {
	query := url.Values{}
	setIf(query, "search", q.Search)
	setIf(query, "category", q.Category)
	setIntIf(query, "limit", q.Limit)
	setIf(query, "cursor", q.Cursor)
	out := contract.ProductPage{Products: room[contract.Product](q.Limit)}
	err := p.public.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "products"), Query: query}, &out)
	if err != nil {
		return contract.ProductPage{}, err
	}
	out.Products = orEmpty(out.Products)
	return out, nil
}

// Featured returns up to limit featured products (the service's default, 8,
// when limit <= 0), ordered by name then id. It returns Invalid for a limit
// above 100.
func (p *Products) Featured(ctx context.Context, limit int) ([]contract.Product, error) {
	query := url.Values{}
	setIntIf(query, "limit", limit)
	out := contract.ProductList{Products: room[contract.Product](limit)}
	err := p.public.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "products", "featured"), Query: query}, &out)
	if err != nil {
		return nil, err
	}
	return orEmpty(out.Products), nil
}

// Count returns the number of products, with the caller's token. It
// returns Forbidden for a caller who is not an admin and Unauthenticated
// without a valid token.
func (p *Products) Count(ctx context.Context) (int, error) {
	var out contract.Count
	err := p.authed.Do(ctx, restclient.Request{Method: http.MethodGet, Path: restclient.Path("v1", "products", "count")}, &out)
	return out.Count, err
}

// setIf sets a query parameter when its value is not empty.
func setIf(q url.Values, name, value string) {
	if value != "" {
		q.Set(name, value)
	}
}

// setIntIf sets a query parameter when its value is positive.
func setIntIf(q url.Values, name string, value int) {
	if value > 0 {
		q.Set(name, strconv.Itoa(value))
	}
}
