package guard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRefusalsFollowAccept checks that every refusal is written in the
// media type the Accept header asks for, and that a document that does not
// parse or passes a limit is answered with 200 when the client asked for
// application/json (GraphQL over HTTP's advice for that media type) and
// with 400 otherwise, while the other refusals keep their status.
func TestRefusalsFollowAccept(t *testing.T) {
	t.Parallel()
	const (
		noAccept = ""
		appJSON  = "application/json"
		grj      = "application/graphql-response+json"
		apollo   = "application/graphql-response+json,application/json;q=0.9"
		wildcard = "*/*"
		html     = "text/html" // admits neither: the guard falls back to JSON
	)
	const (
		ctJSON = "application/json; charset=utf-8"
		ctGRJ  = "application/graphql-response+json; charset=utf-8"
	)
	cfg := defaultConfig()
	cfg.MaxBodyBytes = 1 << 10
	cfg.MaxTokens = 100
	refusals := []struct {
		name     string
		req      func() *http.Request
		code     string
		document bool // a parsing or validation failure
		status   int  // otherwise, whatever the Accept header
	}{
		{"parse failure", func() *http.Request { return postQuery("{", nil) }, CodeParseFailed, true, 0},
		{"GET parse failure", func() *http.Request { return get(url.Values{"query": {"{"}}) }, CodeParseFailed, true, 0},
		{"too deep", func() *http.Request { return postQuery(nested(20), nil) }, CodeQueryTooDeep, true, 0},
		{"too many tokens", func() *http.Request { return postQuery("{"+strings.Repeat(" a", 300)+"}", nil) }, CodeQueryTooLarge, true, 0},
		{"fragment cycle", func() *http.Request {
			return postQuery("{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }", nil)
		}, CodeFragmentCycle, true, 0},
		{"not JSON", func() *http.Request { return post(`{"query":`) }, CodeBadRequest, false, 400},
		{"no query", func() *http.Request { return post(`{"qeury":"{ a }"}`) }, CodeBadRequest, false, 400},
		{"variables not an object", func() *http.Request { return postQuery("{ a }", map[string]any{"variables": []int{7}}) }, CodeBadRequest, false, 400},
		{"too large", func() *http.Request { return postQuery("{ a }"+strings.Repeat(" ", 2<<10), nil) }, CodeRequestTooLarge, false, 413},
		{"a batch", func() *http.Request { return post(`[{"query":"{ a }"}]`) }, CodeBatchingDisabled, false, 400},
		{"mutation over GET", func() *http.Request { return get(url.Values{"query": {"mutation { a }"}}) }, CodeMethodNotAllowed, false, 405},
		// Apollo Client retries on this answer's 200.
		{"unknown persisted query", func() *http.Request {
			return postQuery("", map[string]any{"extensions": apqExt(Hash("{ never }"))})
		}, CodePersistedQueryNotFound, false, 200},
	}
	accepts := []struct {
		accept      string
		contentType string
		docStatus   int
	}{
		{noAccept, ctJSON, 400},
		{appJSON, ctJSON, 200},
		{grj, ctGRJ, 400},
		{apollo, ctGRJ, 400},
		{wildcard, ctJSON, 200},
		{html, ctJSON, 400},
	}
	for _, rf := range refusals {
		for _, a := range accepts {
			t.Run(rf.name+"/"+a.accept, func(t *testing.T) {
				t.Parallel()
				r := rf.req()
				if a.accept != "" {
					r.Header.Set("Accept", a.accept)
				}
				rec, c := do(t, cfg, r)
				if c.called {
					t.Fatal("next was called")
				}
				want := rf.status
				if rf.document {
					want = a.docStatus
				}
				if rec.Code != want {
					t.Errorf("status %d, want %d: %s", rec.Code, want, rec.Body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != a.contentType {
					t.Errorf("Content-Type %q, want %q", ct, a.contentType)
				}
				var body struct {
					Data   *json.RawMessage `json:"data"`
					Errors []gqlErr         `json:"errors"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
					t.Fatalf("body %s: %v", rec.Body, err)
				}
				if body.Data != nil {
					t.Errorf("a refusal has a data entry: %s", rec.Body)
				}
				if got := codeOf(body.Errors[0]); rf.code != "" && got != rf.code {
					t.Errorf("code %s, want %s", got, rf.code)
				}
			})
		}
	}
}

// TestBatchFollowsAccept checks the media type of a batch's answer.
func TestBatchFollowsAccept(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.Batching.Enabled = true
	r := post(`[{"query":"{ a }"},{"query":"{"}]`)
	r.Header.Set("Accept", "application/graphql-response+json")
	rec, _ := do(t, cfg, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/graphql-response+json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}
