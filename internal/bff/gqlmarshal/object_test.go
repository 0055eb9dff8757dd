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
		// A writer other than a bytes.Buffer gets the same bytes.
		var other strings.Builder
		Object(tc.fields, out).MarshalGQL(&other)
		if other.String() != want.String() {
			t.Errorf("%s: Object wrote %s to a strings.Builder, FieldSet writes %s", name, other.String(), want.String())
		}
		if name == "a name twice" && strings.Contains(got.String(), "second") {
			t.Errorf("%s: wrote the second field of a name: %s", name, got.String())
		}
	}
}

// BenchmarkObject writes an object of six fields (an order's summary) into
// a reused buffer, as an answer's objects are written.
func BenchmarkObject(b *testing.B) {
	var fields []graphql.CollectedField
	for _, name := range []string{"id", "status", "placedAt", "itemCount", "total", "customer"} {
		fields = append(fields, graphql.CollectedField{Field: &ast.Field{Alias: name, Name: name}})
	}
	out := graphql.NewFieldSet(fields)
	copy(out.Values, []graphql.Marshaler{graphql.MarshalString("ord_01J9"), graphql.MarshalString("PAID"),
		graphql.MarshalString("2026-12-04T10:00:00Z"), graphql.MarshalInt(3), graphql.Null, graphql.Null})
	obj := Object(fields, out)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		obj.MarshalGQL(&buf)
	}
}
