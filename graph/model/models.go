package model

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/contract"
)

// User is a user of the shop.
type User struct {
	ID        string
	Email     string
	Name      string
	FirstName string
	Role      auth.Role
	AvatarURL string
	CreatedAt time.Time
}

// UserFromAPI converts a user of the user service.
func UserFromAPI(u contract.User) *User {
	return &User{
		ID:        u.ID,
		Email:     u.Email,
		Name:      u.Name,
		FirstName: u.FirstName,
		Role:      auth.Role(u.Role),
		AvatarURL: u.AvatarURL,
		CreatedAt: u.CreatedAt,
	}
}

// Product is an item of the catalogue.
type Product struct {
	ID          string
	SKU         string
	Name        string
	Description string
	Category    string
	Price       Money
	ImageURL    string
	Stock       int
	Featured    bool
}

// ProductFromAPI converts a product of the product service.
func ProductFromAPI(p contract.Product) *Product {
	return &Product{
		ID:          p.ID,
		SKU:         p.SKU,
		Name:        p.Name,
		Description: p.Description,
		Category:    p.Category,
		Price:       Money{Cents: int(p.PriceCents), Currency: p.Currency},
		ImageURL:    p.ImageURL,
		Stock:       p.Stock,
		Featured:    p.Featured,
	}
}

// InStock reports whether any stock is left.
func (p *Product) InStock() bool { return p.Stock > 0 }

// PriceFormatted returns the price ready to show.
func (p *Product) PriceFormatted() string { return p.Price.Formatted() }

// ThumbnailSize is the edge, in pixels, of product thumbnails.
const ThumbnailSize = 256

// ThumbnailURL returns a sized variant of the product image, at most
// ThumbnailSize pixels on each side, asked of the image host by query.
func (p *Product) ThumbnailURL() string { return thumbnails.of(p.ImageURL) }

// Order is a customer's order. It keeps UserID for the customer loader.
//
// Its customer, and its items' products, are attached by the resolver
// that lists the orders, for the whole list at once (resolve.Attach), and
// read by gqlgen through methods without a context: so gqlgen marshals
// them in place, without a goroutine and a loader call per order and per
// item.
type Order struct {
	ID       string
	UserID   string
	Status   OrderStatus
	PlacedAt time.Time
	Total    Money
	Items    []*OrderItem

	customer attached[User]
}

// OrderItem is one line of an order. It keeps ProductID for the product
// loader.
type OrderItem struct {
	ProductID string
	Quantity  int
	UnitPrice Money

	product attached[Product]
}

// attached is a value fetched for a whole list and attached to one of its
// elements: the value, or why there is none.
type attached[T any] struct {
	value *T
	err   error
	set   bool
}

// get returns the attached value, or its error; field names the field
// for the error when nothing was attached (a resolver that forgot to).
func (a attached[T]) get(field string) (*T, error) {
	if !a.set {
		return nil, fmt.Errorf("%s was not loaded with its list: %w", field, errNotAttached)
	}
	return a.value, a.err
}

// errNotAttached is a resolver's mistake, never the client's: the edge
// answers it as an internal error.
var errNotAttached = errors.New("a field was not attached")

// AttachCustomer sets the order's customer, or the error that stands for
// it.
func (o *Order) AttachCustomer(u *User, err error) { o.customer = attached[User]{u, err, true} }

// Customer is who placed the order, as attached.
func (o *Order) Customer() (*User, error) { return o.customer.get("Order.customer") }

// AttachProduct sets the item's product, or the error that stands for it.
func (it *OrderItem) AttachProduct(p *Product, err error) {
	it.product = attached[Product]{p, err, true}
}

// Product is the item's product, as attached.
func (it *OrderItem) Product() (*Product, error) { return it.product.get("OrderItem.product") }

// ThumbnailURL is a small image of the first item's product (nil for an
// order without items), as attached.
func (o *Order) ThumbnailURL() (*string, error) {
	if len(o.Items) == 0 {
		return nil, nil
	}
	p, err := o.Items[0].Product()
	if err != nil || p == nil {
		return nil, err
	}
	u := p.ThumbnailURL()
	return &u, nil
}

// OrderFromAPI converts an order of the order service.
func OrderFromAPI(o contract.Order) *Order {
	items := make([]*OrderItem, len(o.Items))
	for i, it := range o.Items {
		items[i] = &OrderItem{
			ProductID: it.ProductID,
			Quantity:  it.Quantity,
			UnitPrice: Money{Cents: int(it.UnitPriceCents), Currency: o.Currency},
		}
	}
	return &Order{
		ID:       o.ID,
		UserID:   o.UserID,
		Status:   OrderStatus(strings.ToUpper(o.Status)),
		PlacedAt: o.CreatedAt,
		Total:    Money{Cents: int(o.TotalCents), Currency: o.Currency},
		Items:    items,
	}
}

// ItemCount is the sum of the items' quantities.
func (o *Order) ItemCount() int {
	n := 0
	for _, it := range o.Items {
		n += it.Quantity
	}
	return n
}

// TotalFormatted returns the total ready to show.
func (o *Order) TotalFormatted() string { return o.Total.Formatted() }
