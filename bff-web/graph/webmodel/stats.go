package webmodel

import (
	"strings"
	"sync"

	"github.com/acme/bff-gateway/graph/model"
	"github.com/acme/bff-gateway/internal/contract"
)

// Stats are the store's totals, from three calls: the user and product
// counts and the order service's totals (shared by the fields that need
// them). Each call is made at most once; the fields read them as plain
// methods, so gqlgen resolves them without a goroutine each.
type Stats struct {
	users, products func() (int, error)
	orders          func() (contract.OrderStats, error)
}

// StatsSources are the calls behind Stats.
type StatsSources struct {
	Users, Products func() (int, error)
	Orders          func() (contract.OrderStats, error)
}

// StatsField names a field of Stats, as the schema does.
const (
	StatsUserCount      = "userCount"
	StatsProductCount   = "productCount"
	StatsOrderCount     = "orderCount"
	StatsRevenue        = "revenue"
	StatsOrdersByStatus = "ordersByStatus"
)

// ReadsOrderTotals tells whether the field of Stats named field reads the
// order service's totals.
func ReadsOrderTotals(field string) bool {
	switch field {
	case StatsOrderCount, StatsRevenue, StatsOrdersByStatus:
		return true
	}
	return false
}

// NewStats returns Stats over src once the calls that the fields of
// selected need (the fields an operation asks for) are made: they go
// upstream together, in one wave, all but the last in a goroutine of its
// own and the last in the caller's (whose stack has grown already: a new
// goroutine's grows, and is copied, on the way to the service). A call
// no selected field needs is made only if a field asks for it after all,
// then and there.
func NewStats(src StatsSources, selected []string) *Stats {
	s := &Stats{users: sync.OnceValues(src.Users), products: sync.OnceValues(src.Products), orders: sync.OnceValues(src.Orders)}
	var users, products, orders bool
	for _, f := range selected {
		switch f {
		case StatsUserCount:
			users = true
		case StatsProductCount:
			products = true
		default:
			orders = orders || ReadsOrderTotals(f)
		}
	}
	var calls []func()
	if users {
		calls = append(calls, func() { _, _ = s.users() })
	}
	if products {
		calls = append(calls, func() { _, _ = s.products() })
	}
	if orders {
		calls = append(calls, func() { _, _ = s.orders() })
	}
	for i, call := range calls {
		if i == len(calls)-1 {
			call()
			break
		}
		go call()
	}
	return s
}

// UserCount is the number of users.
func (s *Stats) UserCount() (*int, error) { return count(s.users) }

// ProductCount is the number of products.
func (s *Stats) ProductCount() (*int, error) { return count(s.products) }

func count(read func() (int, error)) (*int, error) {
	n, err := read()
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// OrderCount is the number of orders.
func (s *Stats) OrderCount() (*int, error) {
	st, err := s.orders()
	if err != nil {
		return nil, err
	}
	return &st.Count, nil
}

// Revenue is the sum of the totals of the orders not cancelled.
func (s *Stats) Revenue() (*model.Money, error) {
	st, err := s.orders()
	if err != nil {
		return nil, err
	}
	return &model.Money{Cents: int(st.RevenueCents), Currency: st.Currency}, nil
}

// OrdersByStatus counts the orders of each status, in the contract's
// order of statuses.
func (s *Stats) OrdersByStatus() ([]*StatusCount, error) {
	st, err := s.orders()
	if err != nil {
		return nil, err
	}
	out := make([]*StatusCount, 0, len(contract.OrderStatuses))
	for _, status := range contract.OrderStatuses {
		out = append(out, &StatusCount{Status: model.OrderStatus(strings.ToUpper(status)), Count: st.ByStatus[status]})
	}
	return out, nil
}
