package guard

import (
	"encoding/json"
	"strings"
	"testing"
)

// analyseWith runs analyse on query with variables (JSON) and the
// operation named op.
func analyseWith(t *testing.T, docs *documents, cfg Config, query, op, variables string) (measurement, *refusal) {
	t.Helper()
	req := &gqlRequest{operationName: op}
	if variables != "" {
		if err := json.Unmarshal([]byte(variables), &req.vars); err != nil {
			t.Fatal(err)
		}
	}
	return analyse(query, req, &cfg, docs)
}

// TestDocumentsAreParsedOnce checks that a document that passed is
// remembered, and that a remembered one is still measured per request:
// with its variables and the operation it names.
func TestDocumentsAreParsedOnce(t *testing.T) {
	t.Parallel()
	docs := newDocuments()
	const query = "query A($n: Int) { a(first: $n) { b } } query B { a { b c } }"
	if _, ok := docs.get(query); ok {
		t.Fatal("remembered before it was sent")
	}
	m, rf := analyseWith(t, docs, defaultConfig(), query, "A", `{"n": 4}`)
	if rf != nil || m.cost != 5 || m.name != "A" {
		t.Fatalf("first: %+v %v", m, rf)
	}
	if _, ok := docs.get(query); !ok {
		t.Fatal("a document that passed is not remembered")
	}
	for _, tc := range []struct {
		op, vars string
		cost     int
	}{{"A", `{"n": 9}`, 10}, {"B", "", 3}} {
		m, rf := analyseWith(t, docs, defaultConfig(), query, tc.op, tc.vars)
		if rf != nil || m.cost != tc.cost || m.name != tc.op || !m.measured {
			t.Errorf("%s %s from the remembered document: %+v %v, want cost %d", tc.op, tc.vars, m, rf, tc.cost)
		}
	}
	// Its limits still hold per request.
	cfg := defaultConfig()
	cfg.MaxComplexity = 50
	if _, rf := analyseWith(t, docs, cfg, query, "A", `{"n": 100}`); rf == nil || rf.Code != CodeQueryTooComplex {
		t.Errorf("remembered document over the cost limit: %v", rf)
	}
}

// TestRefusedAndLongDocumentsAreNotRemembered: a document refused by the
// whole-document checks is refused again every time, and one longer than
// MaxCachedDocumentBytes is parsed every time.
func TestRefusedAndLongDocumentsAreNotRemembered(t *testing.T) {
	t.Parallel()
	docs := newDocuments()
	cfg := defaultConfig()
	spreads := "{ a { ...F " + strings.Repeat("...F ", cfg.MaxFragmentSpreads) + "} } fragment F on T { b }"
	for range 2 {
		if _, rf := analyseWith(t, docs, cfg, spreads, "", ""); rf == nil || rf.Code != CodeTooManyFragmentSpreads {
			t.Fatalf("%d spreads: %v", cfg.MaxFragmentSpreads+1, rf)
		}
	}
	if _, ok := docs.get(spreads); ok {
		t.Error("a refused document is remembered")
	}
	long := "{ a " + strings.Repeat("# padding\n", MaxCachedDocumentBytes/10) + "}"
	if _, rf := analyseWith(t, docs, cfg, long, "", ""); rf != nil {
		t.Fatalf("long document refused: %v", rf)
	}
	if _, ok := docs.lru.Get(long); ok || docs.lru.Len() != 0 {
		t.Errorf("a document of %d bytes is remembered", len(long))
	}
}
