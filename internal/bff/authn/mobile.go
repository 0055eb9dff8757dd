package authn

import (
	"net/http"

	"github.com/acme/bff-gateway/internal/apperr"
	"github.com/acme/bff-gateway/internal/auth"
	"github.com/acme/bff-gateway/internal/bff/apikey"
	"github.com/acme/bff-gateway/internal/bff/edge"
	"github.com/acme/bff-gateway/internal/bff/request"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// APIKeyHeader carries the mobile app's key.
const APIKeyHeader = "X-API-Key"

// CodeInvalidAPIKey is the extensions.code of a request without a valid key.
const CodeInvalidAPIKey = "INVALID_API_KEY"

// MobileAuth returns middleware that admits only requests with a configured
// X-API-Key (401 otherwise) and verifies a bearer token when one is sent
// (401 for a bad one), putting the principal in the context. The key's
// name, never the key, goes into the request's logger.
func MobileAuth(keys *apikey.Set, v Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, ok := keys.Lookup(r.Header.Get(APIKeyHeader))
			if !ok {
				edge.Refuse(w, r, http.StatusUnauthorized, CodeInvalidAPIKey, "a valid X-API-Key header is required")
				return
			}
			ctx := r.Context()
			ctx = request.NewContextWithApp(ctx, name)
			ctx = requestctx.NewContextWithLogger(ctx, requestctx.LoggerFromContext(ctx).With("api_key", name))
			raw, err := auth.BearerToken(r.Header.Get("Authorization"))
			if err == nil && raw != "" {
				var p auth.Principal
				if p, err = v.Verify(ctx, raw); err == nil {
					ctx = auth.NewContextWithPrincipal(ctx, p)
				}
			}
			if err != nil {
				e, _ := apperr.As(err)
				edge.Refuse(w, r, http.StatusUnauthorized, edge.CodeUnauthenticated, e.Message)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
