package websafety

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// CORSAllowedHeaders are the request headers an allowed origin may send.
var CORSAllowedHeaders = []string{
	"Content-Type", "Authorization", "X-API-Key", "X-Request-ID",
	"Apollo-Require-Preflight", "X-Requested-With", "X-CSRF-Protection", "X-Timezone",
}

// CORSMaxAge is how long, in seconds, a browser may cache a preflight.
const CORSMaxAge = 600

// CORS returns middleware that lets the listed origins, and only those,
// call with credentials: their requests and preflights get
// Access-Control-Allow-Origin (their own origin, never "*") and
// Access-Control-Allow-Credentials; methods GET, POST and OPTIONS and the
// headers of CORSAllowedHeaders are allowed, and a preflight is cached
// CORSMaxAge seconds. Origins match exactly (scheme, host and port, as
// browsers send them): an entry with a wildcard, a path or "null" never
// matches anything; ValidateOrigins reports such entries. An empty list
// allows no other origin: the handler is returned as it is, with no CORS
// headers at all.
func CORS(allowedOrigins []string) func(http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, o := range allowedOrigins {
		if validOrigin(o) == nil {
			allowed[o] = true
		}
	}
	if len(allowed) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	c := cors.New(cors.Options{
		// AllowOriginFunc, not AllowedOrigins: rs/cors reads an empty list
		// as "every origin" and expands "*" inside an entry.
		AllowOriginFunc:  func(origin string) bool { return allowed[origin] },
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowedHeaders:   CORSAllowedHeaders,
		AllowCredentials: true,
		MaxAge:           CORSMaxAge,
	})
	return c.Handler
}

// ValidateOrigins reports every entry of origins that CORS would never
// match: it must be an http or https origin, scheme://host[:port] without
// a path, query, wildcard, trailing slash or default port, in lower case.
func ValidateOrigins(origins []string) error {
	var errs []error
	for _, o := range origins {
		if err := validOrigin(o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func validOrigin(o string) error {
	u, err := url.Parse(o)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
		return fmt.Errorf("allowed origin %q must be an http(s) scheme://host[:port]", o)
	case strings.ContainsAny(o, "* "):
		return fmt.Errorf("allowed origin %q: wildcards are not allowed with credentials", o)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return fmt.Errorf("allowed origin %q must not have a path, query or trailing slash", o)
	case (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443"):
		return fmt.Errorf("allowed origin %q: browsers leave the default port out", o)
	case o != strings.ToLower(u.Scheme)+"://"+strings.ToLower(u.Host):
		return fmt.Errorf("allowed origin %q must be lower case, as browsers send it", o)
	}
	return nil
}
