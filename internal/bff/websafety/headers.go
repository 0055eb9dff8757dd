package websafety

import (
	"net/http"
)

// APICSP is the Content-Security-Policy of every answer but the GraphiQL
// page: JSON loads nothing and may not be framed.
const APICSP = "default-src 'none'; frame-ancestors 'none'"

// PlaygroundCSP is the Content-Security-Policy of the GraphiQL playground
// (internal/bff/playground), its page and its assets alike (a worker runs
// under the policy its script was served with). The playground is served
// whole by the BFF: its scripts, stylesheets, fonts and Monaco's web
// workers come from the BFF's own origin, its settings travel in a JSON
// data block rather than an inline script, and it sends its queries to the
// BFF. So the policy allows:
//
//   - scripts, workers and connections: 'self' only, with no
//     'unsafe-inline' and no 'unsafe-eval';
//   - styles: 'self' and 'unsafe-inline'. The Monaco editor that GraphiQL
//     5 is built on writes its theme (the colours of every token) into
//     <style> elements it creates at run time, and renders each line of
//     code as HTML with style attributes holding its position; without
//     'unsafe-inline' the browser refuses hundreds of these on page load
//     (seen in Chromium) and the editors lose their colours and layout. A
//     nonce or hash cannot cover them: Monaco sets no nonce, and the
//     values change as the user types. An inline style cannot run script;
//   - fonts and images: 'self' and data: URLs (GraphiQL's stylesheet
//     embeds its fonts and icons as data: URLs);
//   - nothing else: no plugins, no manifest, no framing, no <base>, no
//     form posts.
//
// The BFFs' browser tests fail on any violation of the policy.
const PlaygroundCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; " +
	"img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'none'; object-src 'none'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// SecurityHeaders sets the headers every answer carries:
// X-Content-Type-Options nosniff, Referrer-Policy no-referrer,
// X-Frame-Options DENY, Cross-Origin-Opener-Policy same-origin and
// Content-Security-Policy APICSP. The GraphiQL playground replaces the
// policy with its own; see Playground.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", APICSP)
		next.ServeHTTP(w, r)
	})
}

// Playground answers the GraphiQL playground, its page and its assets,
// with PlaygroundCSP in place of the API policy. Serve it under
// SecurityHeaders.
func Playground(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", PlaygroundCSP)
		next.ServeHTTP(w, r)
	})
}
