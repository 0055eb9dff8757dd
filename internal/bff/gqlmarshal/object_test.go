package gqlmarshal

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestObjectWritesWhatFieldSetWrites checks ObjectSet against gqlgen's
// FieldSet.MarshalGQL: the fields in order, values as they marshal, and
// of two fields of one response name (fragments on different types) only
// the first; with its values inline and, past inlineValues fields, in a
// slice of their own.
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
		"more than inline": {many(inlineValues+2, field), ints(inlineValues + 2)},
		"exactly inline":   {many(inlineValues, field), ints(inlineValues)},
	} {
		want := graphql.NewFieldSet(tc.fields)
		copy(want.Values, tc.values)
		got := NewObjectSet(tc.fields)
		if len(got.Values) != len(tc.fields) {
			t.Fatalf("%s: %d values for %d fields", name, len(got.Values), len(tc.fields))
		}
		copy(got.Values, tc.values)
		var wantBuf, gotBuf, objBuf bytes.Buffer
		want.MarshalGQL(&wantBuf)
		got.MarshalGQL(&gotBuf)
		if gotBuf.String() != wantBuf.String() {
			t.Errorf("%s: ObjectSet wrote %s, FieldSet writes %s", name, gotBuf.String(), wantBuf.String())
		}
		Object(tc.fields, want).MarshalGQL(&objBuf)
		if objBuf.String() != wantBuf.String() {
			t.Errorf("%s: Object wrote %s, FieldSet writes %s", name, objBuf.String(), wantBuf.String())
		}
		// A writer other than a bytes.Buffer gets the same bytes.
		var other strings.Builder
		got.MarshalGQL(&other)
		if other.String() != wantBuf.String() {
			t.Errorf("%s: ObjectSet wrote %s to a strings.Builder, FieldSet writes %s", name, other.String(), wantBuf.String())
		}
		if name == "a name twice" && strings.Contains(gotBuf.String(), "second") {
			t.Errorf("%s: wrote the second field of a name: %s", name, gotBuf.String())
		}
	}
}

// TestObjectSetIsOneAllocation: the field set, its values and its
// marshaler are one allocation for an object of up to inlineValues
// fields (gqlgen's three).
func TestObjectSetIsOneAllocation(t *testing.T) {
	fields := many(inlineValues, func(alias string) graphql.CollectedField {
		return graphql.CollectedField{Field: &ast.Field{Alias: alias, Name: alias}}
	})
	var sink graphql.Marshaler
	if n := testing.AllocsPerRun(100, func() { sink = NewObjectSet(fields) }); n != 1 {
		t.Errorf("NewObjectSet of %d fields: %v allocations, want 1", len(fields), n)
	}
	_ = sink
}

// many makes n fields f0, f1, …
func many(n int, field func(string) graphql.CollectedField) []graphql.CollectedField {
	fields := make([]graphql.CollectedField, n)
	for i := range fields {
		fields[i] = field(fmt.Sprintf("f%d", i))
	}
	return fields
}

// ints are the values 0, 1, … n-1.
func ints(n int) []graphql.Marshaler {
	values := make([]graphql.Marshaler, n)
	for i := range values {
		values[i] = graphql.MarshalInt(i)
	}
	return values
}

// BenchmarkObject writes an object of six fields (an order's summary) into
// a reused buffer, as an answer's objects are written.
func BenchmarkObject(b *testing.B) {
	var fields []graphql.CollectedField
	for _, name := range []string{"id", "status", "placedAt", "itemCount", "total", "customer"} {
		fields = append(fields, graphql.CollectedField{Field: &ast.Field{Alias: name, Name: name}})
	}
	obj := NewObjectSet(fields)
	copy(obj.Values, []graphql.Marshaler{graphql.MarshalString("ord_01J9"), graphql.MarshalString("PAID"),
		graphql.MarshalString("2026-12-04T10:00:00Z"), graphql.MarshalInt(3), graphql.Null, graphql.Null})
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		obj.MarshalGQL(&buf)
	}
}
