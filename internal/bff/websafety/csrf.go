package websafety

import (
	"mime"
	"net/http"

	"github.com/acme/bff-gateway/internal/bff/edge"
)

// CodeCSRFRejected is the extensions.code of a request refused by CSRF.
const CodeCSRFRejected = "CSRF_REJECTED"

// PreflightHeaders are the request headers CSRF accepts as proof that the
// request came from a page allowed to send it: none is CORS-safelisted,
// so a browser sends any of them cross-origin only after a preflight that
// CORS approved. Any non-empty value will do.
var PreflightHeaders = []string{"X-Requested-With", "Apollo-Require-Preflight", "X-CSRF-Protection"}

// simpleContentTypes are the media types a cross-site form or a no-cors
// fetch can send without a preflight.
var simpleContentTypes = map[string]bool{
	"application/x-www-form-urlencoded": true,
	"multipart/form-data":               true,
	"text/plain":                        true,
}

// CSRF returns middleware that refuses, with 403 and extensions.code
// CSRF_REJECTED, a request that carries the session cookie named
// cookieName but could have been sent by another site without a CORS
// preflight: one whose Content-Type is missing or is a form or text/plain
// type, unless it carries one of PreflightHeaders. So a POST of
// application/json (or application/graphql-response+json, or any other
// non-simple type) passes, and so does a GET with X-Requested-With; a
// cross-site form post or a header-less GET with the cookie is refused.
// Requests without the cookie pass: the cookie is not what would
// authenticate them. OPTIONS passes (CORS answers preflights).
//
// Wrap the GraphQL route with it, not the playground page or the probes.
func CSRF(cookieName string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodOptions || !hasCookie(r, cookieName) || preflighted(r) {
				next.ServeHTTP(w, r)
				return
			}
			edge.Refuse(w, r, http.StatusForbidden, CodeCSRFRejected,
				"this request could have come from another site: send it as a POST of application/json, "+
					"or add an X-Requested-With or Apollo-Require-Preflight header")
		})
	}
}

func hasCookie(r *http.Request, name string) bool {
	c, err := r.Cookie(name)
	return err == nil && c.Value != ""
}

// preflighted reports whether a browser would have sent r cross-origin
// only after a CORS preflight.
func preflighted(r *http.Request) bool {
	for _, h := range PreflightHeaders {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	// A type that does not parse is treated as simple: a browser's parser
	// may read it differently from ours, so only a clear non-simple type
	// counts.
	mediaType, _, err := mime.ParseMediaType(ct)
	return err == nil && !simpleContentTypes[mediaType]
}
