package authn

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
)

// HasRole implements the @hasRole(role:) directive: without a signed-in
// user the field is null with UNAUTHENTICATED, with another role null with
// FORBIDDEN; the resolver is not called either way.
func HasRole(ctx context.Context, _ any, next graphql.Resolver, role auth.Role) (any, error) {
	p, err := auth.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p.Role != role {
		return nil, apperr.Errorf(apperr.Forbidden, "this needs the %s role", role)
	}
	return next(ctx)
}
