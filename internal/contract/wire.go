// Package contract is the REST contract of the user, order and product
// services, shared by the services that answer with it and the clients
// that call them: the JSON wire types (snake_case fields, money as integer
// cents plus an ISO 4217 currency code, RFC 3339 timestamps in UTC), the
// opaque page cursors, and the limits both sides keep to (batch sizes,
// page sizes, order sizes, idempotency keys, body sizes).
package contract

import "time"

// User is a user of the shop.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	FirstName string    `json:"first_name"`
	Role      string    `json:"role"`
	AvatarURL string    `json:"avatar_url"`
	CreatedAt time.Time `json:"created_at"`
}

// UserBatch answers a batch read: the users found in the order asked and
// the ids not found.
type UserBatch struct {
	Users   []User   `json:"users"`
	Missing []string `json:"missing"`
}

// Count answers the count endpoints.
type Count struct {
	Count int `json:"count"`
}

// TokenRequest asks for an access token.
type TokenRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// TokenResponse is an issued access token and, from a sign-in or a
// refresh, the refresh token that renews it.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int `json:"expires_in"`
	// RefreshToken is opaque; presented once to POST /v1/auth/refresh it
	// gives a new pair (rotation), presented twice it revokes its family.
	RefreshToken string `json:"refresh_token,omitempty"`
	// RefreshExpiresIn is how many seconds the refresh token stays
	// usable if unused: the idle lifetime, cut short by the family's
	// absolute one.
	RefreshExpiresIn int `json:"refresh_expires_in,omitempty"`
}

// RefreshRequest asks POST /v1/auth/refresh for a new pair of tokens.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// RevokeRequest asks POST /v1/auth/revoke to end the family of
// RefreshToken (sign-out) or, with All and the caller's bearer token,
// every family of the caller (sign-out everywhere); exactly one of the two.
type RevokeRequest struct {
	RefreshToken string `json:"refresh_token,omitempty"`
	All          bool   `json:"all,omitempty"`
}

// RevokeResponse is the answer of POST /v1/auth/revoke.
type RevokeResponse struct {
	// Revoked is how many families were revoked.
	Revoked int `json:"revoked"`
}

// Product is an item of the catalogue.
type Product struct {
	ID          string    `json:"id"`
	SKU         string    `json:"sku"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Category    string    `json:"category"`
	PriceCents  int64     `json:"price_cents"`
	Currency    string    `json:"currency"`
	ImageURL    string    `json:"image_url"`
	Stock       int       `json:"stock"`
	Featured    bool      `json:"featured"`
	CreatedAt   time.Time `json:"created_at"`
}

// ProductBatch answers a batch read of products.
type ProductBatch struct {
	Products []Product `json:"products"`
	Missing  []string  `json:"missing"`
}

// ProductPage is one page of a product listing.
type ProductPage struct {
	Products   []Product `json:"products"`
	NextCursor *string   `json:"next_cursor"`
	TotalCount int       `json:"total_count"`
}

// ProductList answers the featured products.
type ProductList struct {
	Products []Product `json:"products"`
}

// ReservationItem is one line of a stock reservation.
type ReservationItem struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// ReserveRequest asks the product service to take stock for an order, all
// or nothing. ReservationID is the order id; repeating a request with the
// same id returns the first answer.
type ReserveRequest struct {
	ReservationID string            `json:"reservation_id"`
	Items         []ReservationItem `json:"items"`
}

// ReservedItem is a reserved line with the unit price at that moment.
type ReservedItem struct {
	ProductID      string `json:"product_id"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
	Currency       string `json:"currency"`
}

// Reservation answers a reservation.
type Reservation struct {
	ReservationID string         `json:"reservation_id"`
	Status        string         `json:"status"`
	Items         []ReservedItem `json:"items"`
}

// ReleaseRequest gives reserved stock back. When Restock is set and the
// product service holds no reservation under that id (an order older than
// the reservation records), the listed items are put back instead; a
// release is applied at most once per reservation id either way.
type ReleaseRequest struct {
	Items   []ReservationItem `json:"items,omitempty"`
	Restock bool              `json:"restock,omitempty"`
}

// Shortage names a product short of stock.
type Shortage struct {
	ProductID string `json:"product_id"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
}

// Order statuses.
const (
	StatusPending   = "pending"
	StatusPaid      = "paid"
	StatusShipped   = "shipped"
	StatusDelivered = "delivered"
	StatusCancelled = "cancelled"
)

// OrderStatuses lists every order status in lifecycle order.
var OrderStatuses = []string{StatusPending, StatusPaid, StatusShipped, StatusDelivered, StatusCancelled}

// OrderItem is one line of an order.
type OrderItem struct {
	ProductID      string `json:"product_id"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// Order is a customer's order.
type Order struct {
	ID         string      `json:"id"`
	UserID     string      `json:"user_id"`
	Status     string      `json:"status"`
	Items      []OrderItem `json:"items"`
	TotalCents int64       `json:"total_cents"`
	Currency   string      `json:"currency"`
	CreatedAt  time.Time   `json:"created_at"`
}

// OrderBatch answers a batch read of orders.
type OrderBatch struct {
	Orders  []Order  `json:"orders"`
	Missing []string `json:"missing"`
}

// OrderPage is one page of a user's orders, newest first.
type OrderPage struct {
	Orders     []Order `json:"orders"`
	NextCursor *string `json:"next_cursor"`
	TotalCount int     `json:"total_count"`
}

// OrderList answers the recent orders feed. Stats is there when the
// request said include=IncludeStats: the order totals, read in the same
// transaction as the orders.
type OrderList struct {
	Orders []Order     `json:"orders"`
	Stats  *OrderStats `json:"stats,omitempty"`
}

// IncludeStats is the value of the recent orders' include parameter that
// asks for the order totals with them.
const IncludeStats = "stats"

// OrderStats are the shop's order totals.
type OrderStats struct {
	Count        int            `json:"count"`
	RevenueCents int64          `json:"revenue_cents"`
	Currency     string         `json:"currency"`
	ByStatus     map[string]int `json:"by_status"`
}

// PlaceOrderRequest places an order.
type PlaceOrderRequest struct {
	UserID string            `json:"user_id"`
	Items  []ReservationItem `json:"items"`
}

// Currency is the shop's single currency.
const Currency = "USD"

// InOrder returns the values found for the ids asked for, in the order
// asked, and the ids not found: the two halves of every batch answer.
func InOrder[T any](ids []string, found map[string]T) (values []T, missing []string) {
	values = make([]T, 0, len(ids))
	missing = []string{}
	for _, id := range ids {
		if v, ok := found[id]; ok {
			values = append(values, v)
		} else {
			missing = append(missing, id)
		}
	}
	return values, missing
}
