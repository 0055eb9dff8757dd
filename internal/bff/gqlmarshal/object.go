package gqlmarshal

import (
	"bytes"
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// inlineValues is how many field values an ObjectSet holds without a
// slice of its own. Most objects of an answer select three or four fields
// (money, an item, the product or customer under it): with four, an
// ObjectSet is the 208 bytes gqlgen's three allocations were (a larger
// array made every object bigger, a sixth of all bytes allocated for a
// list of orders); larger objects get a slice of their own.
const inlineValues = 4

// Object is the marshaler of an object whose field values out holds,
// fields being the fields out was made of (graphql.NewFieldSet(fields)):
// it writes what out.MarshalGQL writes (writeObject). It is for the
// objects with fields that gqlgen resolves concurrently (a resolver), whose
// scheduling reads the field set's own list of fields; the others are an
// ObjectSet.
func Object(fields []graphql.CollectedField, out *graphql.FieldSet) graphql.Marshaler {
	return &object{fields: fields, values: out.Values}
}

type object struct {
	fields []graphql.CollectedField
	values []graphql.Marshaler
}

func (o *object) MarshalGQL(w io.Writer) { marshalObject(w, o.fields, o.values) }

// ObjectSet is an object's field set and its marshaler in one allocation,
// where gqlgen's generated code makes three per object of an answer (the
// graphql.FieldSet, its slice of values, and the marshaler writing them):
// internal/tools/gqlexec turns the marshaller of each object without
// fields resolved concurrently from out := graphql.NewFieldSet(fields)
// into out := gqlmarshal.NewObjectSet(fields), and returns out itself.
// The generated code uses it as the field set it was (Values, Invalids
// and Dispatch are the embedded graphql.FieldSet's), and it is written as
// Object writes. The embedded FieldSet's own list of fields stays empty:
// only the scheduling of concurrent fields reads it.
type ObjectSet struct {
	graphql.FieldSet
	fields []graphql.CollectedField
	inline [inlineValues]graphql.Marshaler
}

// NewObjectSet is graphql.NewFieldSet(fields) as an ObjectSet: a value for
// each field, nil until the generated code sets it.
func NewObjectSet(fields []graphql.CollectedField) *ObjectSet {
	o := &ObjectSet{fields: fields}
	if len(fields) <= inlineValues {
		o.Values = o.inline[:len(fields):len(fields)]
	} else {
		o.Values = make([]graphql.Marshaler, len(fields))
	}
	return o
}

func (o *ObjectSet) MarshalGQL(w io.Writer) { marshalObject(w, o.fields, o.Values) }

// marshalObject writes what graphql.FieldSet.MarshalGQL writes,
// {"alias":value,…} in the order of fields, the first of two fields of
// the same response name only, without that method's copy of every field
// to the heap (an iterator yields its address) and map of the names
// written, for every object of an answer.
func marshalObject(w io.Writer, fields []graphql.CollectedField, values []graphql.Marshaler) {
	b, direct := w.(*bytes.Buffer)
	if !direct {
		// Answers are written into a bytes.Buffer (the executor's, from
		// bufpool); any other writer gets the object in one write.
		b = new(bytes.Buffer)
	}
	writeObject(b, fields, values)
	if !direct {
		_, _ = w.Write(b.Bytes())
	}
}

// writeObject writes the object into b: through the buffer's own methods,
// where io.WriteString looked up the writer's WriteString for each of the
// five pieces of every field of an answer.
func writeObject(b *bytes.Buffer, fields []graphql.CollectedField, values []graphql.Marshaler) {
	b.WriteByte('{')
	first := true
	for i := range fields {
		alias := fields[i].Alias
		if written(fields[:i], alias) {
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
		values[i].MarshalGQL(b)
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
