package guard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	mobileoperations "github.com/acme/bff-gateway/bff-mobile/operations"
	weboperations "github.com/acme/bff-gateway/bff-web/operations"
	"github.com/acme/bff-gateway/internal/bff/config"
	"github.com/acme/bff-gateway/internal/bff/edge"
	"github.com/acme/bff-gateway/internal/bff/gqldocs"
)

func TestMain(m *testing.M) {
	// Refusals are logged; keep test output to failures.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// call is what the next handler saw.
type call struct {
	called   bool
	method   string
	body     []byte
	rawQuery string
	query    string // the query the next handler would run
	cost     int
	hasCost  bool
	// disagree says what differs between the operation the guard put in
	// the context for POST (edge.Checked) and the body it forwards.
	disagree string
}

// recordingNext returns a next handler that records its call in c and
// answers {"data":{}}.
func recordingNext(c *call) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.called = true
		c.method = r.Method
		c.rawQuery = r.URL.RawQuery
		if r.Body != nil {
			c.body, _ = io.ReadAll(r.Body)
		}
		c.cost, c.hasCost = CostFromContext(r.Context())
		switch r.Method {
		case http.MethodGet:
			c.query = r.URL.Query().Get("query")
		case http.MethodPost:
			var p struct {
				Query string `json:"query"`
			}
			if json.Unmarshal(c.body, &p) == nil {
				c.query = p.Query
			}
			c.disagree = checkedDisagrees(r, c.body)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{}}`)
	})
}

// checkedDisagrees says how the operation the guard put in r's context
// for POST (edge.Checked) differs from the body it forwards: none for a
// request of another media type, which the guard passes through.
func checkedDisagrees(r *http.Request, body []byte) string {
	checked, ok := edge.CheckedFrom(r.Context())
	switch {
	case !edge.IsJSON(r.Header.Get("Content-Type")):
		return ""
	case !ok:
		return "no checked operation in the context"
	}
	want, err := checked.Body()
	if err != nil || !bytes.Equal(want, body) {
		return fmt.Sprintf("checked operation %s (%v), body %s", want, err, body)
	}
	return ""
}

// mustMiddleware returns the guard with cfg around next.
func mustMiddleware(t testing.TB, cfg Config, next http.Handler) http.Handler {
	t.Helper()
	mw, err := Middleware(cfg)
	if err != nil {
		t.Fatalf("Middleware: %v", err)
	}
	return mw(next)
}

// do runs r through a fresh guard with cfg and returns the answer and what
// the next handler saw.
func do(t testing.TB, cfg Config, r *http.Request) (*httptest.ResponseRecorder, *call) {
	t.Helper()
	c := &call{}
	rec := httptest.NewRecorder()
	mustMiddleware(t, cfg, recordingNext(c)).ServeHTTP(rec, r)
	if c.disagree != "" {
		t.Errorf("the guard forwarded two operations: %s", c.disagree)
	}
	return rec, c
}

// post returns a POST /graphql request with a JSON body.
func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// postQuery returns a POST of a request object with query and the other
// fields given, which are JSON values.
func postQuery(query string, more map[string]any) *http.Request {
	m := map[string]any{"query": query}
	for k, v := range more {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return post(string(b))
}

// get returns a GET /graphql request with params.
func get(params url.Values) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/graphql?"+params.Encode(), nil)
}

// apqExt returns extensions with a version-1 persisted query of hash.
func apqExt(hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
}

// gqlErr is one error of a refusal.
type gqlErr struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
	Locations  []struct {
		Line, Column int
	} `json:"locations"`
}

// mustRefusal decodes a refusal body, failing unless it is a JSON error
// answer with exactly one coded error.
func mustRefusal(t testing.TB, rec *httptest.ResponseRecorder) gqlErr {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q, want application/json; charset=utf-8; body %s", ct, rec.Body)
	}
	var body struct {
		Errors []gqlErr `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("refusal is not JSON: %v: %s", err, rec.Body)
	}
	if len(body.Errors) != 1 {
		t.Fatalf("refusal has %d errors, want 1: %s", len(body.Errors), rec.Body)
	}
	if code, _ := body.Errors[0].Extensions["code"].(string); code == "" {
		t.Fatalf("refusal has no extensions.code: %s", rec.Body)
	}
	return body.Errors[0]
}

// codeOf returns the refusal's code.
func codeOf(e gqlErr) string {
	s, _ := e.Extensions["code"].(string)
	return s
}

// mustRead returns the client document name ("Dashboard.graphql") as the
// client sends it: the real contract documents, web's with the fragments
// they use appended.
func mustRead(t testing.TB, name string) string {
	t.Helper()
	web, err := gqldocs.Compose(weboperations.Documents())
	if err != nil {
		t.Fatal(err)
	}
	op := strings.TrimSuffix(name, ".graphql")
	if doc, ok := web[op]; ok {
		return doc
	}
	if doc, ok := mobileoperations.Documents()[op]; ok {
		return doc
	}
	t.Fatalf("no client document %s", name)
	return ""
}

// mustGuard returns a guard with cfg, for tests that share its APQ store
// across requests.
func mustGuard(t testing.TB, cfg Config) *guard {
	t.Helper()
	g, err := newGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// guardDo runs r through g.
func guardDo(g *guard, r *http.Request) (*httptest.ResponseRecorder, *call) {
	c := &call{}
	rec := httptest.NewRecorder()
	g.serve(rec, r, recordingNext(c))
	return rec, c
}

// peekBody returns r's body and puts it back.
func peekBody(t testing.TB, r *http.Request) string {
	t.Helper()
	if r.Body == nil {
		return ""
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	return string(b)
}

// defaultConfig is the guard as a BFF runs it by default: the limits of
// the configuration's defaults (internal/bff/config, the one place they
// are written).
func defaultConfig() Config {
	c := config.Default(config.Web)
	return ConfigFrom(c.Limits, c.PersistedQueries)
}
