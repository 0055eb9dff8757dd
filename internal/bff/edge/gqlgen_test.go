package edge

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/acme/bff-gateway/internal/bff/ratelimit"
	"github.com/acme/bff-gateway/internal/bff/request"
)

// gqlgenEdge is a gqlgen server (gqlgen's own test schema: Query.name,
// Mutation.name) behind Begin, RequestsOnly and Answer, as the BFFs
// assemble them, with post as its POST transport (the BFFs' is POST). An
// operation named Stale marks products stale while it runs; one named
// Throttled records a throttle.
func gqlgenEdge(t *testing.T, post graphql.Transport) http.Handler {
	t.Helper()
	srv := testserver.New()
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(post)
	srv.SetErrorPresenter(Presenter)
	// Response interceptors added later wrap those added earlier, so this
	// one runs inside ReportStaleData, as resolvers do.
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		switch graphql.GetOperationContext(ctx).OperationName {
		case "Stale":
			request.StateFrom(ctx).MarkStaleProducts("p2", "p1")
		case "Throttled":
			request.StateFrom(ctx).Throttle(ratelimit.Decision{Limit: 5, RetryAfter: 90 * time.Second, Reset: 2 * time.Minute})
		}
		return next(ctx)
	})
	srv.AroundResponses(ReportStaleData)
	return Begin(time.Minute, nil)(RequestsOnly(Answer(srv)))
}

type gqlgenResponse struct {
	Data   map[string]any
	Errors []struct {
		Message    string
		Extensions map[string]any
	}
	Extensions map[string]any
}

// TestGqlgenBehindTheEdge checks the statuses, media types and headers
// of answers through the edge, and that POST answers each request as
// gqlgen's own POST transport does, byte for byte.
func TestGqlgenBehindTheEdge(t *testing.T) {
	t.Parallel()
	h, gqlgens := gqlgenEdge(t, POST{}), gqlgenEdge(t, transport.POST{})
	const grjAccept = "application/graphql-response+json"
	tests := []struct {
		name        string
		method      string
		body        string // POST body, or GET query string
		accept      string
		wantStatus  int
		wantCT      string
		wantCode    string // the first error's extensions.code
		wantData    bool
		wantHeaders map[string]string
	}{
		{name: "query, JSON", method: http.MethodPost, body: `{"query":"{ name }"}`, accept: "application/json",
			wantStatus: 200, wantCT: ctJSON, wantData: true},
		{name: "query, GET, graphql-response+json", method: http.MethodGet, body: "query=" + url.QueryEscape("{ name }"), accept: grjAccept,
			wantStatus: 200, wantCT: ctGRJ, wantData: true},
		{name: "invalid document, JSON: 200", method: http.MethodPost, body: `{"query":"{ nope }"}`, accept: "application/json",
			wantStatus: 200, wantCT: ctJSON, wantCode: CodeValidationFailed},
		{name: "invalid document, graphql-response+json: 400", method: http.MethodPost, body: `{"query":"{ nope }"}`, accept: grjAccept,
			wantStatus: 400, wantCT: ctGRJ, wantCode: CodeValidationFailed},
		{name: "invalid document, no Accept: 400 in JSON", method: http.MethodPost, body: `{"query":"{ nope }"}`,
			wantStatus: 400, wantCT: ctJSON, wantCode: CodeValidationFailed},
		{name: "unparseable document, */*: 200", method: http.MethodPost, body: `{"query":"{ name"}`, accept: "*/*",
			wantStatus: 200, wantCT: ctJSON, wantCode: CodeParseFailed},
		{name: "unparseable document, Apollo's Accept: 400", method: http.MethodPost, body: `{"query":"{ name"}`, accept: grjAccept + ",application/json;q=0.9",
			wantStatus: 400, wantCT: ctGRJ, wantCode: CodeParseFailed},
		{name: "mutation over GET: 405", method: http.MethodGet, body: "query=" + url.QueryEscape("mutation { name }"), accept: "application/json",
			wantStatus: 405, wantCT: ctJSON, wantHeaders: map[string]string{"Allow": "POST"}},
		{name: "throttled while it ran: 429 with its data", method: http.MethodPost, body: `{"query":"query Throttled { name }","operationName":"Throttled"}`, accept: "application/json",
			wantStatus: 429, wantCT: ctJSON, wantData: true,
			wantHeaders: map[string]string{"Retry-After": "90", "RateLimit-Limit": "5", "RateLimit-Reset": "120"}},
		{name: "stale data: extensions", method: http.MethodPost, body: `{"query":"query Stale { name }","operationName":"Stale"}`, accept: grjAccept,
			wantStatus: 200, wantCT: ctGRJ, wantData: true},
		{name: "a field error and no data", method: http.MethodPost, body: `{"query":"mutation { name }"}`, accept: "application/json",
			wantStatus: 200, wantCT: ctJSON},
		{name: "variables that do not coerce", method: http.MethodPost, body: `{"query":"query($n: Boolean!) { name @include(if: $n) }","variables":{"n":"x"}}`, accept: grjAccept,
			wantStatus: 400, wantCT: ctGRJ, wantCode: CodeValidationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			serve := func(h http.Handler) *httptest.ResponseRecorder {
				var r *http.Request
				if tt.method == http.MethodGet {
					r = httptest.NewRequest(http.MethodGet, "/graphql?"+tt.body, nil)
				} else {
					r = httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(tt.body))
					r.Header.Set("Content-Type", "application/json")
				}
				if tt.accept != "" {
					r.Header.Set("Accept", tt.accept)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				return rec
			}
			rec, theirs := serve(h), serve(gqlgens)
			if rec.Code != theirs.Code || rec.Body.String() != theirs.Body.String() || !maps.EqualFunc(rec.Header(), theirs.Header(), slices.Equal) {
				t.Errorf("answered %d %v %s; gqlgen's POST answers %d %v %s", rec.Code, rec.Header(), rec.Body, theirs.Code, theirs.Header(), theirs.Body)
			}
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
			checkHeaders(t, rec, tt.wantHeaders)
			var resp gqlgenResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if tt.wantData != (resp.Data["name"] == "test") {
				t.Errorf("body %s: data present %v, want %v", rec.Body, resp.Data != nil, tt.wantData)
			}
			if tt.wantCode != "" && (len(resp.Errors) == 0 || resp.Errors[0].Extensions["code"] != tt.wantCode) {
				t.Errorf("body %s: want an error with code %s", rec.Body, tt.wantCode)
			}
		})
	}
}

func TestGqlgenReportsStaleData(t *testing.T) {
	t.Parallel()
	h := gqlgenEdge(t, POST{})
	for op, wantStale := range map[string]bool{"Stale": true, "Fresh": false} {
		r := httptest.NewRequest(http.MethodPost, "/graphql",
			strings.NewReader(`{"query":"query `+op+` { name }","operationName":"`+op+`"}`))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var resp gqlgenResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d, body %q (%v)", op, rec.Code, rec.Body, err)
		}
		stale, ok := resp.Extensions["staleData"].(map[string]any)
		if ok != wantStale {
			t.Fatalf("%s: extensions %v, want staleData %v", op, resp.Extensions, wantStale)
		}
		if !wantStale {
			continue
		}
		if products, _ := json.Marshal(stale["products"]); string(products) != `["p1","p2"]` || stale["reason"] == "" {
			t.Errorf("%s: staleData %v, want products [p1 p2] and a reason", op, stale)
		}
	}
}

func TestGqlgenOptionsThroughTheEdge(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
	r.Header.Set("Accept", "application/graphql-response+json")
	rec := httptest.NewRecorder()
	gqlgenEdge(t, POST{}).ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || rec.Header().Get("Allow") != "OPTIONS, GET, POST" {
		t.Errorf("status %d, Allow %q; want 200, OPTIONS, GET, POST", rec.Code, rec.Header().Get("Allow"))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "" {
		t.Errorf("Content-Type %q on OPTIONS, want none", ct)
	}
}
