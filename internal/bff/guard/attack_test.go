package guard

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// The attack documents. Each costs gqlgen's parser or validator from a
// fraction of a second to many seconds when nothing stands in front of it.

// fields14000 repeats one field 14,000 times: validation compares the
// copies pairwise (13 s unguarded).
func fields14000() string { return "{ " + strings.Repeat("a ", 14000) + "}" }

// directives100000 puts 100,000 unknown directives on one field.
func directives100000() string { return "{ a " + strings.Repeat("@x ", 100000) + "}" }

// fragmentChain nests n+1 fragments, each spreading the next.
func fragmentChain(n int) string {
	var sb strings.Builder
	sb.WriteString("{ ...F0 } ")
	for i := range n {
		fmt.Fprintf(&sb, "fragment F%d on Query { ...F%d } ", i, i+1)
	}
	fmt.Fprintf(&sb, "fragment F%d on Query { a }", n)
	return sb.String()
}

// exponentialFragments spreads each of n fragments twice in the one before
// it: 2^n expansions of the last.
func exponentialFragments(n int) string {
	var sb strings.Builder
	sb.WriteString("{ ...F0 } ")
	for i := range n {
		fmt.Fprintf(&sb, "fragment F%d on Query { ...F%d ... on Query { ...F%d } } ", i, i+1, i+1)
	}
	fmt.Fprintf(&sb, "fragment F%d on Query { a }", n)
	return sb.String()
}

// repeatedUnderRoot repeats one field n times under a single root field,
// within every limit but the repeated-field one up to 4,999 (about a second
// of validation unguarded at 4,000).
func repeatedUnderRoot(n int) string { return "{ b { " + strings.Repeat("a ", n) + "} }" }

// spreadsSideBySide spreads n one-field fragments in one selection set,
// which validation compares pairwise (1 s unguarded at 1,600).
func spreadsSideBySide(n int) string {
	var sb strings.Builder
	sb.WriteString("{ b { ")
	for i := range n {
		fmt.Fprintf(&sb, "...F%d ", i)
	}
	sb.WriteString("} } ")
	for i := range n {
		fmt.Fprintf(&sb, "fragment F%d on Query { a%d } ", i, i)
	}
	return sb.String()
}

// hiddenInOtherOperation selects a tiny operation and carries the repeated
// fields in another, which gqlgen validates though it never runs it.
func hiddenInOtherOperation() string {
	return "query A { a } query B { b { " + strings.Repeat("a ", 5000) + "} }"
}

var attacks = []struct {
	name    string
	query   string
	opName  string
	allowed []string // the codes that may refuse it
}{
	// 14,000 fields are 14,002 tokens, under the 15,000-token limit, so the
	// root-field limit refuses them, after a linear parse.
	{"14000 fields", fields14000(), "", []string{CodeQueryTooLarge, CodeTooManyRootFields}},
	{"100000 directives", directives100000(), "", []string{CodeQueryTooLarge, CodeTooManyDirectives}},
	{"7000 directives within the token limit", "{ a " + strings.Repeat("@x ", 7000) + "}", "", []string{CodeTooManyDirectives}},
	{"fragment chain of 200", fragmentChain(200), "", []string{CodeQueryTooDeep, CodeQueryTooComplex, CodeQueryTooLarge, CodeTooManyFragmentSpreads}},
	{"fragment chain of 2000", fragmentChain(2000), "", []string{CodeQueryTooLarge}},
	{"2^60 fragment expansions", exponentialFragments(60), "", []string{CodeQueryTooComplex}},
	{"field repeated 4000 times under one root field", repeatedUnderRoot(4000), "", []string{CodeTooManyRepeatedFields}},
	{"1600 fragments side by side", spreadsSideBySide(1600), "", []string{CodeTooManyFragmentSpreads}},
	{"repeated fields in an operation that does not run", hiddenInOtherOperation(), "A", []string{CodeTooManyRepeatedFields}},
	{"fragments side by side in an operation that does not run", spreadsInHiddenOperation(100, 20), "A", []string{CodeQueryTooComplex}},
	{"nesting past the parser's limit", nested(2000), "", []string{CodeParseFailed, CodeQueryTooDeep}},
}

func TestAttacksAreRefused(t *testing.T) {
	t.Parallel()
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			rec, c := do(t, defaultConfig(), postQuery(a.query, map[string]any{"operationName": a.opName}))
			if c.called {
				t.Fatal("next was called")
			}
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", rec.Code)
			}
			if code := codeOf(mustRefusal(t, rec)); !slices.Contains(a.allowed, code) {
				t.Errorf("code %s, want one of %v; %s", code, a.allowed, rec.Body)
			}
		})
	}
}

// benchmarkRefuse measures the guard refusing query.
func benchmarkRefuse(b *testing.B, query, opName string) {
	body := []byte(mustJSON(map[string]any{"query": query, "operationName": opName}))
	h := mustMiddleware(b, defaultConfig(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		b.Fatal("next was called")
	}))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusBadRequest {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkRefuse14000Fields(b *testing.B)      { benchmarkRefuse(b, fields14000(), "") }
func BenchmarkRefuse100000Directives(b *testing.B) { benchmarkRefuse(b, directives100000(), "") }
func BenchmarkRefuseFragmentChain(b *testing.B)    { benchmarkRefuse(b, fragmentChain(200), "") }
func BenchmarkRefuseExponentialFragments(b *testing.B) {
	benchmarkRefuse(b, exponentialFragments(60), "")
}
func BenchmarkRefuseRepeatedField(b *testing.B)     { benchmarkRefuse(b, repeatedUnderRoot(4000), "") }
func BenchmarkRefuseSpreadsSideBySide(b *testing.B) { benchmarkRefuse(b, spreadsSideBySide(1600), "") }
func BenchmarkRefuseHiddenInOperation(b *testing.B) {
	benchmarkRefuse(b, hiddenInOtherOperation(), "A")
}
func BenchmarkRefuseNestedPastParser(b *testing.B) { benchmarkRefuse(b, nested(2000), "") }
func BenchmarkRefuse7000DirectivesInLimit(b *testing.B) {
	benchmarkRefuse(b, "{ a "+strings.Repeat("@x ", 7000)+"}", "")
}

// BenchmarkPassAdminOverview measures the guard passing a real document on.
func BenchmarkPassAdminOverview(b *testing.B) {
	body := []byte(mustJSON(map[string]any{"query": mustRead(b, "AdminOverview.graphql"), "variables": map[string]any{"recent": 100}}))
	h := mustMiddleware(b, defaultConfig(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// The validation benchmarks show what gqlgen's validator spends on the
// worst documents the default limits let through, next to one they refuse.

var benchSchema = func() *ast.Schema {
	var sb strings.Builder
	sb.WriteString("type Query { a: Int b: Query x: Query ")
	for i := range 2000 {
		fmt.Fprintf(&sb, "a%d: Int ", i)
	}
	sb.WriteString("}")
	return gqlparser.MustLoadSchema(&ast.Source{Input: sb.String()})
}()

func benchmarkValidate(b *testing.B, query, opName string, wantPass bool) {
	rec, c := do(b, defaultConfig(), postQuery(query, map[string]any{"operationName": opName}))
	if c.called != wantPass {
		b.Fatalf("the guard passes it: %v, want %v (%s)", c.called, wantPass, rec.Body)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = validator.ValidateWithRules(benchSchema, doc, nil) // the cost is measured, not the verdict
	}
}

// spreadsInHiddenOperation spreads n fragments side by side, each with per
// distinct fields, in an operation that does not run, so that no
// per-operation limit applies; validation compares the fragments pairwise.
// The worst of these the document-wide work limit lets through are about
// 20 fragments of 47 fields.
func spreadsInHiddenOperation(n, per int) string {
	var sb strings.Builder
	sb.WriteString("query A { a } query B { x { ")
	for i := range n {
		fmt.Fprintf(&sb, "...F%d ", i)
	}
	sb.WriteString("} } ")
	f := 0
	for i := range n {
		fmt.Fprintf(&sb, "fragment F%d on Query { ", i)
		for range per {
			fmt.Fprintf(&sb, "a%d ", f%2000)
			f++
		}
		sb.WriteString("} ")
	}
	return sb.String()
}

func BenchmarkValidateAcceptedRepeatedField(b *testing.B) {
	benchmarkValidate(b, repeatedUnderRoot(101), "", true)
}

func BenchmarkValidateAcceptedRepeatedSubselections(b *testing.B) {
	// 101 copies of b, each with 40 fields: 100 repeats of b at the root,
	// and the merged sub-selections repeat every a too, so the document
	// is refused; 3 copies of b with 40 fields pass.
	benchmarkValidate(b, "query A { a } query B { "+strings.Repeat("b { "+fields(40, "a%d")+"} ", 3)+"}", "A", true)
}

func BenchmarkValidateAcceptedSpreads(b *testing.B) {
	benchmarkValidate(b, spreadsInHiddenOperation(20, 47), "A", true)
}

func BenchmarkValidateAcceptedManySpreads(b *testing.B) {
	benchmarkValidate(b, spreadsInHiddenOperation(100, 1), "A", true)
}

func BenchmarkValidateRefusedSpreads(b *testing.B) {
	benchmarkValidate(b, spreadsInHiddenOperation(100, 20), "A", false)
}

func BenchmarkValidateRefusedRepeatedField(b *testing.B) {
	benchmarkValidate(b, repeatedUnderRoot(2000), "", false)
}
