package productsvc

import (
	"net/http"

	"github.com/acme/bff-gateway/internal/api"
	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/httpapi"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/internal/pagecursor"
)

// handlers serves the product service's API.
type handlers struct {
	store *store
}

const (
	defaultPageSize     = 20
	maxPageSize         = 100
	defaultFeaturedSize = 8
	maxSearchLen        = 200
	maxCategoryLen      = 100
)

// listingParams are the query parameters of a listing, none of which may
// be combined with ids.
var listingParams = []string{"search", "category", "limit", "cursor"}

func (h *handlers) routes(verifier *auth.Verifier, serviceToken string) *http.ServeMux {
	mux := http.NewServeMux()
	authed := auth.Authenticate(verifier)
	internal := auth.RequireServiceToken(serviceToken)
	mux.Handle("GET /v1/products/{id}", authed(httpapi.HandlerFunc(h.getProduct)))
	mux.Handle("GET /v1/products", authed(httpapi.HandlerFunc(h.listProducts)))
	mux.Handle("GET /v1/products/featured", authed(httpapi.HandlerFunc(h.featuredProducts)))
	mux.Handle("GET /v1/products/count", authed(httpapi.HandlerFunc(h.countProducts)))
	mux.Handle("POST /internal/v1/reservations", internal(httpapi.HandlerFunc(h.reserve)))
	mux.Handle("POST /internal/v1/reservations/{id}/release", internal(httpapi.HandlerFunc(h.release)))
	return mux
}

// getProduct returns one product. Errors: invalid_argument,
// unauthenticated (a bad token), not_found.
func (h *handlers) getProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id", ids.ValidProduct)
	if err != nil {
		return err
	}
	p, err := h.store.byID(r.Context(), id)
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, p)
}

// listProducts answers a batch read when ?ids= is given and a page of the
// catalogue otherwise. Errors: invalid_argument, unauthenticated (a bad
// token).
func (h *handlers) listProducts(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Has("ids") {
		return h.batchProducts(w, r)
	}
	q, err := parseListQuery(r)
	if err != nil {
		return err
	}
	list, more, total, err := h.store.list(r.Context(), q)
	if err != nil {
		return err
	}
	page := api.ProductPage{Products: list, TotalCount: total}
	if more {
		c := api.ProductCursor(list[len(list)-1])
		page.NextCursor = &c
	}
	return httpapi.JSON(w, http.StatusOK, page)
}

func parseListQuery(r *http.Request) (listQuery, error) {
	var q listQuery
	var err error
	if q.Search, err = httpapi.StringParam(r, "search", maxSearchLen); err != nil {
		return q, err
	}
	if q.Category, err = httpapi.StringParam(r, "category", maxCategoryLen); err != nil {
		return q, err
	}
	if q.Limit, err = httpapi.IntParam(r, "limit", defaultPageSize, 1, maxPageSize); err != nil {
		return q, err
	}
	if raw := r.URL.Query().Get("cursor"); raw != "" {
		c, err := pagecursor.Decode(raw)
		if err != nil {
			return q, apperr.InvalidParam("cursor", "malformed cursor")
		}
		q.After = &c
	}
	return q, nil
}

// batchProducts returns the products asked for by ?ids= in the order
// asked (repeats dropped), with the ids not found in missing.
// Errors: invalid_argument.
func (h *handlers) batchProducts(w http.ResponseWriter, r *http.Request) error {
	query := r.URL.Query()
	for _, name := range listingParams {
		if query.Has(name) {
			return apperr.InvalidParam(name, "%s cannot be combined with ids", name)
		}
	}
	want, err := httpapi.IDsParam(r, "ids", ids.ValidProduct)
	if err != nil {
		return err
	}
	found, err := h.store.byIDs(r.Context(), want)
	if err != nil {
		return err
	}
	var out api.ProductBatch
	out.Products, out.Missing = api.InOrder(want, found)
	return httpapi.JSON(w, http.StatusOK, out)
}

// featuredProducts returns the featured products ordered by name.
// Errors: invalid_argument, unauthenticated (a bad token).
func (h *handlers) featuredProducts(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.IntParam(r, "limit", defaultFeaturedSize, 1, maxPageSize)
	if err != nil {
		return err
	}
	list, err := h.store.featured(r.Context(), limit)
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, api.ProductList{Products: list})
}

// countProducts returns the number of products. Admin only.
// Errors: unauthenticated, forbidden.
func (h *handlers) countProducts(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.RequireAdmin(r.Context()); err != nil {
		return err
	}
	n, err := h.store.count(r.Context())
	if err != nil {
		return err
	}
	return httpapi.JSON(w, http.StatusOK, api.Count{Count: n})
}
