package gqlmarshal

import (
	"bytes"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestObjectWritesWhatFieldSetWrites checks Object against gqlgen's
// FieldSet.MarshalGQL: the fields in order, values as they marshal, and
// of two fields of one response name (fragments on different types) only
// the first.
func TestObjectWritesWhatFieldSetWrites(t *testing.T) {
	t.Parallel()
	field := func(alias string) graphql.CollectedField {
		return graphql.CollectedField{Field: &ast.Field{Alias: alias, Name: alias}}
	}
	for name, tc := range map[string]struct {
		fields []graphql.CollectedField
		values []graphql.Marshaler
	}{
		"no fields":        {},
		"one field":        {[]graphql.CollectedField{field("id")}, []graphql.Marshaler{graphql.MarshalString("o1")}},
		"fields in order":  {[]graphql.CollectedField{field("b"), field("a"), field("__typename")}, []graphql.Marshaler{graphql.MarshalInt(1), graphql.Null, graphql.MarshalString("Order")}},
		"a name twice":     {[]graphql.CollectedField{field("x"), field("y"), field("x")}, []graphql.Marshaler{graphql.MarshalString("first"), graphql.MarshalBoolean(true), graphql.MarshalString("second")}},
		"an object inside": {[]graphql.CollectedField{field("total")}, []graphql.Marshaler{graphql.MarshalAny(map[string]any{"cents": 1250})}},
	} {
		out := graphql.NewFieldSet(tc.fields)
		copy(out.Values, tc.values)
		var want, got bytes.Buffer
		out.MarshalGQL(&want)
		Object(tc.fields, out).MarshalGQL(&got)
		if got.String() != want.String() {
			t.Errorf("%s: Object wrote %s, FieldSet writes %s", name, got.String(), want.String())
		}
		if name == "a name twice" && strings.Contains(got.String(), "second") {
			t.Errorf("%s: wrote the second field of a name: %s", name, got.String())
		}
	}
}
