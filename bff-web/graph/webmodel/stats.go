package webmodel

import (
	"sync"

	"github.com/acme/bff-gateway/internal/contract"
)

// Stats are the store's totals. The order figures come from one call of
// the order service, shared by the fields that need them.
type Stats struct {
	orderStats func() (contract.OrderStats, error)
}

// NewStats returns Stats whose order figures come from fetch, called at
// most once and only when a field asks for them.
func NewStats(fetch func() (contract.OrderStats, error)) *Stats {
	return &Stats{orderStats: sync.OnceValues(fetch)}
}

// OrderStats returns the order service's totals.
func (s *Stats) OrderStats() (contract.OrderStats, error) { return s.orderStats() }
