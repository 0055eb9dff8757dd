package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-mobile/timezone"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/contract"
	"github.com/acme/bff-gateway/internal/seed"
)

// homeData is the Home document's answer.
type homeData struct {
	Home *struct {
		Greeting     *string `json:"greeting"`
		RecentOrders []struct {
			ID             string  `json:"id"`
			Status         string  `json:"status"`
			TotalFormatted string  `json:"totalFormatted"`
			ItemCount      int     `json:"itemCount"`
			ThumbnailURL   *string `json:"thumbnailUrl"`
		} `json:"recentOrders"`
		Featured []struct {
			ID             string `json:"id"`
			Name           string `json:"name"`
			PriceFormatted string `json:"priceFormatted"`
			ThumbnailURL   string `json:"thumbnailUrl"`
		} `json:"featured"`
	} `json:"home"`
}

// evening is 20:00 UTC.
var evening = time.Date(2026, time.July, 15, 20, 0, 0, 0, time.UTC)

func TestHome(t *testing.T) {
	t.Parallel()
	env := startMobileSeeded(t, fixedClock(evening), sixFeatured, nil)
	ada := signIn(t, env, adaEmail, adaPassword)
	token := env.Stack.Token(t, adaEmail, adaPassword)

	r := ada.Op(t, "Home", nil)
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("Home: %d %s", r.Status, r.Raw)
	}
	home := bfftest.Decode[homeData](t, r).Home
	if home == nil {
		t.Fatalf("home is null: %s", r.Raw)
	}
	if home.Greeting == nil || *home.Greeting != "Good evening, Ada" {
		t.Errorf("greeting %v at 20:00 UTC, want Good evening, Ada", home.Greeting)
	}

	// The three newest of Ada's orders, as the order service has them.
	want := rest[contract.OrderPage](t, token, env.Stack.Order.URL+"/v1/orders?limit=3&user_id="+seed.UserID(1))
	if len(want.Orders) != 3 || len(home.RecentOrders) != 3 {
		t.Fatalf("recentOrders has %d orders, the service %d; want 3", len(home.RecentOrders), len(want.Orders))
	}
	for i, o := range home.RecentOrders {
		w := want.Orders[i]
		items := 0
		for _, it := range w.Items {
			items += it.Quantity
		}
		if o.ID != w.ID || o.Status != strings.ToUpper(w.Status) || o.TotalFormatted != usd(w.TotalCents) || o.ItemCount != items {
			t.Errorf("recentOrders[%d] = %+v, want %s %s %s with %d items", i, o, w.ID, w.Status, usd(w.TotalCents), items)
		}
		first := rest[contract.Product](t, token, env.Stack.Product.URL+"/v1/products/"+w.Items[0].ProductID)
		wantThumbnail(t, o.ThumbnailURL, first.ImageURL)
	}

	// Six featured products, as the product service has them.
	featured := rest[contract.ProductList](t, token, env.Stack.Product.URL+"/v1/products/featured?limit=6")
	if len(home.Featured) != 6 || len(featured.Products) != 6 {
		t.Fatalf("featured has %d products, the service %d; want 6", len(home.Featured), len(featured.Products))
	}
	for i, p := range home.Featured {
		w := featured.Products[i]
		if p.ID != w.ID || p.Name != w.Name || p.PriceFormatted != usd(w.PriceCents) {
			t.Errorf("featured[%d] = %+v, want %s %q %s", i, p, w.ID, w.Name, usd(w.PriceCents))
		}
		wantThumbnail(t, &p.ThumbnailURL, w.ImageURL)
	}
}

func TestHomeNeedsAToken(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	r := appClient(env).Op(t, "Home", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Raw)
	}
	if home := bfftest.Decode[homeData](t, r).Home; home != nil {
		t.Errorf("home without a token: %s", r.Raw)
	}
	wantError(t, r, "home", "UNAUTHENTICATED")
}

// TestGreetingFollowsTheTimeZone asks for the greeting at 20:00 UTC from
// different time zones.
func TestGreetingFollowsTheTimeZone(t *testing.T) {
	t.Parallel()
	env := startMobile(t, fixedClock(evening))
	tests := []struct {
		name, zone, want string
	}{
		{"no header", "", "Good evening, Ada"},
		{"UTC", "UTC", "Good evening, Ada"},
		{"Tokyo at 05:00 the next day", "Asia/Tokyo", "Good morning, Ada"},
		{"New York at 16:00 EDT", "America/New_York", "Good afternoon, Ada"},
		{"Kolkata at 01:30 the next day", "Asia/Kolkata", "Good evening, Ada"},
		{"Honolulu at 10:00", "Pacific/Honolulu", "Good morning, Ada"},
		{"unknown zone", "Mars/Olympus_Mons", "Good evening, Ada"},
		{"a path", "../../etc/passwd", "Good evening, Ada"},
		{"the server's zone", "Local", "Good evening, Ada"},
		{"too long", strings.Repeat("A", 100), "Good evening, Ada"},
	}
	ada := signIn(t, env, adaEmail, adaPassword)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := appClient(env)
			c.Header.Set("Authorization", ada.Header.Get("Authorization"))
			if tt.zone != "" {
				c.Header.Set(timezone.Header, tt.zone)
			}
			r := c.Query(t, `query { home { greeting } }`, nil)
			d := bfftest.Decode[homeData](t, r)
			if len(r.Errors) > 0 || d.Home == nil || d.Home.Greeting == nil {
				t.Fatalf("home: %s", r.Raw)
			}
			if got := *d.Home.Greeting; got != tt.want {
				t.Errorf("X-Timezone %q: greeting %q, want %q", tt.zone, got, tt.want)
			}
		})
	}
}

// TestHomeUpstreamRequests counts the upstream requests of one Home: a
// user batch, one page of orders, one product batch for the orders'
// thumbnails and the featured products.
func TestHomeUpstreamRequests(t *testing.T) {
	t.Parallel()
	env := startMobileSeeded(t, nil, sixFeatured, nil)
	ada := signIn(t, env, adaEmail, adaPassword) // the warm-up: it fetches the JWKS
	env.Counter.Reset()
	r := ada.Op(t, "Home", nil)
	if len(r.Errors) > 0 || bfftest.Decode[homeData](t, r).Home == nil {
		t.Fatalf("Home: %s", r.Raw)
	}
	if n := env.Counter.Total(); n > 5 {
		t.Errorf("Home made %d upstream requests, want at most 5:\n%s", n, strings.Join(env.Counter.Requests(), "\n"))
	}
	t.Logf("Home: %d upstream requests: %v", env.Counter.Total(), env.Counter.Requests())
}
