// Package productclient is the order service's client of the product
// service's internal stock reservation API, authenticated with the order
// service's own credential (SERVICE_TOKEN).
package productclient

import (
	"context"
	"net/http"

	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/restclient"
)

// Client calls the product service's internal stock reservation API
// with the order service's token.
type Client struct {
	c *restclient.Client
}

// New returns a client of the product service at baseURL that
// authenticates with serviceToken.
func New(baseURL, serviceToken string, httpClient *http.Client) (*Client, error) {
	c, err := restclient.New("product", baseURL,
		restclient.WithStaticToken(serviceToken), restclient.WithHTTPClient(httpClient))
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Reserve takes stock for every item, all or nothing, and returns the unit
// prices at this moment. It returns InsufficientStock (with the shortages
// in Details["shortages"]), NotFound for an unknown product, Invalid for a
// bad request, or a transport error code.
func (r *Client) Reserve(ctx context.Context, reservationID string, items []contract.ReservationItem) (contract.Reservation, error) {
	var out contract.Reservation
	err := r.c.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("internal", "v1", "reservations"),
		Body:   contract.ReserveRequest{ReservationID: reservationID, Items: items},
	}, &out)
	return out, err
}

// Release gives the stock of a reservation back; it is idempotent. With
// restock, items are put back even when no reservation is recorded under
// that id (orders older than the records).
func (r *Client) Release(ctx context.Context, reservationID string, items []contract.ReservationItem, restock bool) error {
	return r.c.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("internal", "v1", "reservations", reservationID, "release"),
		Body:   contract.ReleaseRequest{Items: items, Restock: restock},
	}, nil)
}
