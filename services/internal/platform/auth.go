package platform

import (
	"crypto/subtle"
	"net/http"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/problem"
)

// Authenticate returns middleware that verifies a bearer token when one is
// sent and puts its principal in the context. A request without a token
// goes on anonymous; a bad token is answered 401.
func Authenticate(v *auth.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := auth.BearerToken(r.Header.Get("Authorization"))
			if err != nil {
				problem.Write(w, r, err)
				return
			}
			if raw == "" {
				next.ServeHTTP(w, r)
				return
			}
			p, err := v.Verify(r.Context(), raw)
			if err != nil {
				problem.Write(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.NewContextWithPrincipal(r.Context(), p)))
		})
	}
}

// RequireServiceToken returns middleware that admits only requests bearing
// the given service credential (compared in constant time); user tokens
// are refused.
func RequireServiceToken(token string) func(http.Handler) http.Handler {
	want := []byte(token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, err := auth.BearerToken(r.Header.Get("Authorization"))
			if err != nil || got == "" {
				problem.Write(w, r, apperr.New(apperr.Unauthenticated, "a service token is required"))
				return
			}
			if len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				problem.Write(w, r, apperr.New(apperr.Forbidden, "this endpoint is for internal callers only"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
