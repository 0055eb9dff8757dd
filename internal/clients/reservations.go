// Package clients holds the typed clients of the user, order and product
// services.
package clients

import (
	"context"
	"net/http"

	"github.com/acme/bff-gateway/internal/api"
	"github.com/acme/bff-gateway/internal/restclient"
)

// Reservations is the product service's internal stock reservation API,
// called by the order service with its service token.
type Reservations struct {
	c *restclient.Client
}

// NewReservations returns a reservations client of the product service at
// baseURL that authenticates with serviceToken.
func NewReservations(baseURL, serviceToken string, httpClient *http.Client) (*Reservations, error) {
	c, err := restclient.New("product", baseURL,
		restclient.WithStaticToken(serviceToken), restclient.WithHTTPClient(httpClient))
	if err != nil {
		return nil, err
	}
	return &Reservations{c: c}, nil
}

// Reserve takes stock for every item, all or nothing, and returns the unit
// prices at this moment. It returns InsufficientStock (with the shortages
// in Details["shortages"]), NotFound for an unknown product, Invalid for a
// bad request, or a transport error code.
func (r *Reservations) Reserve(ctx context.Context, reservationID string, items []api.ReservationItem) (api.Reservation, error) {
	var out api.Reservation
	err := r.c.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("internal", "v1", "reservations"),
		Body:   api.ReserveRequest{ReservationID: reservationID, Items: items},
	}, &out)
	return out, err
}

// Release gives the stock of a reservation back; it is idempotent. With
// restock, items are put back even when no reservation is recorded under
// that id (orders older than the records).
func (r *Reservations) Release(ctx context.Context, reservationID string, items []api.ReservationItem, restock bool) error {
	return r.c.Do(ctx, restclient.Request{
		Method: http.MethodPost,
		Path:   restclient.Path("internal", "v1", "reservations", reservationID, "release"),
		Body:   api.ReleaseRequest{Items: items, Restock: restock},
	}, nil)
}
