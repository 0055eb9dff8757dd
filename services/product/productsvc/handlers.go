package productsvc

import (
	"net/http"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/ids"
	"github.com/acme/bff-gateway/services/internal/platform"
	"github.com/acme/bff-gateway/services/internal/rest"
)

// handlers serves the product service's API.
type handlers struct {
	store *store
}

const (
	defaultPageSize     = 20
	defaultFeaturedSize = 8
	maxSearchLen        = 200
	maxCategoryLen      = 100
)

// listingParams are the query parameters of a listing, none of which may
// be combined with ids.
var listingParams = []string{"search", "category", "limit", "cursor"}

func (h *handlers) routes(verifier *auth.Verifier, serviceToken string) *http.ServeMux {
	mux := http.NewServeMux()
	authed := platform.Authenticate(verifier)
	internal := platform.RequireServiceToken(serviceToken)
	mux.Handle("GET /v1/products/{id}", authed(rest.HandlerFunc(h.getProduct)))
	mux.Handle("GET /v1/products", authed(rest.HandlerFunc(h.listProducts)))
	mux.Handle("GET /v1/products/featured", authed(rest.HandlerFunc(h.featuredProducts)))
	mux.Handle("GET /v1/products/count", authed(rest.HandlerFunc(h.countProducts)))
	mux.Handle("POST /internal/v1/reservations", internal(rest.HandlerFunc(h.reserve)))
	mux.Handle("POST /internal/v1/reservations/{id}/release", internal(rest.HandlerFunc(h.release)))
	return mux
}

// getProduct returns one product. Errors: invalid_argument,
// unauthenticated (a bad token), not_found.
func (h *handlers) getProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := rest.PathID(r, "id", ids.ValidProduct)
	if err != nil {
		return err
	}
	p, err := h.store.byID(r.Context(), id)
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, p)
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
	page := contract.ProductPage{Products: list, TotalCount: total}
	if more {
		c := contract.ProductCursor(list[len(list)-1])
		page.NextCursor = &c
	}
	return rest.JSON(w, http.StatusOK, page)
}

func parseListQuery(r *http.Request) (listQuery, error) {
	var q listQuery
	var err error
	if q.Search, err = rest.StringParam(r, "search", maxSearchLen); err != nil {
		return q, err
	}
	if q.Category, err = rest.StringParam(r, "category", maxCategoryLen); err != nil {
		return q, err
	}
	if q.Limit, err = rest.IntParam(r, "limit", defaultPageSize, 1, contract.MaxPageSize); err != nil {
		return q, err
	}
	if raw := r.URL.Query().Get("cursor"); raw != "" {
		c, err := contract.DecodeCursor(raw)
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
	want, err := rest.IDsParam(r, "ids", ids.ValidProduct)
	if err != nil {
		return err
	}
	found, err := h.store.byIDs(r.Context(), want)
	if err != nil {
		return err
	}
	var out contract.ProductBatch
	out.Products, out.Missing = contract.InOrder(want, found)
	return rest.JSON(w, http.StatusOK, out)
}

// featuredProducts returns the featured products ordered by name.
// Errors: invalid_argument, unauthenticated (a bad token).
func (h *handlers) featuredProducts(w http.ResponseWriter, r *http.Request) error {
	limit, err := rest.IntParam(r, "limit", defaultFeaturedSize, 1, contract.MaxPageSize)
	if err != nil {
		return err
	}
	list, err := h.store.featured(r.Context(), limit)
	if err != nil {
		return err
	}
	return rest.JSON(w, http.StatusOK, contract.ProductList{Products: list})
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
	return rest.JSON(w, http.StatusOK, contract.Count{Count: n})
}
