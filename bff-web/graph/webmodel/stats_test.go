package webmodel

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/acme/bff-gateway/internal/contract"
)

// sources counts the calls of each source; each call first says it began
// on began, then waits for gate to close.
type sources struct {
	users, products, orders atomic.Int32
	began                   chan string
	gate                    chan struct{}
	usersErr                error
}

func newSources() *sources {
	return &sources{began: make(chan string, 16), gate: make(chan struct{})}
}

func (s *sources) src() StatsSources {
	return StatsSources{
		Users: func() (int, error) {
			s.users.Add(1)
			s.began <- StatsUserCount
			<-s.gate
			return 200, s.usersErr
		},
		Products: func() (int, error) {
			s.products.Add(1)
			s.began <- StatsProductCount
			<-s.gate
			return 120, nil
		},
		Orders: func() (contract.OrderStats, error) {
			s.orders.Add(1)
			s.began <- "orders"
			<-s.gate
			return contract.OrderStats{Count: 5000, RevenueCents: 123456, Currency: "USD", ByStatus: map[string]int{"paid": 7}}, nil
		},
	}
}

// TestStatsStartTheSelectedCallsTogether checks that the calls the
// selected fields need all begin before any of them ends (one upstream
// wave), NewStats returning once they have, and that each is made once
// however many fields read it.
func TestStatsStartTheSelectedCallsTogether(t *testing.T) {
	s := newSources()
	made := make(chan *Stats, 1)
	go func() {
		made <- NewStats(s.src(), []string{StatsUserCount, StatsProductCount, StatsOrderCount, StatsRevenue, StatsOrdersByStatus})
	}()
	began := map[string]bool{}
	for range 3 {
		began[<-s.began] = true // none has ended: the three run at once
	}
	if !began[StatsUserCount] || !began[StatsProductCount] || !began["orders"] {
		t.Fatalf("began %v, want the three calls", began)
	}
	select {
	case <-made:
		t.Fatal("NewStats returned before its calls ended")
	default:
	}
	close(s.gate)
	st := <-made
	users, err1 := st.UserCount()
	products, err2 := st.ProductCount()
	orders, err3 := st.OrderCount()
	revenue, err4 := st.Revenue()
	byStatus, err5 := st.OrdersByStatus()
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		t.Fatal(err)
	}
	if *users != 200 || *products != 120 || *orders != 5000 || revenue.Cents != 123456 || revenue.Currency != "USD" {
		t.Errorf("users %d, products %d, orders %d, revenue %+v", *users, *products, *orders, revenue)
	}
	if len(byStatus) != len(contract.OrderStatuses) {
		t.Fatalf("%d statuses, want %d", len(byStatus), len(contract.OrderStatuses))
	}
	for i, sc := range byStatus {
		want := 0
		if contract.OrderStatuses[i] == "paid" {
			want = 7
		}
		if sc.Count != want {
			t.Errorf("%s: %d, want %d", sc.Status, sc.Count, want)
		}
	}
	if n := s.orders.Load(); n != 1 {
		t.Errorf("the order totals were read %d times for three fields, want once", n)
	}
}

// TestStatsCallOnlyWhatIsSelected checks that a call no selected field
// needs is not made, unless a field reads it after all (then it is made
// there and then), and that one call's error fails only its field.
func TestStatsCallOnlyWhatIsSelected(t *testing.T) {
	s := newSources()
	s.usersErr = errors.New("user service down")
	close(s.gate)
	st := NewStats(s.src(), []string{StatsOrderCount})
	if n, err := st.OrderCount(); err != nil || *n != 5000 {
		t.Fatalf("orderCount %v, %v", n, err)
	}
	if u, p := s.users.Load(), s.products.Load(); u != 0 || p != 0 {
		t.Errorf("users read %d times and products %d times; neither was selected", u, p)
	}
	if n, err := st.UserCount(); n != nil || err == nil {
		t.Errorf("userCount with the user service down: %v, %v; want its error", n, err)
	}
	if n, err := st.ProductCount(); err != nil || *n != 120 {
		t.Errorf("productCount read after all: %v, %v", n, err)
	}
	if u, p := s.users.Load(), s.products.Load(); u != 1 || p != 1 {
		t.Errorf("users read %d times and products %d times, want once each", u, p)
	}
}
