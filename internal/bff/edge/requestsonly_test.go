package edge

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acme/bff-gateway/internal/requestctx"
)

const (
	ctJSON = "application/json; charset=utf-8"
	ctGRJ  = "application/graphql-response+json; charset=utf-8"
)

// gqlErrorBody is the only shape a refusal's body may have.
type gqlErrorBody struct {
	Message    string
	Code       string
	RequestID  string
	Extensions map[string]any
}

// decodeRefusal checks that body is exactly {"errors":[{"message":…,
// "extensions":{"code":…, …}}]} and returns its one error.
func decodeRefusal(t *testing.T, body []byte) gqlErrorBody {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	if len(top) != 1 || top["errors"] == nil {
		t.Fatalf("body %s: want only an errors member", body)
	}
	var errs []map[string]json.RawMessage
	if err := json.Unmarshal(top["errors"], &errs); err != nil || len(errs) != 1 {
		t.Fatalf("body %s: want one error (%v)", body, err)
	}
	e := errs[0]
	for k := range e {
		if k != "message" && k != "extensions" && k != "locations" {
			t.Errorf("body %s: unexpected member %q in the error", body, k)
		}
	}
	var out gqlErrorBody
	if err := json.Unmarshal(e["message"], &out.Message); err != nil || out.Message == "" {
		t.Errorf("body %s: message missing or not a string (%v)", body, err)
	}
	if err := json.Unmarshal(e["extensions"], &out.Extensions); err != nil {
		t.Fatalf("body %s: extensions: %v", body, err)
	}
	out.Code, _ = out.Extensions["code"].(string)
	out.RequestID, _ = out.Extensions["requestId"].(string)
	return out
}

func TestRequestsOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		method      string
		contentType string
		accept      string
		upgrade     string
		wantStatus  int    // 0: passed on to next
		wantCode    string // extensions.code of the refusal
		wantHeaders map[string]string
		wantCT      string
	}{
		// Passed on.
		{name: "GET", method: http.MethodGet},
		{name: "POST JSON", method: http.MethodPost, contentType: "application/json"},
		{name: "POST JSON with charset", method: http.MethodPost, contentType: "application/json; charset=utf-8", accept: "application/graphql-response+json"},
		{name: "OPTIONS", method: http.MethodOptions},
		{name: "OPTIONS passes whatever its headers", method: http.MethodOptions, accept: "text/html", upgrade: "websocket"},

		// Other methods.
		{name: "PUT", method: http.MethodPut, contentType: "application/json",
			wantStatus: 405, wantCode: CodeMethodNotAllowed, wantHeaders: map[string]string{"Allow": "GET, POST, OPTIONS"}, wantCT: ctJSON},
		{name: "DELETE in graphql-response+json", method: http.MethodDelete, accept: "application/graphql-response+json",
			wantStatus: 405, wantCode: CodeMethodNotAllowed, wantHeaders: map[string]string{"Allow": "GET, POST, OPTIONS"}, wantCT: ctGRJ},
		{name: "HEAD", method: http.MethodHead,
			wantStatus: 405, wantCode: CodeMethodNotAllowed, wantHeaders: map[string]string{"Allow": "GET, POST, OPTIONS"}, wantCT: ctJSON},
		{name: "PATCH with an upgrade: the method first", method: http.MethodPatch, upgrade: "websocket",
			wantStatus: 405, wantCode: CodeMethodNotAllowed, wantHeaders: map[string]string{"Allow": "GET, POST, OPTIONS"}, wantCT: ctJSON},

		// POST bodies that are not JSON.
		{name: "POST without Content-Type", method: http.MethodPost,
			wantStatus: 415, wantCode: CodeUnsupportedMediaType, wantHeaders: map[string]string{"Accept": "application/json", "Allow": ""}, wantCT: ctJSON},
		{name: "POST form", method: http.MethodPost, contentType: "application/x-www-form-urlencoded", accept: "application/graphql-response+json",
			wantStatus: 415, wantCode: CodeUnsupportedMediaType, wantHeaders: map[string]string{"Accept": "application/json"}, wantCT: ctGRJ},
		{name: "POST application/graphql", method: http.MethodPost, contentType: "application/graphql",
			wantStatus: 415, wantCode: CodeUnsupportedMediaType, wantHeaders: map[string]string{"Accept": "application/json"}, wantCT: ctJSON},
		{name: "POST multipart", method: http.MethodPost, contentType: "multipart/form-data; boundary=x",
			wantStatus: 415, wantCode: CodeUnsupportedMediaType, wantHeaders: map[string]string{"Accept": "application/json"}, wantCT: ctJSON},
		{name: "POST malformed Content-Type", method: http.MethodPost, contentType: "application/json; charset",
			wantStatus: 415, wantCode: CodeUnsupportedMediaType, wantHeaders: map[string]string{"Accept": "application/json"}, wantCT: ctJSON},
		{name: "POST text/plain with nothing acceptable: 415 first", method: http.MethodPost, contentType: "text/plain", accept: "text/html",
			wantStatus: 415, wantCode: CodeUnsupportedMediaType, wantCT: ctJSON},

		// Upgrades.
		{name: "GET upgrade", method: http.MethodGet, upgrade: "websocket",
			wantStatus: 400, wantCode: CodeBadUserInput, wantCT: ctJSON},
		{name: "POST upgrade in graphql-response+json", method: http.MethodPost, contentType: "application/json", accept: "application/graphql-response+json", upgrade: "websocket",
			wantStatus: 400, wantCode: CodeBadUserInput, wantCT: ctGRJ},
		{name: "upgrade with nothing acceptable: 400", method: http.MethodGet, accept: "text/html", upgrade: "h2c",
			wantStatus: 400, wantCode: CodeBadUserInput, wantCT: ctJSON},

		// Nothing acceptable.
		{name: "GET text/html", method: http.MethodGet, accept: "text/html",
			wantStatus: 406, wantCode: CodeNotAcceptable, wantCT: ctJSON},
		{name: "POST with both types at q=0", method: http.MethodPost, contentType: "application/json", accept: "application/json;q=0, application/graphql-response+json;q=0",
			wantStatus: 406, wantCode: CodeNotAcceptable, wantCT: ctJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				calls++
				w.WriteHeader(http.StatusTeapot)
			})
			ctx := requestctx.NewContextWithRequestID(context.Background(), "req-"+tt.name)
			r := httptest.NewRequestWithContext(ctx, tt.method, "/graphql", strings.NewReader(`{"query":"{a}"}`))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			if tt.upgrade != "" {
				r.Header.Set("Connection", "Upgrade")
				r.Header.Set("Upgrade", tt.upgrade)
			}
			rec := httptest.NewRecorder()
			RequestsOnly(next).ServeHTTP(rec, r)

			if tt.wantStatus == 0 {
				if calls != 1 || rec.Code != http.StatusTeapot {
					t.Fatalf("next called %d times, status %d; want it called once (418)", calls, rec.Code)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "" {
					t.Errorf("Content-Type %q set on a request passed on", ct)
				}
				return
			}
			if calls != 0 {
				t.Errorf("next called %d times on a refusal", calls)
			}
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			for k, v := range tt.wantHeaders {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			e := decodeRefusal(t, rec.Body.Bytes())
			if e.Code != tt.wantCode {
				t.Errorf("extensions.code %q, want %q", e.Code, tt.wantCode)
			}
			if e.RequestID != "req-"+tt.name {
				t.Errorf("extensions.requestId %q, want %q", e.RequestID, "req-"+tt.name)
			}
			if len(e.Extensions) != 2 {
				t.Errorf("extensions %v, want only code and requestId", e.Extensions)
			}
		})
	}
}

// TestRequestsOnlyUsesBeginsNegotiation checks that RequestsOnly judges
// the Accept header Begin negotiated, not one changed after it.
func TestRequestsOnlyUsesBeginsNegotiation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, original, changed string
		wantStatus              int
		wantCT                  string
	}{
		{"acceptable, then changed to text/html", "application/graphql-response+json", "text/html", http.StatusTeapot, ""},
		{"not acceptable, then changed to JSON", "text/html", "application/json", http.StatusNotAcceptable, ctJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			change := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					r.Header.Set("Accept", tt.changed)
					next.ServeHTTP(w, r)
				})
			}
			h := Begin(time.Minute, nil)(change(RequestsOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusTeapot)
			}))))
			r := httptest.NewRequest(http.MethodGet, "/graphql?query={a}", nil)
			r.Header.Set("Accept", tt.original)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
			if v := rec.Header().Get("Vary"); v != "Accept" {
				t.Errorf("Vary %q, want Accept", v)
			}
		})
	}
}

// TestRefusalWithoutRequestID checks that a refusal outside a request
// with an id has no requestId member at all.
func TestRefusalWithoutRequestID(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	RequestsOnly(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/graphql", nil))
	e := decodeRefusal(t, rec.Body.Bytes())
	if _, ok := e.Extensions["requestId"]; ok || e.Code != CodeMethodNotAllowed {
		t.Errorf("extensions %v, want only code METHOD_NOT_ALLOWED", e.Extensions)
	}
}
