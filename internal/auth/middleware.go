package auth

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/httpapi"
	"github.com/acme/bff-gateway/internal/requestctx"
)

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

// Authenticate returns middleware that verifies a bearer token when one is
// sent and puts its principal in the context. A request without a token
// goes on anonymous; a bad token is answered 401.
func Authenticate(v *Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := BearerToken(r.Header.Get("Authorization"))
			if err != nil {
				httpapi.WriteError(w, r, err)
				return
			}
			if raw == "" {
				next.ServeHTTP(w, r)
				return
			}
			p, err := v.Verify(r.Context(), raw)
			if err != nil {
				httpapi.WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(requestctx.NewContextWithPrincipal(r.Context(), p)))
		})
	}
}

// RequirePrincipal returns the caller, or an Unauthenticated error when the
// request carried no token.
func RequirePrincipal(ctx context.Context) (requestctx.Principal, error) {
	p, ok := requestctx.PrincipalFromContext(ctx)
	if !ok {
		return requestctx.Principal{}, apperr.New(apperr.Unauthenticated, "authentication is required")
	}
	return p, nil
}

// RequireAdmin returns the caller when an admin, Forbidden for another
// user and Unauthenticated without a token.
func RequireAdmin(ctx context.Context) (requestctx.Principal, error) {
	p, err := RequirePrincipal(ctx)
	if err != nil {
		return p, err
	}
	if !p.IsAdmin() {
		return p, apperr.New(apperr.Forbidden, "this needs the admin role")
	}
	return p, nil
}

// RequireServiceToken returns middleware that admits only requests bearing
// the given service credential (compared in constant time); user tokens
// are refused.
func RequireServiceToken(token string) func(http.Handler) http.Handler {
	want := []byte(token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, err := BearerToken(r.Header.Get("Authorization"))
			if err != nil || got == "" {
				httpapi.WriteError(w, r, apperr.New(apperr.Unauthenticated, "a service token is required"))
				return
			}
			if len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				httpapi.WriteError(w, r, apperr.New(apperr.Forbidden, "this endpoint is for internal callers only"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
