package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/requestctx"
)

// nested returns a document whose selection depth is depth.
func nested(depth int) string {
	return "{ " + strings.Repeat("a { ", depth-1) + "b" + strings.Repeat(" }", depth-1) + " }"
}

// fields returns n fields with distinct names, each prefix+i, optionally
// aliased.
func fields(n int, format string) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, format+" ", i)
	}
	return sb.String()
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	small := func(c *Config) { c.MaxBodyBytes = 100 }
	batching := func(c *Config) { c.Batching.Enabled = true }
	noAPQ := func(c *Config) { c.APQ.Enabled = false }
	trusted := func(c *Config) { c.Trusted = NewManifest(map[string]string{"P": `{ product(id: "1") { id } }`}) }
	unknownLength := func() *http.Request {
		r := post(`{"query":"` + strings.Repeat("a", 200) + `"}`)
		r.ContentLength = -1
		return r
	}
	cases := []struct {
		name    string
		config  func(*Config)
		req     func() *http.Request
		status  int
		code    string
		wantExt map[string]any // a subset of the extensions
	}{
		{name: "body over the limit by Content-Length", config: small,
			req:    func() *http.Request { return post(`{"query":"` + strings.Repeat("a", 200) + `"}`) },
			status: 413, code: CodeRequestTooLarge, wantExt: map[string]any{"limit": 100.0}},
		{name: "body over the limit without Content-Length", config: small, req: unknownLength,
			status: 413, code: CodeRequestTooLarge},
		{name: "GET query string over the limit", config: small,
			req:    func() *http.Request { return get(url.Values{"query": {strings.Repeat("a", 200)}}) },
			status: 413, code: CodeRequestTooLarge},
		{name: "malformed JSON", req: func() *http.Request { return post(`{"query": "{ a }"`) },
			status: 400, code: CodeBadRequest},
		{name: "not JSON", req: func() *http.Request { return post(`query { a }`) },
			status: 400, code: CodeBadRequest},
		{name: "empty body", req: func() *http.Request { return post(``) },
			status: 400, code: CodeBadRequest},
		{name: "query not a string", req: func() *http.Request { return post(`{"query": 5}`) },
			status: 400, code: CodeBadRequest},
		{name: "JSON string body", req: func() *http.Request { return post(`"{ a }"`) },
			status: 400, code: CodeBadRequest},
		{name: "variables not an object", req: func() *http.Request { return post(`{"query":"{ a }","variables":[1]}`) },
			status: 400, code: CodeBadRequest},
		{name: "extensions not an object", req: func() *http.Request { return post(`{"query":"{ a }","extensions":"x"}`) },
			status: 400, code: CodeBadRequest},
		{name: "GET variables not JSON",
			req:    func() *http.Request { return get(url.Values{"query": {"{ a }"}, "variables": {"{"}}) },
			status: 400, code: CodeBadRequest},
		{name: "no query", req: func() *http.Request { return post(`{"variables":{}}`) },
			status: 400, code: CodeBadRequest},
		{name: "GET without a query", req: func() *http.Request { return get(url.Values{}) },
			status: 400, code: CodeBadRequest},
		{name: "persistedQuery without a version",
			req:    func() *http.Request { return post(`{"extensions":{"persistedQuery":{"sha256Hash":"ab"}}}`) },
			status: 400, code: CodeBadRequest},
		{name: "persistedQuery hash not hex",
			req:    func() *http.Request { return postQuery("", map[string]any{"extensions": apqExt("xyz")}) },
			status: 400, code: CodeBadRequest},
		{name: "array while batching is off", req: func() *http.Request { return post(`[{"query":"{ a }"}]`) },
			status: 400, code: CodeBatchingDisabled},
		{name: "batch over MaxOperations", config: batching,
			req: func() *http.Request {
				return post("[" + strings.Repeat(`{"query":"{ a }"},`, 10) + `{"query":"{ a }"}]`)
			},
			status: 400, code: CodeBatchTooLarge, wantExt: map[string]any{"limit": 10.0, "operations": 11.0}},
		{name: "empty batch", config: batching, req: func() *http.Request { return post(`[]`) },
			status: 400, code: CodeBatchTooLarge},
		{name: "too many tokens",
			req:    func() *http.Request { return postQuery("{ "+strings.Repeat("a ", 15001)+"}", nil) },
			status: 400, code: CodeQueryTooLarge, wantExt: map[string]any{"limit": 15000.0}},
		{name: "too deep", req: func() *http.Request { return postQuery(nested(40), nil) },
			status: 400, code: CodeQueryTooDeep, wantExt: map[string]any{"limit": 12.0, "depth": 13.0}},
		{name: "too deep through fragments",
			req: func() *http.Request {
				return postQuery("{ a { a { ...F } } } fragment F on T { a { a { ...G } } } fragment G on T "+nested(9), nil)
			},
			status: 400, code: CodeQueryTooDeep},
		{name: "too many aliases", req: func() *http.Request { return postQuery("{ a { "+fields(31, "x%d: a")+"} }", nil) },
			status: 400, code: CodeTooManyAliases, wantExt: map[string]any{"limit": 30.0, "aliases": 31.0}},
		{name: "too many root fields", req: func() *http.Request { return postQuery("{ "+fields(21, "a%d")+"}", nil) },
			status: 400, code: CodeTooManyRootFields, wantExt: map[string]any{"limit": 20.0, "rootFields": 21.0}},
		{name: "too many root fields through a fragment",
			req: func() *http.Request {
				return postQuery("{ a0 ...F } fragment F on Query { ... on Query { "+fields(20, "b%d")+"} }", nil)
			},
			status: 400, code: CodeTooManyRootFields},
		{name: "too many directives", req: func() *http.Request { return postQuery("{ a "+strings.Repeat("@x ", 51)+"}", nil) },
			status: 400, code: CodeTooManyDirectives, wantExt: map[string]any{"limit": 50.0, "directives": 51.0}},
		{name: "too complex", req: func() *http.Request { return postQuery("{ a(first: 100) { b(first: 100) { c } } }", nil) },
			status: 400, code: CodeQueryTooComplex, wantExt: map[string]any{"limit": 5000.0}},
		{name: "too complex through a variable",
			req: func() *http.Request {
				return postQuery("query($n: Int) { a(first: $n) { b(limit: $n) { c } } }",
					map[string]any{"variables": map[string]any{"n": 1000}})
			},
			status: 400, code: CodeQueryTooComplex},
		{name: "fragment cycle",
			req: func() *http.Request {
				return postQuery("{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }", nil)
			},
			status: 400, code: CodeFragmentCycle, wantExt: map[string]any{"fragment": "A"}},
		{name: "too many fragment spreads",
			req: func() *http.Request {
				return postQuery("{ a { "+fields(101, "...F%d")+"} } "+fields(101, "fragment F%d on T { a }"), nil)
			},
			status: 400, code: CodeTooManyFragmentSpreads, wantExt: map[string]any{"limit": 100.0, "fragmentSpreads": 101.0}},
		{name: "too many repeated fields", req: func() *http.Request { return postQuery("{ a { "+strings.Repeat("b ", 102)+"} }", nil) },
			status: 400, code: CodeTooManyRepeatedFields, wantExt: map[string]any{"limit": 100.0, "repeatedFields": 101.0}},
		{name: "repeated fields in merged sub-selections",
			req:    func() *http.Request { return postQuery("{ x { "+strings.Repeat("a { b c } ", 51)+"} }", nil) },
			status: 400, code: CodeTooManyRepeatedFields},
		{name: "parse error", req: func() *http.Request { return postQuery("{ a ", nil) },
			status: 400, code: CodeParseFailed},
		{name: "APQ miss", req: func() *http.Request { return postQuery("", map[string]any{"extensions": apqExt(Hash("{ a }"))}) },
			status: 200, code: CodePersistedQueryNotFound},
		{name: "APQ hash mismatch",
			req:    func() *http.Request { return postQuery("{ b }", map[string]any{"extensions": apqExt(Hash("{ a }"))}) },
			status: 400, code: CodePersistedQueryHashMismatch},
		{name: "APQ disabled", config: noAPQ,
			req:    func() *http.Request { return postQuery("", map[string]any{"extensions": apqExt(Hash("{ a }"))}) },
			status: 400, code: CodePersistedQueryNotSupported},
		{name: "APQ version 2",
			req: func() *http.Request {
				return post(`{"extensions":{"persistedQuery":{"version":2,"sha256Hash":"` + Hash("{ a }") + `"}}}`)
			},
			status: 400, code: CodePersistedQueryNotSupported},
		{name: "untrusted text", config: trusted, req: func() *http.Request { return postQuery(`{ product(id: "2") { id } }`, nil) },
			status: 400, code: CodePersistedQueryNotAllowed},
		{name: "untrusted hash", config: trusted,
			req:    func() *http.Request { return postQuery("", map[string]any{"extensions": apqExt(Hash("{ a }"))}) },
			status: 400, code: CodePersistedQueryNotAllowed},
		{name: "untrusted text over the token limit, refused before parsing", config: trusted,
			req:    func() *http.Request { return postQuery("{ "+strings.Repeat("a ", 20000)+"}", nil) },
			status: 400, code: CodePersistedQueryNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := defaultConfig()
			if tc.config != nil {
				tc.config(&cfg)
			}
			r := tc.req()
			r = r.WithContext(requestctx.NewContextWithRequestID(r.Context(), "req-1"))
			rec, c := do(t, cfg, r)
			if c.called {
				t.Fatalf("next was called on a refusal; answer %d %s", rec.Code, rec.Body)
			}
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			e := mustRefusal(t, rec)
			if got := codeOf(e); got != tc.code {
				t.Errorf("code %q, want %q; body %s", got, tc.code, rec.Body)
			}
			if got := e.Extensions["requestId"]; got != "req-1" {
				t.Errorf("requestId %v, want req-1", got)
			}
			for k, want := range tc.wantExt {
				if got := e.Extensions[k]; got != want {
					t.Errorf("extensions.%s = %v, want %v; body %s", k, got, want, rec.Body)
				}
			}
		})
	}
}

func TestParseErrorHasLocationAndShortMessage(t *testing.T) {
	t.Parallel()
	rec, _ := do(t, defaultConfig(), postQuery("{ a(x: \""+strings.Repeat("z", 100000)+"\" ", nil))
	e := mustRefusal(t, rec)
	if codeOf(e) != CodeParseFailed {
		t.Fatalf("code %q, want %s", codeOf(e), CodeParseFailed)
	}
	if len(e.Message) > maxMessageBytes+10 {
		t.Errorf("message is %d bytes, want at most about %d", len(e.Message), maxMessageBytes)
	}
	if len(e.Locations) != 1 || e.Locations[0].Line != 1 {
		t.Errorf("locations %+v, want one on line 1", e.Locations)
	}
}

// TestMalformedBodyIsNotEchoed checks that the answer to a malformed body
// never quotes it and does not grow with it.
func TestMalformedBodyIsNotEchoed(t *testing.T) {
	t.Parallel()
	var sizes []int
	for _, n := range []int{10, 100000} {
		secret := strings.Repeat("SECRET", n)
		rec, c := do(t, defaultConfig(), post(`{"query": "`+secret))
		if c.called {
			t.Fatal("next was called")
		}
		if codeOf(mustRefusal(t, rec)) != CodeBadRequest {
			t.Fatalf("body %s", rec.Body)
		}
		if strings.Contains(rec.Body.String(), "SECRET") {
			t.Fatalf("the refusal echoes the body: %s", rec.Body)
		}
		sizes = append(sizes, rec.Body.Len())
	}
	if sizes[0] != sizes[1] {
		t.Errorf("refusal sizes %v grow with the body", sizes)
	}
}

func TestPassingRequests(t *testing.T) {
	t.Parallel()
	const q = `{ product(id: "x") { id name } }`
	cases := []struct {
		name     string
		req      func() *http.Request
		wantCost int
	}{
		{name: "POST", req: func() *http.Request { return postQuery(q, nil) }, wantCost: 3},
		{name: "POST with charset", req: func() *http.Request {
			r := postQuery(q, nil)
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
			r.Header.Set("Accept", "application/graphql-response+json")
			return r
		}, wantCost: 3},
		{name: "GET", req: func() *http.Request { return get(url.Values{"query": {q}}) }, wantCost: 3},
		{name: "named operation among several",
			req: func() *http.Request {
				return postQuery("query A { a } query B { b { c(first: 10) { d } } }", map[string]any{"operationName": "B"})
			}, wantCost: 12},
		{name: "variables give the list size",
			req: func() *http.Request {
				return postQuery("query($n: Int = 5) { a(first: $n) { b } }", map[string]any{"variables": map[string]any{"n": 7}})
			}, wantCost: 8},
		{name: "variable default gives the list size",
			req:      func() *http.Request { return postQuery("query($n: Int = 5) { a(first: $n) { b } }", nil) },
			wantCost: 6},
		{name: "absent variable without default counts 20",
			req:      func() *http.Request { return postQuery("query($n: Int) { a(last: $n) { b } }", nil) },
			wantCost: 21},
		{name: "introspection query passes the depth limit",
			req: func() *http.Request { return postQuery(introspection.Query, nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec, c := do(t, defaultConfig(), tc.req())
			if !c.called {
				t.Fatalf("next was not called; answer %d %s", rec.Code, rec.Body)
			}
			if !c.hasCost {
				t.Fatal("no cost in the context")
			}
			if tc.wantCost != 0 && c.cost != tc.wantCost {
				t.Errorf("cost %d, want %d", c.cost, tc.wantCost)
			}
			if c.query == "" {
				t.Error("next got no query")
			}
		})
	}
}

// TestForwardsFullQuery checks that the next handler gets a request that
// holds the full text of a document sent by hash, without the extension.
func TestForwardsFullQuery(t *testing.T) {
	t.Parallel()
	const q = `query P($id: ID!) { product(id: $id) { id name } }`
	g := mustGuard(t, defaultConfig())
	if rec, c := guardDo(g, postQuery(q, map[string]any{"extensions": apqExt(Hash(q))})); !c.called {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}

	t.Run("POST", func(t *testing.T) {
		ext := apqExt(Hash(q))
		ext["tracing"] = true
		rec, c := guardDo(g, postQuery("", map[string]any{"operationName": "P", "variables": map[string]any{"id": "7"}, "extensions": ext}))
		if !c.called {
			t.Fatalf("next not called: %d %s", rec.Code, rec.Body)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(c.body, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"query": mustJSON(q), "operationName": `"P"`, "variables": `{"id":"7"}`, "extensions": `{"tracing":true}`}
		for k, v := range want {
			if string(got[k]) != v {
				t.Errorf("body %s = %s, want %s", k, got[k], v)
			}
		}
		if !c.hasCost || c.cost != 3 {
			t.Errorf("cost %d %v, want 3", c.cost, c.hasCost)
		}
	})
	t.Run("GET", func(t *testing.T) {
		ext, _ := json.Marshal(apqExt(Hash(q)))
		rec, c := guardDo(g, get(url.Values{"operationName": {"P"}, "variables": {`{"id":"7"}`}, "extensions": {string(ext)}}))
		if !c.called {
			t.Fatalf("next not called: %d %s", rec.Code, rec.Body)
		}
		v, _ := url.ParseQuery(c.rawQuery)
		if v.Get("query") != q || v.Get("operationName") != "P" || v.Get("variables") != `{"id":"7"}` || v.Has("extensions") {
			t.Errorf("URL query %q", c.rawQuery)
		}
		if !c.hasCost || c.cost != 3 {
			t.Errorf("cost %d %v, want 3", c.cost, c.hasCost)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPassThrough(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"OPTIONS", func() *http.Request { return httptest.NewRequest(http.MethodOptions, "/graphql", nil) }},
		{"PUT", func() *http.Request { return httptest.NewRequest(http.MethodPut, "/graphql", strings.NewReader("x")) }},
		{"POST text/plain", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"`+nested(50)+`"}`))
			r.Header.Set("Content-Type", "text/plain")
			return r
		}},
		{"POST application/graphql", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(nested(50)))
			r.Header.Set("Content-Type", "application/graphql")
			return r
		}},
		{"POST without Content-Type", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader("{"))
		}},
		{"WebSocket upgrade", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
			r.Header.Set("Upgrade", "websocket")
			return r
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.req()
			want := peekBody(t, r)
			rec, c := do(t, defaultConfig(), r)
			if !c.called {
				t.Fatalf("next not called: %d %s", rec.Code, rec.Body)
			}
			if string(c.body) != want {
				t.Errorf("body %q, want %q untouched", c.body, want)
			}
			if c.hasCost {
				t.Error("a cost for a request the guard did not measure")
			}
		})
	}
}

// TestUnselectedOperationPassesWithoutCost checks that a document whose
// operation gqlgen won't find goes on to gqlgen, which answers it, without a
// cost; and that its other operations are still checked.
func TestUnselectedOperation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, query, operationName string
		pass                       bool
	}{
		{"unknown operationName", "query A { a }", "Nope", true},
		{"several operations and no name", "query A { a } query B { b }", "", true},
		{"only fragments", "fragment F on Query { a }", "", true},
		{"repeated fields in another operation", "query A { a } query B { b { " + strings.Repeat("c ", 500) + "} }", "A", false},
		{"repeated fields in an unused fragment", "query A { a } fragment F on Query { b { " + strings.Repeat("c ", 500) + "} }", "A", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec, c := do(t, defaultConfig(), postQuery(tc.query, map[string]any{"operationName": tc.operationName}))
			if c.called != tc.pass {
				t.Fatalf("next called %v, want %v: %d %s", c.called, tc.pass, rec.Code, rec.Body)
			}
			if tc.pass && c.hasCost {
				t.Error("a cost for an operation gqlgen will not run")
			}
			if !tc.pass && codeOf(mustRefusal(t, rec)) != CodeTooManyRepeatedFields {
				t.Errorf("body %s", rec.Body)
			}
		})
	}
}

func TestConfigFromTheBFFConfiguration(t *testing.T) {
	t.Parallel()
	c := config.Default(config.Mobile)
	c.Limits.Batching = true
	got := ConfigFrom(c.Limits, c.PersistedQueries)
	want := Config{
		MaxBodyBytes: c.Limits.MaxBodyBytes, MaxTokens: c.Limits.MaxTokens, MaxDepth: c.Limits.MaxDepth,
		MaxAliases: c.Limits.MaxAliases, MaxRootFields: c.Limits.MaxRootFields, MaxDirectives: c.Limits.MaxDirectives,
		MaxComplexity: c.Limits.MaxComplexity, MaxFragmentSpreads: c.Limits.MaxFragmentSpreads,
		MaxRepeatedFields: c.Limits.MaxRepeatedFields,
		Batching:          BatchingConfig{Enabled: true, MaxOperations: c.Limits.MaxBatch},
		APQ:               APQConfig{Enabled: c.PersistedQueries.APQ, MaxEntries: c.PersistedQueries.APQMaxEntries, MaxBytes: c.PersistedQueries.APQMaxBytes},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ConfigFrom = %+v, want %+v", got, want)
	}
	if _, err := Middleware(got); err != nil {
		t.Errorf("the default limits do not make a guard: %v", err)
	}
}

func TestMiddlewareRefusesUnusableLimits(t *testing.T) {
	t.Parallel()
	_, err := Middleware(Config{MaxDepth: -1, APQ: APQConfig{MaxEntries: -5}})
	for _, name := range []string{"MaxBodyBytes", "MaxTokens", "MaxDepth", "MaxRootFields", "MaxComplexity",
		"Batching.MaxOperations", "APQ.MaxEntries", "APQ.MaxBytes"} {
		if err == nil || !strings.Contains(err.Error(), name+" is") {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	// Zero is a usable limit where it only forbids something.
	cfg := defaultConfig()
	cfg.MaxAliases, cfg.MaxDirectives, cfg.MaxFragmentSpreads, cfg.MaxRepeatedFields = 0, 0, 0, 0
	if _, err := Middleware(cfg); err != nil {
		t.Errorf("zero aliases, directives, spreads and repeats: %v", err)
	}
	rec, _ := do(t, cfg, postQuery("{ x: a }", nil))
	if codeOf(mustRefusal(t, rec)) != CodeTooManyAliases {
		t.Errorf("with no aliases allowed, an alias: %s", rec.Body)
	}
}

func TestCostContext(t *testing.T) {
	t.Parallel()
	if _, ok := CostFromContext(context.Background()); ok {
		t.Error("a cost in an empty context")
	}
	ctx := NewContextWithOperation(context.Background(), Operation{Name: "Q", Type: ast.Mutation, Cost: 42})
	if c, ok := CostFromContext(ctx); !ok || c != 42 {
		t.Errorf("CostFromContext = %d, %v", c, ok)
	}
	if op, ok := OperationFromContext(ctx); !ok || op.Name != "Q" || op.Type != ast.Mutation {
		t.Errorf("OperationFromContext = %+v, %v", op, ok)
	}
}

// TestGETRunsQueriesOnly refuses a mutation sent with GET with 405, before
// anything runs.
func TestGETRunsQueriesOnly(t *testing.T) {
	mw, err := Middleware(defaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	for query, want := range map[string]int{
		"mutation { logout }":       http.StatusMethodNotAllowed,
		"query Q { a }":             http.StatusOK,
		"{ a }":                     http.StatusOK,
		"subscription { onChange }": http.StatusMethodNotAllowed,
	} {
		called = false
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(query), nil))
		if rec.Code != want || called != (want == http.StatusOK) {
			t.Errorf("GET %q: status %d, next called %v", query, rec.Code, called)
		}
		if want == http.StatusMethodNotAllowed && (rec.Header().Get("Allow") != "POST" || !strings.Contains(rec.Body.String(), CodeMethodNotAllowed)) {
			t.Errorf("GET %q: Allow %q body %s", query, rec.Header().Get("Allow"), rec.Body)
		}
	}
}
