package authn_test

import (
	"context"
	"errors"
	"testing"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/authn"
)

func TestHasRole(t *testing.T) {
	t.Parallel()
	customer := &auth.Principal{Subject: "usr_customer", Role: auth.RoleCustomer, Token: "t"}
	admin := &auth.Principal{Subject: "usr_admin", Role: auth.RoleAdmin, Token: "t"}
	tests := []struct {
		name      string
		principal *auth.Principal
		role      auth.Role
		wantCode  apperr.Code // "" when next must run
		wantMsg   string
	}{
		{name: "anonymous, admin field", role: auth.RoleAdmin, wantCode: apperr.Unauthenticated, wantMsg: "authentication is required"},
		{name: "anonymous, customer field", role: auth.RoleCustomer, wantCode: apperr.Unauthenticated, wantMsg: "authentication is required"},
		{name: "customer, admin field", principal: customer, role: auth.RoleAdmin, wantCode: apperr.Forbidden, wantMsg: "this needs the admin role"},
		{name: "admin, customer field", principal: admin, role: auth.RoleCustomer, wantCode: apperr.Forbidden, wantMsg: "this needs the customer role"},
		{name: "no role", principal: &auth.Principal{Subject: "usr_x"}, role: auth.RoleCustomer, wantCode: apperr.Forbidden},
		{name: "customer, customer field", principal: customer, role: auth.RoleCustomer},
		{name: "admin, admin field", principal: admin, role: auth.RoleAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tt.principal != nil {
				ctx = auth.NewContextWithPrincipal(ctx, *tt.principal)
			}
			calls := 0
			next := func(ctx context.Context) (any, error) {
				calls++
				if p, ok := auth.PrincipalFromContext(ctx); !ok || tt.principal == nil || p != *tt.principal {
					t.Errorf("next ran with principal %+v (%v)", p, ok)
				}
				return "resolved", nil
			}
			got, err := authn.HasRole(ctx, nil, next, tt.role)
			if tt.wantCode == "" {
				if err != nil || got != "resolved" || calls != 1 {
					t.Fatalf("HasRole = %v, %v after %d calls of next, want the resolver's value after 1", got, err, calls)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != tt.wantCode {
				t.Fatalf("error %v, want code %s", err, tt.wantCode)
			}
			if tt.wantMsg != "" && e.Message != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Message, tt.wantMsg)
			}
			if got != nil || calls != 0 {
				t.Errorf("HasRole = %v after %d calls of next, want nil and no call", got, calls)
			}
		})
	}
}

func TestHasRolePassesTheResolversErrorOn(t *testing.T) {
	t.Parallel()
	ctx := auth.NewContextWithPrincipal(t.Context(), auth.Principal{Subject: "usr_admin", Role: auth.RoleAdmin})
	want := apperr.New(apperr.Unavailable, "down")
	got, err := authn.HasRole(ctx, nil, func(context.Context) (any, error) { return nil, want }, auth.RoleAdmin)
	if !errors.Is(err, want) || got != nil {
		t.Errorf("HasRole = %v, %v, want nil, %v", got, err, want)
	}
}
