package gqlmarshal

import (
	"reflect"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// collectSchema is a schema with an interface, for fields whose
// collection depends on the object's types.
const collectSchema = `
interface Node { id: ID! }
type Order implements Node { id: ID! total: Int! customer: User }
type User implements Node { id: ID! name: String! }
type Query { node: Node orders: [Order!]! }`

// collectOperation parses and validates query against collectSchema.
func collectOperation(t *testing.T, query string, vars map[string]any) *graphql.OperationContext {
	t.Helper()
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: collectSchema})
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	return &graphql.OperationContext{Doc: doc, Variables: vars}
}

// TestCollectedIsWhatCollectFieldsCollects: for each selection set and
// object type, the fields gqlgen collects (fragments, type conditions,
// @skip and @include under the operation's variables), the same from
// the second time on, and a selection set's fields differ by type.
func TestCollectedIsWhatCollectFieldsCollects(t *testing.T) {
	t.Parallel()
	oc := collectOperation(t, `
query($skip: Boolean!) {
  node { id ... on Order { total } ... on User { name } }
  orders { ...O id @skip(if: $skip) customer { id } }
}
fragment O on Order { total }`, map[string]any{"skip": true})
	op := oc.Doc.Operations[0]
	node, orders := op.SelectionSet[0].(*ast.Field), op.SelectionSet[1].(*ast.Field)
	orderTypes, userTypes := []string{"Order", "Node"}, []string{"User", "Node"}
	var c Collected
	for _, tc := range []struct {
		sel       ast.SelectionSet
		satisfies []string
	}{
		{node.SelectionSet, orderTypes},
		{node.SelectionSet, userTypes},
		{orders.SelectionSet, orderTypes},
		{op.SelectionSet, []string{"Query"}},
		{nil, orderTypes},
	} {
		want := graphql.CollectFields(oc, tc.sel, tc.satisfies)
		for range 2 {
			if got := c.Fields(oc, tc.sel, tc.satisfies); !reflect.DeepEqual(names(got), names(want)) {
				t.Errorf("fields of %v: %v, want %v", tc.satisfies, names(got), names(want))
			}
		}
	}
	if got := names(c.Fields(oc, node.SelectionSet, userTypes)); !reflect.DeepEqual(got, []string{"id", "name"}) {
		t.Errorf("a user's fields of the node: %v", got)
	}
	if got := names(c.Fields(oc, orders.SelectionSet, orderTypes)); !reflect.DeepEqual(got, []string{"total", "customer"}) {
		t.Errorf("an order's fields with id skipped: %v", got)
	}
}

// TestCollectedAllocatesNothingOnceCollected: asking again for the same
// selection set and type (every further element of a list) allocates
// nothing; gqlgen's own cache allocates its key each time.
func TestCollectedAllocatesNothingOnceCollected(t *testing.T) {
	oc := collectOperation(t, `{ orders { id total } }`, nil)
	sel := oc.Doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
	satisfies := []string{"Order", "Node"}
	var c Collected
	c.Fields(oc, sel, satisfies)
	if n := testing.AllocsPerRun(100, func() { c.Fields(oc, sel, satisfies) }); n != 0 {
		t.Errorf("%v allocations once collected, want none", n)
	}
}

// TestCollectedIsSafeForConcurrentResolvers is for -race: the
// operation's resolvers ask from several goroutines.
func TestCollectedIsSafeForConcurrentResolvers(t *testing.T) {
	t.Parallel()
	oc := collectOperation(t, `{ orders { id total } node { id } }`, nil)
	op := oc.Doc.Operations[0]
	var c Collected
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			sel := op.SelectionSet[i%2].(*ast.Field).SelectionSet
			if len(c.Fields(oc, sel, []string{"Order", "Node"})) == 0 {
				t.Error("no fields collected")
			}
		})
	}
	wg.Wait()
}

func names(fields []graphql.CollectedField) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return out
}
