package gqlmarshal

import (
	"bytes"
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// Object is the marshaler of an object whose field values out holds,
// fields being the fields out was made of (graphql.NewFieldSet(fields)):
// it writes what out.MarshalGQL writes, {"alias":value,…} in the order of
// fields, the first of two fields of the same response name only. gqlgen's
// FieldSet.MarshalGQL copies each field to the heap (an iterator yields
// its address) and builds a map of the names written, for every object of
// an answer: a third of the allocations of a list of orders.
func Object(fields []graphql.CollectedField, out *graphql.FieldSet) graphql.Marshaler {
	return &object{fields: fields, values: out.Values}
}

type object struct {
	fields []graphql.CollectedField
	values []graphql.Marshaler
}

func (o *object) MarshalGQL(w io.Writer) {
	b, direct := w.(*bytes.Buffer)
	if !direct {
		// Answers are written into a bytes.Buffer (the executor's, from
		// bufpool); any other writer gets the object in one write.
		b = new(bytes.Buffer)
	}
	o.writeTo(b)
	if !direct {
		_, _ = w.Write(b.Bytes())
	}
}

// writeTo writes the object into b: through the buffer's own methods,
// where io.WriteString looked up the writer's WriteString for each of the
// five pieces of every field of an answer.
func (o *object) writeTo(b *bytes.Buffer) {
	b.WriteByte('{')
	first := true
	for i := range o.fields {
		alias := o.fields[i].Alias
		if written(o.fields[:i], alias) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		// A response name is a GraphQL name ([_A-Za-z][_0-9A-Za-z]*):
		// nothing in it needs escaping.
		b.WriteByte('"')
		b.WriteString(alias)
		b.WriteString(`":`)
		o.values[i].MarshalGQL(b)
	}
	b.WriteByte('}')
}

// written reports whether one of fields has the response name alias. An
// object has a few fields, and gqlgen's field collection has merged the
// selections of one name already (only fields of the same name from
// fragments on different types stay apart): comparing is cheaper than a
// map.
func written(fields []graphql.CollectedField, alias string) bool {
	for i := range fields {
		if fields[i].Alias == alias {
			return true
		}
	}
	return false
}
