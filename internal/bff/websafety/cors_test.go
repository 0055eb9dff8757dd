package websafety_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/websafety"
)

const (
	app   = "https://app.example.com"
	local = "http://localhost:5173"
)

// corsAnswer is what a CORS test looks at.
type corsAnswer struct {
	status  int
	header  http.Header
	reached bool
}

func send(h http.Handler, method, origin string, header map[string]string) corsAnswer {
	req := httptest.NewRequest(method, "/graphql", nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return corsAnswer{status: rec.Code, header: rec.Header(), reached: strings.Contains(rec.Body.String(), "reached")}
}

func preflight(h http.Handler, origin, method, headers string) corsAnswer {
	m := map[string]string{"Access-Control-Request-Method": method}
	if headers != "" {
		m["Access-Control-Request-Headers"] = headers
	}
	return send(h, http.MethodOptions, origin, m)
}

func TestCORSActualRequests(t *testing.T) {
	t.Parallel()
	h := websafety.CORS([]string{app, local})(reached)
	tests := []struct {
		name, method, origin string
		allowed              bool
	}{
		{"allowed origin, POST", "POST", app, true},
		{"second allowed origin, GET", "GET", local, true},
		{"other origin", "POST", "https://evil.example", false},
		{"subdomain of an allowed origin", "POST", "https://evil.app.example.com", false},
		{"allowed origin as a prefix", "POST", "https://app.example.com.evil.example", false},
		{"other scheme", "POST", "http://app.example.com", false},
		{"other port", "POST", "https://app.example.com:8443", false},
		{"null origin", "POST", "null", false},
		{"no origin (same-origin or not a browser)", "POST", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := send(h, tt.method, tt.origin, nil)
			// CORS decides what a page may read; the request itself goes on.
			if a.status != http.StatusOK || !a.reached {
				t.Errorf("status %d, reached %v: want passed on", a.status, a.reached)
			}
			acao, acac := a.header.Get("Access-Control-Allow-Origin"), a.header.Get("Access-Control-Allow-Credentials")
			if tt.allowed {
				if acao != tt.origin || acac != "true" {
					t.Errorf("Allow-Origin %q, Allow-Credentials %q; want %q and true", acao, acac, tt.origin)
				}
			} else if acao != "" || acac != "" {
				t.Errorf("Allow-Origin %q, Allow-Credentials %q; want neither", acao, acac)
			}
			if !strings.Contains(strings.Join(a.header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q lacks Origin: caches would mix origins", a.header.Values("Vary"))
			}
		})
	}
}

func TestCORSPreflights(t *testing.T) {
	t.Parallel()
	h := websafety.CORS([]string{app, local})(reached)

	// Browsers send the requested headers lower case and sorted.
	a := preflight(h, app, "POST", "apollo-require-preflight,content-type,x-requested-with")
	if a.status != http.StatusNoContent || a.reached {
		t.Errorf("allowed preflight: status %d, reached %v; want 204 answered by CORS", a.status, a.reached)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      app,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "POST",
		"Access-Control-Allow-Headers":     "apollo-require-preflight,content-type,x-requested-with",
		"Access-Control-Max-Age":           "600",
	} {
		if got := a.header.Get(k); got != want {
			t.Errorf("allowed preflight: %s %q, want %q", k, got, want)
		}
	}
	// Every header of the list is accepted, in one preflight.
	all := make([]string, len(websafety.CORSAllowedHeaders))
	for i, h := range websafety.CORSAllowedHeaders {
		all[i] = strings.ToLower(h)
	}
	slices.Sort(all)
	if a := preflight(h, local, "GET", strings.Join(all, ",")); a.header.Get("Access-Control-Allow-Origin") != local {
		t.Errorf("preflight with every allowed header was refused: %v", a.header)
	}

	for name, a := range map[string]corsAnswer{
		"other origin":        preflight(h, "https://evil.example", "POST", "content-type"),
		"method not allowed":  preflight(h, app, "DELETE", ""),
		"header not allowed":  preflight(h, app, "POST", "content-type,x-evil"),
		"cookie as a header":  preflight(h, app, "POST", "cookie"),
		"null origin":         preflight(h, "null", "POST", "content-type"),
		"wildcard-ish origin": preflight(h, "https://x.app.example.com", "POST", ""),
	} {
		if a.reached {
			t.Errorf("%s: the preflight reached the handler", name)
		}
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods"} {
			if v := a.header.Get(k); v != "" {
				t.Errorf("%s: %s %q, want none", name, k, v)
			}
		}
	}
}

func TestCORSWithoutOriginsIsSameOriginOnly(t *testing.T) {
	t.Parallel()
	// An empty list, and a list whose entries can never match (a wildcard
	// would be a hole with credentials), add no CORS headers at all.
	for name, origins := range map[string][]string{
		"empty":           nil,
		"wildcard":        {"*"},
		"wildcard origin": {"https://*.example.com"},
	} {
		h := websafety.CORS(origins)(reached)
		for _, a := range []corsAnswer{
			send(h, "POST", app, nil),
			send(h, "GET", "https://evil.example", nil),
			preflight(h, app, "POST", "content-type"),
		} {
			for k := range a.header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s: answer carries %s: %q", name, k, a.header.Get(k))
				}
			}
			if !a.reached {
				t.Errorf("%s: the request did not reach the handler", name)
			}
		}
	}
}

func TestValidateOrigins(t *testing.T) {
	t.Parallel()
	if err := websafety.ValidateOrigins([]string{app, local, "http://127.0.0.1:3000", "https://[::1]:8443"}); err != nil {
		t.Errorf("valid origins: %v", err)
	}
	for _, bad := range []string{
		"*", "null", "", "app.example.com", "ftp://app.example.com", "https://*.example.com",
		"https://app.example.com/", "https://app.example.com/path", "https://App.Example.com",
		"https://app.example.com:443", "http://app.example.com:80", "https://user@app.example.com",
		"https://app.example.com?x=1",
	} {
		err := websafety.ValidateOrigins([]string{app, bad})
		if err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.Contains(err.Error(), app+`"`) {
			t.Errorf("%q: the valid entry was reported too: %v", bad, err)
		}
	}
}
