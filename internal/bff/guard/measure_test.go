package guard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// costOf measures the operation of query with cfg and variables (JSON).
func costOf(t *testing.T, cfg Config, query, variables string) (int, *refusal) {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatalf("parse %q: %v", query, err)
	}
	var vars map[string]json.RawMessage
	if variables != "" {
		if err := json.Unmarshal([]byte(variables), &vars); err != nil {
			t.Fatal(err)
		}
	}
	op := doc.Operations.ForName("")
	if op == nil {
		t.Fatalf("no single operation in %q", query)
	}
	return measureOperation(doc, op, vars, &cfg)
}

func TestCost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, query, variables string
		want                   int
	}{
		{"one field", "{ a }", "", 1},
		{"nested fields", "{ a { b c { d } } }", "", 4},
		{"no list argument multiplies by 1", `{ product(id: "x") { id name } }`, "", 3},
		{"first multiplies the children", "{ a(first: 10) { b c } }", "", 21},
		{"limit, last and recent too", "{ a(limit: 2) { b(last: 3) { c(recent: 4) { d } } } }", "", 1 + 2 + 6 + 24},
		{"multipliers compound", "{ a(first: 10) { b(first: 10) { c } } }", "", 1 + 10 + 100},
		{"the largest list argument counts", "{ a(first: 3, last: 7) { b } }", "", 8},
		{"a multiplier is at most 100", "{ a(first: 1000000) { b } }", "", 101},
		{"a huge multiplier is 100", "{ a(first: 99999999999999999999999) { b } }", "", 101},
		{"a multiplier is at least 1", "{ a(first: 0) { b } }", "", 2},
		{"a negative multiplier is 1", "{ a(first: -5) { b } }", "", 2},
		{"a non-number argument counts 20", `{ a(first: "x") { b } }`, "", 21},
		{"a null argument counts 20", `{ a(first: null) { b } }`, "", 21},
		{"variable", "query($n: Int) { a(first: $n) { b } }", `{"n": 4}`, 5},
		{"variable over 100", "query($n: Int) { a(first: $n) { b } }", `{"n": 1e9}`, 101},
		{"string variable counts 20", "query($n: Int) { a(first: $n) { b } }", `{"n": "4"}`, 21},
		{"null variable takes the default", "query($n: Int = 3) { a(first: $n) { b } }", `{"n": null}`, 4},
		{"absent variable takes the default", "query($n: Int = 3) { a(first: $n) { b } }", "", 4},
		{"absent variable without default counts 20", "query($n: Int) { a(first: $n) { b } }", "", 21},
		{"variable used in a fragment", "query($n: Int) { ...F } fragment F on Query { a(first: $n) { b } }", `{"n": 9}`, 10},
		{"aliases cost like fields", "{ x: a y: a z: a }", "", 3},
		{"a spread fragment costs at each spread", "{ a(first: 10) { ...F } b { ...F } } fragment F on T { c d }", "", 1 + 20 + 1 + 2},
		{"inline fragments cost their fields", "{ ... on Query { a b } }", "", 2},
	}
	cfg := defaultConfig()
	cfg.MaxComplexity = 1 << 30
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, rf := costOf(t, cfg, tc.query, tc.variables)
			if rf != nil {
				t.Fatalf("refused: %s", rf.Body(""))
			}
			if got != tc.want {
				t.Errorf("cost %d, want %d", got, tc.want)
			}
		})
	}
}

// TestCostOrdersQueries checks the cost tells a big list query from a
// lookup: AdminOverview of the latest 100 orders with their items costs
// more than 100 product lookups.
func TestCostOrdersQueries(t *testing.T) {
	t.Parallel()
	admin := mustRead(t, "AdminOverview.graphql")
	lookup, rf := costOf(t, defaultConfig(), `{ product(id:"x"){ id name } }`, "")
	if rf != nil {
		t.Fatal(rf.Message)
	}
	recent100, rf := costOf(t, defaultConfig(), admin, `{"recent": 100}`)
	if rf != nil {
		t.Fatalf("AdminOverview(recent: 100) refused: %s", rf.Body(""))
	}
	recentDefault, rf := costOf(t, defaultConfig(), admin, "")
	if rf != nil {
		t.Fatal(rf.Message)
	}
	t.Logf("costs: lookup %d, AdminOverview default %d, recent 100 %d", lookup, recentDefault, recent100)
	if recent100 <= 100*lookup {
		t.Errorf("AdminOverview(recent: 100) costs %d, not more than 100 × %d", recent100, lookup)
	}
	if recentDefault >= recent100 {
		t.Errorf("AdminOverview costs %d by default, not less than %d with 100", recentDefault, recent100)
	}

	// 1,000 aliased fields cost at least 1,000.
	cfg := defaultConfig()
	cfg.MaxAliases, cfg.MaxRootFields, cfg.MaxComplexity = 1<<20, 1<<20, 1<<30
	aliased, rf := costOf(t, cfg, "{ "+fields(1000, "x%d: product(id: \"1\")")+"}", "")
	if rf != nil || aliased < 1000 {
		t.Errorf("1,000 aliased fields cost %d (%v)", aliased, rf)
	}
}

// TestClientDocumentsPass checks that the clients' own documents pass the
// default limits.
func TestClientDocumentsPass(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"AdminOverview.graphql", "Dashboard.graphql", "Home.graphql"} {
		for _, vars := range []map[string]any{nil, {"recent": 100, "orders": 100, "featured": 100}} {
			rec, c := do(t, defaultConfig(), postQuery(mustRead(t, name), map[string]any{"variables": vars}))
			if !c.called {
				t.Errorf("%s with %v refused: %s", name, vars, rec.Body)
			}
		}
	}
}

func TestIntrospectionDepthIsBounded(t *testing.T) {
	t.Parallel()
	nest := func(n int) string { return strings.Repeat("ofType { ", n) + "name" + strings.Repeat(" }", n) }
	// The standard introspection query (gqlgen's; graphql-js's nests as
	// deep) passes the default limits.
	if _, rf := costOf(t, defaultConfig(), introspection.Query, ""); rf != nil {
		t.Errorf("the standard introspection query refused: %s", rf.Body(""))
	}
	for name, doc := range map[string]string{
		"__type fifty deep":         `{ __type(name: "X") { ` + nest(50) + ` } }`,
		"__schema twenty deep":      `{ __schema { types { ` + nest(20) + ` } } }`,
		"hidden in a fragment":      `{ __type(name: "X") { ...T } } fragment T on __Type { ` + nest(50) + ` }`,
		"a fragment holding __type": `{ ...Q } fragment Q on Query { __type(name: "X") { ` + nest(50) + ` } }`,
	} {
		_, rf := costOf(t, defaultConfig(), doc, "")
		if rf == nil || rf.Code != CodeQueryTooDeep {
			t.Errorf("%s: %v; want QUERY_TOO_DEEP", name, rf)
		}
	}
	// Depth still counts outside introspection fields.
	shallow := "{ a { __typename " + strings.Repeat("b { ", 12) + "c" + strings.Repeat(" }", 12) + " } }"
	if _, rf := costOf(t, defaultConfig(), shallow, ""); rf == nil || rf.Code != CodeQueryTooDeep {
		t.Errorf("deep query next to __typename: %v", rf)
	}
}

// TestExponentialFragments checks that fragments spread twice at each of 60
// levels (2^60 expansions) are measured once each and refused.
func TestExponentialFragments(t *testing.T) {
	t.Parallel()
	_, rf := costOf(t, defaultConfig(), exponentialFragments(60), "")
	if rf == nil || rf.Code != CodeQueryTooComplex {
		t.Fatalf("got %v, want %s", rf, CodeQueryTooComplex)
	}
}

// TestDeferIsRefused checks that a fragment marked @defer, inline or
// spread, in the operation or inside a fragment it spreads, is refused:
// the BFF answers in one response, where gqlgen would leave the deferred
// fields null and never send them.
func TestDeferIsRefused(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"inline":                   `{ viewer { id ... @defer { name } } }`,
		"spread":                   `{ viewer { id ...N @defer } } fragment N on User { name }`,
		"labelled, with if":        `query($d: Boolean = true) { viewer { ... @defer(label: "n", if: $d) { name } } }`,
		"inside a spread fragment": `{ ...V } fragment V on Query { viewer { ... @defer { name } } }`,
	} {
		_, rf := costOf(t, defaultConfig(), doc, "")
		if rf == nil || rf.Code != CodeDeferNotSupported || !documentCodes[rf.Code] {
			t.Errorf("%s: %v; want a document refusal %s", name, rf, CodeDeferNotSupported)
		}
	}
	// Other directives on fragments pass.
	for _, doc := range []string{
		`query($s: Boolean!) { viewer { ... @include(if: $s) { name } } }`,
		`query($s: Boolean!) { viewer { ...N @skip(if: $s) } } fragment N on User { name }`,
	} {
		if _, rf := costOf(t, defaultConfig(), doc, `{"s": true}`); rf != nil {
			t.Errorf("%s refused: %s", doc, rf.Body(""))
		}
	}
}
