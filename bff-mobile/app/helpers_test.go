package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/acme/bff-gateway/bff-mobile/app"
	"github.com/acme/bff-gateway/internal/bff"
	"github.com/acme/bff-gateway/internal/bff/authn"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/seed"
	"github.com/acme/bff-gateway/internal/testutil"
	"github.com/acme/bff-gateway/services/servicetest"
)

// The demo accounts.
const (
	adaEmail      = "ada@example.com"
	adaPassword   = "ada123"
	graceEmail    = "grace@example.com"
	gracePassword = "grace123"
)

// startMobile starts the mobile BFF over services with the small seed. A
// non-nil now is the BFF's clock.
func startMobile(t *testing.T, now func() time.Time) *bfftest.Env {
	t.Helper()
	return startMobileSeeded(t, now, seed.Sizes{}, nil)
}

// sixFeatured is the small seed with enough products for six featured ones
// (every tenth product is featured).
var sixFeatured = seed.Sizes{Users: servicetest.SmallSeed.Users, Products: 60, Orders: servicetest.SmallSeed.Orders}

// startMobileSeeded starts the mobile BFF over services seeded with sizes
// (zero: the small seed).
func startMobileSeeded(t testing.TB, now func() time.Time, sizes seed.Sizes, configure func(*config.Config)) *bfftest.Env {
	t.Helper()
	build := app.NewWithDeps
	if now != nil {
		build = func(opts bff.Options) (http.Handler, bff.Deps, error) {
			opts.Now = now
			return app.NewWithDeps(opts)
		}
	}
	return bfftest.Start(t, bfftest.Options{Kind: config.Mobile, Build: build, OperationsDir: "../operations",
		Stack: servicetest.StackOptions{Seed: sizes}, Configure: configure,
	})
}

// startMobileWith starts the mobile BFF over services with the small seed,
// with configure changing its configuration. configure runs after
// bfftest's own settings (the raised login limits), so it may set those.
func startMobileWith(t testing.TB, configure func(*config.Config)) *bfftest.Env {
	t.Helper()
	return bfftest.Start(t, bfftest.Options{Kind: config.Mobile, Build: app.NewWithDeps, OperationsDir: "../operations",
		Configure: configure,
	})
}

// fixedClock returns a clock stopped at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// appClient returns a client that sends the app's key, as the app does.
func appClient(env *bfftest.Env) *bfftest.Client {
	c := env.NewClient()
	c.Header.Set(authn.APIKeyHeader, env.APIKey())
	return c
}

// loginData is the Login document's answer.
type loginData struct {
	Login *struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expiresAt"`
		User      struct {
			ID        string `json:"id"`
			FirstName string `json:"firstName"`
		} `json:"user"`
	} `json:"login"`
}

// signIn logs in through the Login document and returns a client that
// sends the token it got, as the app does.
func signIn(t testing.TB, env *bfftest.Env, email, password string) *bfftest.Client {
	t.Helper()
	c := appClient(env)
	r := c.Op(t, "Login", map[string]any{"email": email, "password": password})
	d := bfftest.Decode[loginData](t, r)
	if len(r.Errors) > 0 || d.Login == nil || d.Login.Token == "" {
		t.Fatalf("login %s: %s", email, r.Raw)
	}
	c.Header.Set("Authorization", "Bearer "+d.Login.Token)
	return c
}

// rest GETs a service URL with a token and decodes the JSON answer.
func rest[T any](t *testing.T, token, url string) T {
	t.Helper()
	status, body := testutil.Do(t, http.DefaultClient, http.MethodGet, url, token, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	return testutil.MustJSON[T](t, body)
}

// usd formats cents as the app shows dollars, e.g. "$1,234.50".
func usd(cents int64) string {
	whole := strconv.FormatInt(cents/100, 10)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return fmt.Sprintf("$%s.%02d", whole, cents%100)
}

// wantThumbnail checks that got is image asked for at most 256 pixels.
func wantThumbnail(t *testing.T, got *string, image string) {
	t.Helper()
	if got == nil {
		t.Errorf("thumbnailUrl is null, want a thumbnail of %s", image)
		return
	}
	u, err := url.Parse(*got)
	if err != nil {
		t.Errorf("thumbnailUrl %q: %v", *got, err)
		return
	}
	q := u.Query()
	u.RawQuery = ""
	if u.String() != image || q.Get("w") != "256" || q.Get("h") != "256" {
		t.Errorf("thumbnailUrl %q, want %s with w=256 and h=256", *got, image)
	}
}

// wantError checks that r has exactly one error, at path, with code.
func wantError(t *testing.T, r bfftest.Response, path, code string) {
	t.Helper()
	if len(r.Errors) != 1 {
		t.Fatalf("want one error %s at %s, got %s", code, path, r.Raw)
	}
	if e := r.Errors[0]; e.PathString() != path || e.Code() != code {
		t.Errorf("error %q at %q code %q, want %s at %s", e.Message, e.PathString(), e.Code(), code, path)
	}
}
