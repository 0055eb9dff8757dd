package app_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/acme/bff-gateway/bff-web/app"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
)

var buildWeb = app.NewWithDeps

// TestPrivateDataNeverCrossesUsers runs two customers' requests
// concurrently through one BFF: each sees only their own user and orders.
func TestPrivateDataNeverCrossesUsers(t *testing.T) {
	env := startWebWith(t, seed.Sizes{}, nil)
	type customer struct {
		email, password, id string
		client              *bfftest.Client
		orders              map[string]bool
	}
	customers := []*customer{
		{email: "ada@example.com", password: "ada123", id: seed.UserID(1)},
		{email: "grace@example.com", password: "grace123", id: seed.UserID(2)},
	}
	for _, c := range customers {
		c.client = signIn(t, env, c.email, c.password)
		tok := env.Stack.Token(t, c.email, c.password)
		_, body := testutil.Do(t, http.DefaultClient, "GET", env.Stack.Order.URL+"/v1/orders?limit=100", tok, nil, nil)
		c.orders = map[string]bool{}
		for _, o := range testutil.MustJSON[contract.OrderPage](t, body).Orders {
			c.orders[o.ID] = true
		}
	}
	type answer struct {
		Viewer struct {
			ID     string `json:"id"`
			Email  string `json:"email"`
			Orders struct {
				Edges []struct {
					Node struct {
						ID string `json:"id"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"orders"`
		} `json:"viewer"`
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for round := range 20 {
		for _, c := range customers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.client.Op(t, "Dashboard", map[string]any{"orders": 15})
				a := bfftest.Decode[answer](t, r)
				if a.Viewer.ID != c.id || a.Viewer.Email != c.email {
					errs <- fmt.Errorf("round %d: %s saw viewer %s (%s)", round, c.email, a.Viewer.ID, a.Viewer.Email)
				}
				if len(a.Viewer.Orders.Edges) == 0 {
					errs <- fmt.Errorf("round %d: %s saw no orders: %s", round, c.email, r.Raw)
				}
				for _, e := range a.Viewer.Orders.Edges {
					if !c.orders[e.Node.ID] {
						errs <- fmt.Errorf("round %d: %s saw order %s, not theirs", round, c.email, e.Node.ID)
					}
				}
				for id := range c.orders {
					r := c.client.Op(t, "OrderDetail", map[string]any{"id": id})
					cust := bfftest.Decode[struct {
						Order struct {
							Customer struct{ ID string } `json:"customer"`
						} `json:"order"`
					}](t, r)
					if cust.Order.Customer.ID != c.id {
						errs <- fmt.Errorf("round %d: %s's order %s came with customer %q", round, c.email, id, cust.Order.Customer.ID)
					}
					break
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
