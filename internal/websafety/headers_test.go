package websafety_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/playground"

	"github.com/acme/bff-gateway/internal/websafety"
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
	req := httptest.NewRequest("POST", "/graphql", nil)
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

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// inline returns the contents of the page's elements <tag> without a src.
func inline(page, tag string) []string {
	var out []string
	for _, part := range strings.Split(page, "<"+tag+">")[1:] {
		body, _, ok := strings.Cut(part, "</"+tag+">")
		if ok {
			out = append(out, body)
		}
	}
	return out
}

func TestPlaygroundCSPOfGqlgensPage(t *testing.T) {
	t.Parallel()
	page := playground.Handler("bff-web", "/graphql",
		playground.WithGraphiqlEnablePluginExplorer(true),
		playground.WithGraphiqlUiHeaders(map[string]string{"X-API-Key": "dev-key"}))
	h := websafety.SecurityHeaders(websafety.Playground(page))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()

	// The page itself is untouched.
	direct := httptest.NewRecorder()
	page.ServeHTTP(direct, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || body != direct.Body.String() || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q; the page differs from gqlgen's: %v", rec.Code, rec.Header().Get("Content-Type"), body != direct.Body.String())
	}
	for k, want := range wantHeaders {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}

	policy := rec.Header().Get("Content-Security-Policy")
	if policy != websafety.PlaygroundCSP(direct.Body.Bytes()) {
		t.Errorf("the page's policy %q is not PlaygroundCSP of the page", policy)
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https: ", "'strict-dynamic'"} {
		if strings.Contains(policy, bad) {
			t.Errorf("policy allows %s: %q", bad, policy)
		}
	}
	d := directives(t, policy)
	for name, want := range map[string][]string{
		"default-src":     {"'none'"},
		"connect-src":     {"'self'"},
		"font-src":        {websafety.PlaygroundCDN, "data:"},
		"img-src":         {websafety.PlaygroundCDN, "data:"},
		"frame-ancestors": {"'none'"},
		"base-uri":        {"'none'"},
		"form-action":     {"'none'"},
	} {
		if strings.Join(d[name], " ") != strings.Join(want, " ") {
			t.Errorf("%s %v, want %v", name, d[name], want)
		}
	}

	// Scripts: exactly the CDN files the page loads, and the inline
	// bootstrap by its hash.
	var wantScripts []string
	for _, m := range regexp.MustCompile(`<script\s+src="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], websafety.PlaygroundCDN+"/") {
			t.Fatalf("the page loads a script from elsewhere: %s", m[1])
		}
		wantScripts = append(wantScripts, m[1])
	}
	scripts := inline(body, "script")
	if len(wantScripts) < 3 || len(scripts) != 1 {
		t.Fatalf("gqlgen's page changed: %d CDN scripts, %d inline scripts", len(wantScripts), len(scripts))
	}
	wantScripts = append(wantScripts, hashOf(scripts[0]))
	if got := strings.Join(d["script-src"], " "); got != strings.Join(wantScripts, " ") {
		t.Errorf("script-src %s\nwant       %s", got, strings.Join(wantScripts, " "))
	}

	// Styles: the CDN stylesheets and the inline style by its hash.
	styles := inline(body, "style")
	if len(styles) != 1 {
		t.Fatalf("gqlgen's page has %d inline styles, want 1", len(styles))
	}
	ss := d["style-src"]
	if len(ss) != 3 || ss[0] != hashOf(styles[0]) || !strings.HasPrefix(ss[1], websafety.PlaygroundCDN+"/npm/graphiql@") ||
		!strings.HasPrefix(ss[2], websafety.PlaygroundCDN+"/npm/@graphiql/plugin-explorer@") {
		t.Errorf("style-src %v", ss)
	}

	// Other options make another inline script, hence another hash.
	other := httptest.NewRecorder()
	websafety.Playground(playground.Handler("bff-mobile", "/graphql")).ServeHTTP(other, httptest.NewRequest("GET", "/", nil))
	if directives(t, other.Header().Get("Content-Security-Policy"))["script-src"][3] == hashOf(scripts[0]) {
		t.Error("two pages with different bootstraps got the same hash")
	}
}

func TestPlaygroundCSPAllowsNothingElse(t *testing.T) {
	t.Parallel()
	page := `<html><head>
<script src="https://evil.example/x.js"></script>
<script src="http://cdn.jsdelivr.net/npm/a.js"></script>
<script src="https://cdn.jsdelivr.net/npm/a.js; script-src *"></script>
<script src="https://cdn.jsdelivr.net/npm/ok@1/ok.js"></script>
<link rel="stylesheet" href="https://evil.example/x.css">
<link rel="icon" href="https://cdn.jsdelivr.net/npm/icon.png">
</head><body><script>boot()</script><script>boot()</script></body></html>`
	d := directives(t, websafety.PlaygroundCSP([]byte(page)))
	if got, want := strings.Join(d["script-src"], " "), "https://cdn.jsdelivr.net/npm/ok@1/ok.js "+hashOf("boot()"); got != want {
		t.Errorf("script-src %q, want %q", got, want)
	}
	if got := strings.Join(d["style-src"], " "); got != "'none'" {
		t.Errorf("style-src %q, want 'none'", got)
	}
}

func TestPlaygroundKeepsThePagesStatusAndHeaders(t *testing.T) {
	t.Parallel()
	h := websafety.Playground(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "<script>x()</script>")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot || rec.Header().Get("Cache-Control") != "no-store" || rec.Body.String() != "<script>x()</script>" ||
		rec.Header().Get("Content-Length") != "20" {
		t.Errorf("status %d, header %v, body %q", rec.Code, rec.Header(), rec.Body)
	}
	if !strings.Contains(rec.Header().Get("Content-Security-Policy"), hashOf("x()")) {
		t.Errorf("policy %q lacks the inline script's hash", rec.Header().Get("Content-Security-Policy"))
	}
}
