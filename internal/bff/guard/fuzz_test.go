package guard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary POST bodies (and the same bytes as a
// GET query string) to the guard. It must never panic, and must either call
// the next handler with a request holding a query, or answer with a coded
// JSON error.
func FuzzDecodeRequest(f *testing.F) {
	const q = `query P($n: Int) { a(first: $n) { b ...F } } fragment F on T { c }`
	seeds := []string{
		`{"query":"{ a }"}`,
		`{"query":` + mustJSON(q) + `,"operationName":"P","variables":{"n":3}}`,
		`{"query":"{ a }","variables":null,"extensions":null}`,
		`{"query":"{ a }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + Hash("{ a }") + `"}}}`,
		`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + Hash("{ a }") + `"}}}`,
		`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + Hash("{ b }") + `"}},"query":"{ a }"}`,
		`{"extensions":{"persistedQuery":{"version":"1","sha256Hash":5}}}`,
		`[{"query":"{ a }"},{"query":"{ b }"}]`,
		`[]`,
		`[1,"x",null,{"query":"{"}]`,
		`{"query":"{ a ` + strings.Repeat("@x ", 60) + `}"}`,
		`{"query":"{ ...A } fragment A on Q { ...B } fragment B on Q { ...A }"}`,
		`{"query":"` + strings.Repeat("{ a ", 20) + `"}`,
		`{"query":5}`,
		`{"variables":[1]}`,
		`null`,
		``,
		`{`,
		"\x00\xff garbage",
		`"string"`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Add([]byte(url.Values{"query": {q}, "variables": {`{"n":2}`}}.Encode()), false)

	cfg := defaultConfig()
	cfg.MaxBodyBytes = 64 << 10
	guards := map[bool]*guard{}
	for _, batching := range []bool{false, true} {
		c := cfg
		c.Batching.Enabled = batching
		g, err := newGuard(c)
		if err != nil {
			f.Fatal(err)
		}
		guards[batching] = g
	}

	f.Fuzz(func(t *testing.T, body []byte, batching bool) {
		g := guards[batching]

		r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		checkAnswer(t, g, r, true)

		if len(body) < 4096 {
			r = httptest.NewRequest(http.MethodGet, "/graphql", nil)
			r.URL.RawQuery = string(body)
			checkAnswer(t, g, r, false)
		}
	})
}

// checkAnswer runs r through g and checks the property of
// FuzzDecodeRequest.
func checkAnswer(t *testing.T, g *guard, r *http.Request, isPost bool) {
	t.Helper()
	called := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called++
		var query string
		if isPost {
			var p map[string]any
			if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
				t.Fatalf("next got a body that is not a JSON object: %v", err)
			}
			query, _ = p["query"].(string)
		} else {
			query = r.URL.Query().Get("query")
		}
		if strings.TrimSpace(query) == "" {
			t.Fatal("next got a request without a query")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{}}`))
	})
	rec := httptest.NewRecorder()
	g.serve(rec, r, next)
	if called > 0 && rec.Code == http.StatusOK && !strings.HasPrefix(rec.Body.String(), "[") {
		return
	}
	if rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("answer Content-Type %q: %d %s", rec.Header().Get("Content-Type"), rec.Code, rec.Body)
	}
	if strings.HasPrefix(rec.Body.String(), "[") { // a batch
		var answers []json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &answers); err != nil {
			t.Fatalf("batch answer is not a JSON array: %v: %s", err, rec.Body)
		}
		return
	}
	if called > 0 {
		t.Fatalf("next was called and the guard answered too: %s", rec.Body)
	}
	var e struct {
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("refusal is not a JSON error: %v: %s", err, rec.Body)
	}
	if code, _ := e.Errors[0].Extensions["code"].(string); code == "" || e.Errors[0].Message == "" {
		t.Fatalf("refusal without code or message: %s", rec.Body)
	}
}
