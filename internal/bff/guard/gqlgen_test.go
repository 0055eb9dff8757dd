package guard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// TestWithGqlgen runs the guard in front of a real gqlgen server, set up
// like the BFFs' (GET and POST transports, gqlgen's own APQ extension), to
// check that gqlgen accepts and runs the requests the guard passes on.
func TestWithGqlgen(t *testing.T) {
	t.Parallel()
	srv := testserver.New()
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	h := mustMiddleware(t, defaultConfig(), srv)

	const q = "query N { name }"
	ext := mustJSON(apqExt(Hash(q)))
	steps := []struct {
		name     string
		req      *http.Request
		status   int
		wantData bool
		wantCode string
	}{
		{"hash only, before registering", postQuery("", map[string]any{"extensions": apqExt(Hash(q))}), 200, false, CodePersistedQueryNotFound},
		{"register", postQuery(q, map[string]any{"extensions": apqExt(Hash(q))}), 200, true, ""},
		{"POST hash only", postQuery("", map[string]any{"extensions": apqExt(Hash(q)), "operationName": "N"}), 200, true, ""},
		{"GET hash only", get(url.Values{"extensions": {ext}}), 200, true, ""},
		{"GET query", get(url.Values{"query": {"{ find(id: 1) }"}}), 200, true, ""},
		{"an attack", postQuery("{ name "+strings.Repeat("name ", 4000)+"}", nil), 400, false, CodeTooManyRootFields},
		{"an unknown operation goes to gqlgen", postQuery(q, map[string]any{"operationName": "X"}), 422, false, "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, s := range steps {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, s.req)
		if rec.Code != s.status {
			t.Fatalf("%s: status %d, want %d: %s", s.name, rec.Code, s.status, rec.Body)
		}
		var resp struct {
			Data   map[string]any `json:"data"`
			Errors []gqlErr       `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("%s: %v: %s", s.name, err, rec.Body)
		}
		if s.wantData && (resp.Data["name"] == nil || len(resp.Errors) > 0) {
			t.Errorf("%s: want data, got %s", s.name, rec.Body)
		}
		if s.wantCode != "" && (len(resp.Errors) == 0 || codeOf(resp.Errors[0]) != s.wantCode) {
			t.Errorf("%s: want code %s, got %s", s.name, s.wantCode, rec.Body)
		}
	}
}
