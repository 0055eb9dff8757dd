package websafety_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/websafety"
)

const cookieName = "bff_session"

// reached answers 200 "reached" so that tests see whether a request got
// through.
var reached = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":{"reached":true}}`))
})

func TestCSRF(t *testing.T) {
	t.Parallel()
	h := websafety.CSRF(cookieName)(reached)
	tests := []struct {
		name        string
		method      string
		cookie      string // value of the session cookie; "" sends none
		contentType string
		header      string // a header name sent with value "1"
		pass        bool
	}{
		// A request a cross-site form or a no-cors fetch can send, with the cookie.
		{"cookie, POST text/plain", "POST", "s1", "text/plain", "", false},
		{"cookie, POST text/plain with charset", "POST", "s1", "text/plain; charset=utf-8", "", false},
		{"cookie, POST form", "POST", "s1", "application/x-www-form-urlencoded", "", false},
		{"cookie, POST multipart", "POST", "s1", "multipart/form-data; boundary=xyz", "", false},
		{"cookie, POST without Content-Type", "POST", "s1", "", "", false},
		{"cookie, POST unparsable Content-Type", "POST", "s1", "application/json;;=", "", false},
		{"cookie, GET without header", "GET", "s1", "", "", false},
		{"cookie, HEAD without header", "HEAD", "s1", "", "", false},

		// A request only a page that passed a CORS preflight can send.
		{"cookie, POST JSON", "POST", "s1", "application/json", "", true},
		{"cookie, POST JSON with charset", "POST", "s1", "application/json; charset=utf-8", "", true},
		{"cookie, POST JSON in capitals", "POST", "s1", "Application/JSON", "", true},
		{"cookie, POST graphql-response+json", "POST", "s1", "application/graphql-response+json", "", true},
		{"cookie, POST another non-simple type", "POST", "s1", "application/graphql", "", true},
		{"cookie, GET with X-Requested-With", "GET", "s1", "", "X-Requested-With", true},
		{"cookie, GET with Apollo-Require-Preflight", "GET", "s1", "", "Apollo-Require-Preflight", true},
		{"cookie, GET with X-CSRF-Protection", "GET", "s1", "", "X-CSRF-Protection", true},
		{"cookie, POST text/plain with X-Requested-With", "POST", "s1", "text/plain", "X-Requested-With", true},
		{"cookie, GET with a JSON Content-Type", "GET", "s1", "application/json", "", true},
		{"cookie, OPTIONS", "OPTIONS", "s1", "", "", true},

		// Without the cookie nothing is authenticated by it.
		{"no cookie, POST text/plain", "POST", "", "text/plain", "", true},
		{"no cookie, POST form", "POST", "", "application/x-www-form-urlencoded", "", true},
		{"no cookie, GET", "GET", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "/graphql", strings.NewReader(`{"query":"{__typename}"}`))
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: cookieName, Value: tt.cookie})
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.header != "" {
				req.Header.Set(tt.header, "1")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tt.pass {
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "reached") {
					t.Errorf("status %d %s, want it passed on", rec.Code, rec.Body)
				}
				return
			}
			wantCSRFRejected(t, rec)
		})
	}
}

func wantCSRFRejected(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d %s, want 403", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q, want application/json; charset=utf-8", ct)
	}
	var body struct {
		Data   any `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %s", rec.Body)
	}
	if len(body.Errors) != 1 || body.Errors[0].Extensions["code"] != websafety.CodeCSRFRejected || body.Errors[0].Message == "" {
		t.Errorf("errors %+v, want one %s", body.Errors, websafety.CodeCSRFRejected)
	}
	if body.Data != nil || strings.Contains(rec.Body.String(), "reached") {
		t.Errorf("a refused request reached the handler: %s", rec.Body)
	}
}

func TestCSRFLooksOnlyAtItsOwnCookie(t *testing.T) {
	t.Parallel()
	h := websafety.CSRF(cookieName)(reached)
	for name, cookies := range map[string][]*http.Cookie{
		"another cookie":         {{Name: "theme", Value: "dark"}},
		"an empty session value": {{Name: cookieName, Value: ""}},
	} {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader("x"))
		req.Header.Set("Content-Type", "text/plain")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d, want passed on", name, rec.Code)
		}
	}
	// The session cookie among others still counts.
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader("x"))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Cookie", "theme=dark; "+cookieName+"=s1; other=1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantCSRFRejected(t, rec)
}
