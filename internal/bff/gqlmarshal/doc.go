// Package gqlmarshal is how the BFFs' generated executable schemas
// marshal an answer where gqlgen's own runtime spends more than the
// answer needs. internal/tools/gqlexec, which make generate runs for each
// BFF, has gqlgen generate the executable schema, then points the
// generated code here:
//
//   - lists whose elements cannot wait on anything are marshalled in one
//     goroutine, in order (MarshalInOrder, Marshal). gqlgen marshals every
//     list of objects with a goroutine per element
//     (graphql.MarshalSliceConcurrently) so that resolvers of sibling
//     elements can wait together, on a dataloader batch for instance; for
//     elements that never wait, those goroutines only cost (their start,
//     their stacks growing and copied, the scheduler): a list of 100
//     orders of three items each starts 400 of them. Elements never wait
//     when their type is plain (every field, and every field of the
//     objects under it, is a plain field or a context-free method of the
//     model: MarshalInOrder), or when the operation selects no field of
//     theirs that can wait (Marshal decides from the selection, with the
//     schema's Waiting that gqlexec writes);
//   - an object's fields are written without copying each field and
//     building a map of the names written, and an object without fields
//     resolved concurrently is its field set, values and marshaler in one
//     allocation (ObjectSet; Object for the others);
//   - the leaves of built-in scalars and enums bound to a field of the
//     model are marshalled from a pointer to it (String, Int, Boolean, or
//     the enum itself), without a closure per value;
//   - the field contexts of a list's elements are made together
//     (MarshalInOrder);
//   - an operation collects the fields of each selection set and object
//     type once, keyed by their addresses (Collected; gqlgen's own cache
//     allocates a hashed key for every object);
//   - the fields that read their model but keep their field context
//     recover a panic (RecoverField) and answer a failing method's error
//     (FieldError) as graphql.ResolveField does;
//   - the answer is written into a buffer reused from one operation to
//     the next (internal/bufpool; edge.POST gives it back once written).
package gqlmarshal
