package auth

import (
	"context"
	"strings"

	"github.com/acme/bff-gateway/internal/apperr"
)

// Role is a user's role as carried in tokens.
type Role string

// The roles a user can have.
const (
	RoleCustomer Role = "customer"
	RoleAdmin    Role = "admin"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	// Subject is the user id (the token's sub claim).
	Subject string
	// Role is the user's role (the token's role claim).
	Role Role
	// Token is the raw bearer token, forwarded to downstream services.
	Token string
}

// IsAdmin reports whether the principal has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying the authenticated principal.
func NewContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal and whether there is one.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// MaxAuthorizationBytes bounds the Authorization header that is parsed.
const MaxAuthorizationBytes = 8 << 10

// BearerToken extracts the token of an "Authorization: Bearer" header. It
// returns "" and no error when there is no header, and Unauthenticated for
// any other scheme, an empty token or an oversized header.
func BearerToken(header string) (string, error) {
	if header == "" {
		return "", nil
	}
	if len(header) > MaxAuthorizationBytes {
		return "", apperr.New(apperr.Unauthenticated, "the authorization header is too large")
	}
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", apperr.New(apperr.Unauthenticated, "use an Authorization: Bearer token")
	}
	return token, nil
}

// RequirePrincipal returns the caller, or an Unauthenticated error when the
// request carried no token; or an Unavailable one when its credentials
// could not be checked for now (NewContextWithCredentialsUnchecked): a
// signed-in user is then not told to sign in again.
func RequirePrincipal(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFromContext(ctx)
	if !ok {
		if unchecked, _ := ctx.Value(uncheckedKey{}).(bool); unchecked {
			return Principal{}, apperr.New(apperr.Unavailable, "your sign-in cannot be checked right now; try again in a moment")
		}
		return Principal{}, apperr.New(apperr.Unauthenticated, "authentication is required")
	}
	return p, nil
}

type uncheckedKey struct{}

// NewContextWithCredentialsUnchecked marks a request whose credentials
// (a session cookie) could not be checked, the store that holds them
// failing: what needs a principal is then Unavailable, not
// Unauthenticated, and public fields still answer.
func NewContextWithCredentialsUnchecked(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncheckedKey{}, true)
}

// RequireAdmin returns the caller when an admin, Forbidden for another
// user and Unauthenticated without a token.
func RequireAdmin(ctx context.Context) (Principal, error) {
	p, err := RequirePrincipal(ctx)
	if err != nil {
		return p, err
	}
	if !p.IsAdmin() {
		return p, apperr.New(apperr.Forbidden, "this needs the admin role")
	}
	return p, nil
}
