package guard

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// TestHooksHearRefusalsAndPersistedQueries counts what the hooks are
// told: every refusal's code, and the outcome of each automatic persisted
// query (a miss, the registration that follows, then a hit).
func TestHooksHearRefusalsAndPersistedQueries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var refused, apq []string
	cfg := defaultConfig()
	cfg.Hooks = Hooks{
		Refused: func(code string) { mu.Lock(); refused = append(refused, code); mu.Unlock() },
		APQ:     func(outcome string) { mu.Lock(); apq = append(apq, outcome); mu.Unlock() },
	}
	const query = "{ a }"
	hash := Hash(query)
	do(t, cfg, postQuery("{", nil))                                          // parse failure
	do(t, cfg, post(`[{"query":"{ a }"}]`))                                  // batching off
	do(t, cfg, postQuery("", map[string]any{"extensions": apqExt(hash)}))    // miss
	do(t, cfg, postQuery(query, map[string]any{"extensions": apqExt(hash)})) // registered
	do(t, cfg, postQuery("", map[string]any{"extensions": apqExt(hash)}))    // the guard is new each time: a miss again
	g := mustGuard(t, cfg)
	for _, body := range []map[string]any{{"query": query, "extensions": apqExt(hash)}, {"extensions": apqExt(hash)}} {
		q, _ := body["query"].(string)
		delete(body, "query")
		rec := httptest.NewRecorder()
		g.serve(rec, postQuery(q, body), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	}
	mu.Lock()
	defer mu.Unlock()
	wantRefused := []string{CodeParseFailed, CodeBatchingDisabled, CodePersistedQueryNotFound, CodePersistedQueryNotFound}
	if !slices.Equal(refused, wantRefused) {
		t.Errorf("refusals heard %v, want %v", refused, wantRefused)
	}
	wantAPQ := []string{APQMiss, APQRegistered, APQMiss, APQRegistered, APQHit}
	if !slices.Equal(apq, wantAPQ) {
		t.Errorf("APQ outcomes heard %v, want %v", apq, wantAPQ)
	}
}

// TestTheOperationReachesTheNextHandler checks what the guard tells the
// rest of the chain about the operation it measured.
func TestTheOperationReachesTheNextHandler(t *testing.T) {
	t.Parallel()
	var got Operation
	var ok bool
	h := mustMiddleware(t, defaultConfig(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = OperationFromContext(r.Context())
	}))
	h.ServeHTTP(httptest.NewRecorder(), postQuery("query A { a } mutation B { b c }", map[string]any{"operationName": "B"}))
	if !ok || got.Name != "B" || got.Type != ast.Mutation || got.Cost != 2 {
		t.Errorf("OperationFromContext = %+v, %v; want mutation B costing 2", got, ok)
	}
	h.ServeHTTP(httptest.NewRecorder(), postQuery("query A { a }", map[string]any{"operationName": "Nope"}))
	if ok = false; func() bool {
		_, ok := OperationFromContext(httptest.NewRequest(http.MethodGet, "/", nil).Context())
		return ok
	}() {
		t.Error("an operation in an empty context")
	}
}
