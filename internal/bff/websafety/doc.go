// Package websafety holds the browser-facing defences of the web BFF:
// CSRF protection for its cookie session, a CORS policy for the origins
// allowed to call it with credentials, and the security headers of its
// answers (with a Content-Security-Policy of its own for the GraphiQL
// playground, which the BFF serves whole from its own origin).
//
// The order that works, outermost first:
//
//	SecurityHeaders → CORS → (mux: /graphql → CSRF → … → GraphQL; / → Playground)
//
// CORS must see a preflight before CSRF or authentication does; CSRF
// belongs on the GraphQL route only, so that a plain navigation to the
// playground or a probe is not refused because the browser sent the
// session cookie along.
package websafety
