package app_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/acme/bff-gateway/internal/bff/bfftest"
)

// The Content-Types of the answers, with their charset.
const (
	ctJSON = "application/json; charset=utf-8"
	ctGRJ  = "application/graphql-response+json; charset=utf-8"
)

// gqlRequest sends a GraphQL request with the given Accept header (none
// when empty): a POST of body, or a GET of the query string rawQuery.
func gqlRequest(t *testing.T, env *bfftest.Env, c *bfftest.Client, method, accept, body, rawQuery string) bfftest.Response {
	t.Helper()
	target := env.URL + "/graphql"
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return c.Do(t, req)
}

// TestResponseMediaTypes checks GraphQL over HTTP's content negotiation on
// /graphql: the answer is in the media type the Accept header prefers, with
// its charset, and a document that does not parse or validate is answered
// with 200 when the client asked for application/json, 400 otherwise,
// while an executed operation's field errors are answered with 200.
func TestResponseMediaTypes(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	c := env.NewClient()

	accepts := []struct {
		name, accept, contentType string
		docStatus                 int
	}{
		{"no Accept", "", ctJSON, 400},
		{"application/json", "application/json", ctJSON, 200},
		{"graphql-response+json", "application/graphql-response+json", ctGRJ, 400},
		{"Apollo Client", "application/graphql-response+json,application/json;q=0.9", ctGRJ, 400},
		{"q-values over order", "application/json;q=0.5, application/graphql-response+json", ctGRJ, 400},
		{"any", "*/*", ctJSON, 200},
	}
	documents := []struct {
		name, body string
		document   bool // a parsing or validation failure, not executed
		code       string
	}{
		{"a query", `{"query":"{ __typename }"}`, false, ""},
		{"field errors", `{"query":"{ __typename viewer { id } }"}`, false, "UNAUTHENTICATED"},
		{"does not parse", `{"query":"{"}`, true, "GRAPHQL_PARSE_FAILED"},
		{"guard limit", `{"query":"{ ` + strings.Repeat("__typename ", 21) + `}"}`, true, "TOO_MANY_ROOT_FIELDS"},
		{"unknown field", `{"query":"{ nope }"}`, true, "GRAPHQL_VALIDATION_FAILED"},
		{"unused variable", `{"query":"query Q($id: ID!) { __typename }","variables":{"id":null}}`, true, "GRAPHQL_VALIDATION_FAILED"},
		{"variable does not coerce", `{"query":"query Q($id: ID!) { product(id: $id) { id } }","variables":{"id":null}}`, true, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown operation", `{"query":"query A { __typename }","operationName":"B"}`, true, "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, a := range accepts {
		for _, d := range documents {
			t.Run(a.name+"/"+d.name, func(t *testing.T) {
				env.Counter.Reset()
				r := gqlRequest(t, env, c, http.MethodPost, a.accept, d.body, "")
				if ct := r.Header.Get("Content-Type"); ct != a.contentType {
					t.Errorf("Content-Type %q, want %q", ct, a.contentType)
				}
				want := http.StatusOK
				if d.document {
					want = a.docStatus
				}
				if r.Status != want {
					t.Errorf("status %d, want %d: %s", r.Status, want, r.Raw)
				}
				if d.code == "" {
					wantOK(t, r)
					return
				}
				if len(r.Errors) == 0 || r.Errors[0].Code() != d.code {
					t.Errorf("want the code %s: %s", d.code, r.Raw)
				}
				if d.document {
					if len(r.Data) > 0 && string(r.Data) != "null" {
						t.Errorf("data for a document that did not run: %s", r.Raw)
					}
					if n := env.Counter.Total(); n != 0 {
						t.Errorf("%d upstream requests for a document that did not run", n)
					}
				}
			})
		}
	}

	t.Run("GET", func(t *testing.T) {
		q := url.Values{"query": {"{ __typename }"}}.Encode()
		r := gqlRequest(t, env, c, http.MethodGet, "application/graphql-response+json", "", q)
		wantOK(t, r)
		if ct := r.Header.Get("Content-Type"); ct != ctGRJ {
			t.Errorf("Content-Type %q, want %q", ct, ctGRJ)
		}
		if !slices.Contains(r.Header.Values("Vary"), "Accept") {
			t.Errorf("Vary %q, want Accept among them", r.Header.Values("Vary"))
		}
		bad := url.Values{"query": {"{ nope }"}}.Encode()
		for accept, status := range map[string]int{"application/json": 200, "application/graphql-response+json": 400} {
			r := gqlRequest(t, env, c, http.MethodGet, accept, "", bad)
			if r.Status != status || len(r.Errors) == 0 {
				t.Errorf("GET of an invalid document accepting %s: status %d, want %d with errors: %s", accept, r.Status, status, r.Raw)
			}
		}
		m := url.Values{"query": {"mutation { logout }"}}.Encode()
		for _, accept := range []string{"", "application/json", "application/graphql-response+json"} {
			r := gqlRequest(t, env, c, http.MethodGet, accept, "", m)
			if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != http.MethodPost {
				t.Errorf("GET mutation accepting %q: status %d, Allow %q; want 405, POST", accept, r.Status, r.Header.Get("Allow"))
			}
		}
	})

	// Malformed requests keep their 4xx whatever the media type.
	t.Run("malformed requests", func(t *testing.T) {
		for _, accept := range []string{"", "application/json", "application/graphql-response+json", "*/*"} {
			for body, code := range map[string]string{
				`{ "not a JSON`:                              "BAD_REQUEST",
				`{"qeury":"{ __typename }"}`:                 "BAD_REQUEST",
				`{"query":"{ __typename }","variables":[7]}`: "BAD_REQUEST",
				`{"query":{"an":"object"}}`:                  "BAD_REQUEST",
			} {
				r := gqlRequest(t, env, c, http.MethodPost, accept, body, "")
				if r.Status != http.StatusBadRequest || len(r.Errors) == 0 || r.Errors[0].Code() != code {
					t.Errorf("%s accepting %q: status %d, want 400 %s: %s", body, accept, r.Status, code, r.Raw)
				}
			}
		}
	})
}

// TestNotGraphQLRequests checks the refusals of what is not a GraphQL
// request the BFF serves: other methods (405 with Allow), request bodies
// that are not application/json (415), and Accept headers that admit
// neither response media type (406). Nothing is sent upstream.
func TestNotGraphQLRequests(t *testing.T) {
	t.Parallel()
	env := startWeb(t)
	c := env.NewClient()
	const query = `{"query":"{ featuredProducts { id } }"}`
	getQuery := "?" + url.Values{"query": {"{ featuredProducts { id } }"}}.Encode()
	tests := []struct {
		name, method, target, contentType, accept, body string
		status                                          int
		code, header, headerValue                       string
	}{
		{"PUT", http.MethodPut, "", "application/json", "", query, 405, "METHOD_NOT_ALLOWED", "Allow", "GET, POST, OPTIONS"},
		{"DELETE", http.MethodDelete, "", "", "", "", 405, "METHOD_NOT_ALLOWED", "Allow", "GET, POST, OPTIONS"},
		{"PATCH", http.MethodPatch, "", "application/json", "application/graphql-response+json", query, 405, "METHOD_NOT_ALLOWED", "Allow", "GET, POST, OPTIONS"},
		{"text/plain", http.MethodPost, "", "text/plain", "", query, 415, "UNSUPPORTED_MEDIA_TYPE", "Accept", "application/json"},
		{"no Content-Type", http.MethodPost, "", "", "", query, 415, "UNSUPPORTED_MEDIA_TYPE", "Accept", "application/json"},
		{"application/graphql", http.MethodPost, "", "application/graphql", "", "{ featuredProducts { id } }", 415, "UNSUPPORTED_MEDIA_TYPE", "Accept", "application/json"},
		{"form", http.MethodPost, "", "application/x-www-form-urlencoded", "", "query=%7B+featuredProducts+%7B+id+%7D+%7D", 415, "UNSUPPORTED_MEDIA_TYPE", "Accept", "application/json"},
		{"POST accepting HTML", http.MethodPost, "", "application/json", "text/html", query, 406, "NOT_ACCEPTABLE", "", ""},
		{"GET accepting XML", http.MethodGet, getQuery, "", "application/xml", "", 406, "NOT_ACCEPTABLE", "", ""},
		{"POST accepting JSON at q=0", http.MethodPost, "", "application/json", "application/json;q=0, application/graphql-response+json;q=0", query, 406, "NOT_ACCEPTABLE", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, env.URL+"/graphql"+tt.target, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			env.Counter.Reset()
			r := c.Do(t, req)
			refused(t, env, r, tt.status, tt.code)
			if tt.header != "" && r.Header.Get(tt.header) != tt.headerValue {
				t.Errorf("%s %q, want %q", tt.header, r.Header.Get(tt.header), tt.headerValue)
			}
			want := ctJSON
			if strings.HasPrefix(tt.accept, "application/graphql-response+json") {
				want = ctGRJ
			}
			if ct := r.Header.Get("Content-Type"); ct != want {
				t.Errorf("Content-Type %q, want %q", ct, want)
			}
		})
	}

	// A WebSocket upgrade (the BFFs serve no WebSocket transport) is refused
	// by the edge with a code and the negotiated media type.
	t.Run("WebSocket upgrade", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/graphql", nil)
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Accept", "application/graphql-response+json")
		env.Counter.Reset()
		r := c.Do(t, req)
		refused(t, env, r, http.StatusBadRequest, "BAD_USER_INPUT")
		if ct := r.Header.Get("Content-Type"); ct != ctGRJ {
			t.Errorf("Content-Type %q, want %q", ct, ctGRJ)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		resp, err := http.Head(env.URL + "/graphql")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST, OPTIONS" {
			t.Errorf("HEAD: status %d, Allow %q; want 405", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})

	t.Run("OPTIONS", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, env.URL+"/graphql", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("OPTIONS: status %d, want 200", resp.StatusCode)
		}
	})
}
