package websafety_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/websafety"
)

var wantHeaders = map[string]string{
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "no-referrer",
	"X-Frame-Options":            "DENY",
	"Cross-Origin-Opener-Policy": "same-origin",
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := websafety.SecurityHeaders(reached)
	for _, method := range []string{"GET", "POST", "OPTIONS"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/graphql", nil))
		for k, want := range wantHeaders {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", method, k, got, want)
			}
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("%s: Content-Security-Policy %q", method, got)
		}
		if !strings.Contains(rec.Body.String(), "reached") {
			t.Errorf("%s: the handler was not called", method)
		}
	}
	// A refusal written by middleware inside keeps the headers.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: "s1"})
	websafety.SecurityHeaders(websafety.CSRF(cookieName)(reached)).ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || rec.Header().Get("X-Frame-Options") != "DENY" || rec.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("CSRF refusal: status %d, header %v", rec.Code, rec.Header())
	}
}

// directives splits a policy into its directives by name.
func directives(t *testing.T, policy string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		if _, dup := out[f[0]]; dup {
			t.Errorf("directive %s appears twice in %q", f[0], policy)
		}
		out[f[0]] = f[1:]
	}
	return out
}

func TestPlaygroundCSP(t *testing.T) {
	t.Parallel()
	policy := websafety.PlaygroundCSP
	for _, bad := range []string{"'unsafe-eval'", "*", "http:", "https:", "'strict-dynamic'", "blob:"} {
		if strings.Contains(policy, bad) {
			t.Errorf("policy allows %s: %q", bad, policy)
		}
	}
	d := directives(t, policy)
	want := map[string][]string{
		"default-src": {"'none'"},
		"script-src":  {"'self'"},
		// Monaco's run-time <style> elements and style attributes.
		"style-src":       {"'self'", "'unsafe-inline'"},
		"font-src":        {"'self'", "data:"},
		"img-src":         {"'self'", "data:"},
		"connect-src":     {"'self'"},
		"worker-src":      {"'self'"},
		"manifest-src":    {"'none'"},
		"object-src":      {"'none'"},
		"base-uri":        {"'none'"},
		"form-action":     {"'none'"},
		"frame-ancestors": {"'none'"},
	}
	for name, w := range want {
		if strings.Join(d[name], " ") != strings.Join(w, " ") {
			t.Errorf("%s %v, want %v", name, d[name], w)
		}
	}
	for name := range d {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected directive %s %v", name, d[name])
		}
	}
}

func TestPlaygroundReplacesThePolicyOnly(t *testing.T) {
	t.Parallel()
	h := websafety.SecurityHeaders(websafety.Playground(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "<p>page</p>")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusTeapot || rec.Header().Get("Cache-Control") != "no-cache" || rec.Body.String() != "<p>page</p>" {
		t.Errorf("status %d, header %v, body %q", rec.Code, rec.Header(), rec.Body)
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != websafety.PlaygroundCSP {
		t.Errorf("policy %q, want PlaygroundCSP", got)
	}
	for k, want := range wantHeaders {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
}
