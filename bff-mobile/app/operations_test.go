package app_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/acme/bff-gateway/bff-mobile/graph"
	"github.com/acme/bff-gateway/bff-mobile/graph/generated"
	"github.com/acme/bff-gateway/internal/bff/bfftest"
)

// mobileOperations are the app's documents, one per file of ../operations
// (the copy of the app's contract). Each is also sent end to end by the
// tests of this package.
var mobileOperations = []string{"Home", "Login", "OrderList", "PlaceOrder", "Product"}

func TestOperationsValidateAgainstTheSchema(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{Resolvers: &graph.Resolver{}}).Schema()
	ops := bfftest.LoadOperations(t, "../operations")
	if got := slices.Sorted(maps.Keys(ops.Docs)); !slices.Equal(got, mobileOperations) {
		t.Fatalf("operations %v, want %v: every document of the contract must be tested", got, mobileOperations)
	}
	for _, name := range mobileOperations {
		t.Run(name, func(t *testing.T) {
			doc, err := ops.Document(name)
			if err != nil {
				t.Fatal(err)
			}
			q, errs := gqlparser.LoadQueryWithRules(schema, doc, rules.NewDefaultRules())
			if len(errs) > 0 {
				t.Fatalf("%s does not validate: %v", name, errs)
			}
			if len(q.Operations) != 1 || q.Operations[0].Name != name {
				t.Errorf("%s.graphql should hold the one operation %s", name, name)
			}
		})
	}
}
