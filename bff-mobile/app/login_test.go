package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
	"github.com/acme/bff-gateway/internal/seed"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	c := appClient(env)
	before := time.Now()
	r := c.Op(t, "Login", map[string]any{"email": adaEmail, "password": adaPassword})
	after := time.Now()
	login := bfftest.Decode[loginData](t, r).Login
	if r.Status != http.StatusOK || len(r.Errors) > 0 || login == nil {
		t.Fatalf("Login: %d %s", r.Status, r.Raw)
	}
	if login.User.ID != seed.UserID(1) || login.User.FirstName != "Ada" {
		t.Errorf("user %+v, want Ada (%s)", login.User, seed.UserID(1))
	}
	// expiresAt is a DateTime in whole seconds, 15 minutes ahead.
	const ttl = 15 * time.Minute
	if lo, hi := before.Add(ttl-time.Second), after.Add(ttl+time.Second); login.ExpiresAt.Before(lo) || login.ExpiresAt.After(hi) {
		t.Errorf("expiresAt %s, want between %s and %s", login.ExpiresAt, lo, hi)
	}

	// The token is Ada's, and the BFF takes it from then on.
	p, err := env.Deps.Verifier.Verify(context.Background(), login.Token)
	if err != nil || p.Subject != seed.UserID(1) {
		t.Errorf("the token verifies as %q, %v; want Ada", p.Subject, err)
	}
	c.Header.Set("Authorization", "Bearer "+login.Token)
	r = c.Op(t, "OrderList", map[string]any{"first": 1})
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"items":[{`) {
		t.Errorf("OrderList with the token: %s", r.Raw)
	}
}

func TestLoginWithWrongCredentials(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	tests := []struct{ name, email, password string }{
		{"wrong password", adaEmail, "not-ada123"},
		{"unknown email", "nobody@example.com", adaPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := appClient(env).Op(t, "Login", map[string]any{"email": tt.email, "password": tt.password})
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.Status, r.Raw)
			}
			if login := bfftest.Decode[loginData](t, r).Login; login != nil {
				t.Errorf("login is not null: %s", r.Raw)
			}
			wantError(t, r, "login", "UNAUTHENTICATED")
		})
	}
}

// TestAPIKeyIsRequired sends requests without a valid key: each is refused
// before anything goes upstream.
func TestAPIKeyIsRequired(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	tests := []struct{ name, key, op string }{
		{"no key", "", "Product"},
		{"a wrong key", "not-the-app-key", "Product"},
		{"a key too long", strings.Repeat("k", 300), "Product"},
		{"no key to log in", "", "Login"},
	}
	vars := map[string]any{"id": seed.ProductID(0), "email": adaEmail, "password": adaPassword}
	for _, tt := range tests {
		// Not in parallel: each counts the environment's upstream requests.
		t.Run(tt.name, func(t *testing.T) {
			c := env.NewClient()
			if tt.key != "" {
				c.Header.Set("X-API-Key", tt.key)
			}
			env.Counter.Reset()
			r := c.Op(t, tt.op, vars)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401: %s", r.Status, r.Raw)
			}
			if len(r.Errors) != 1 || r.Errors[0].Code() != "INVALID_API_KEY" {
				t.Errorf("want one INVALID_API_KEY error: %s", r.Raw)
			}
			if n := env.Counter.Total(); n != 0 {
				t.Errorf("%d upstream requests, want none: %v", n, env.Counter.Requests())
			}
		})
	}
}

func TestBadTokenIsRefused(t *testing.T) {
	t.Parallel()
	env := startMobile(t, nil)
	for _, auth := range []string{"Bearer garbage", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", "Bearer "} {
		c := appClient(env)
		c.Header.Set("Authorization", auth)
		r := c.Op(t, "Product", map[string]any{"id": seed.ProductID(0)})
		if r.Status != http.StatusUnauthorized || len(r.Errors) != 1 || r.Errors[0].Code() != "UNAUTHENTICATED" {
			t.Errorf("Authorization %q: %d %s, want 401 UNAUTHENTICATED", auth, r.Status, r.Raw)
		}
	}
}
