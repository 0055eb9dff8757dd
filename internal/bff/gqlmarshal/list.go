package gqlmarshal

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// MarshalInOrder marshals length elements one after the other in the
// caller's goroutine. Its signature and its results are those of
// graphql.MarshalSliceConcurrently: each element gets a field context
// carrying its index (so an error under it has its path), and an element
// whose marshalling panics is recovered as an error at its path and
// marshals as null, unless omitPanicHandler. workerLimit has nothing to
// bound here.
func MarshalInOrder(
	ctx context.Context,
	length int,
	_ int64,
	omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	ret := make(graphql.Array, length)
	// The elements' field contexts and indices are made together, two
	// allocations for the list where gqlgen makes two per element.
	indices, contexts := make([]int, length), make([]graphql.FieldContext, length)
	for i := range length {
		indices[i] = i
		contexts[i].Index = &indices[i]
		childCtx := graphql.WithFieldContext(ctx, &contexts[i])
		if omitPanicHandler {
			ret[i] = marshalElement(childCtx, i)
			continue
		}
		ret[i] = marshalRecovered(childCtx, i, marshalElement)
	}
	return ret
}

// marshalRecovered marshals element i, turning a panic into an error at
// its path and a null, as gqlgen does.
func marshalRecovered(ctx context.Context, i int, marshalElement func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	defer func() {
		if r := recover(); r != nil {
			graphql.AddError(ctx, graphql.Recover(ctx, r))
			m = graphql.Null
		}
	}()
	return marshalElement(ctx, i)
}

// Waiting names the fields of a schema that can wait, by object and field
// name: those gqlgen resolves concurrently (a resolver, a method taking a
// context) and those whose type is an interface or a union (whose objects
// are not looked into).
type Waiting map[string]map[string]bool

// Marshal marshals a list whose elements' selection sel may reach a field
// that can wait: concurrently, as gqlgen does, when it does (so sibling
// elements' resolvers wait together, on one dataloader batch), and in
// order when it does not. @skip and @include are not evaluated: a field
// under one counts, so a selection is marshalled in order only when no
// field it could include can wait.
func Marshal(
	ctx context.Context,
	sel ast.SelectionSet,
	waiting Waiting,
	length int,
	workerLimit int64,
	omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	if length > 1 && waiting.reached(graphql.GetOperationContext(ctx).Doc, sel) {
		return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
	}
	return MarshalInOrder(ctx, length, workerLimit, omitPanicHandler, marshalElement)
}

// reached reports whether sel, with the fragments it spreads, selects a
// field that can wait, at any depth. A validated document has no cycle of
// fragments; doc may be nil when there are none to look up.
func (w Waiting) reached(doc *ast.QueryDocument, sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if s.ObjectDefinition != nil && w[s.ObjectDefinition.Name][s.Name] {
				return true
			}
			if w.reached(doc, s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if w.reached(doc, s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			def := s.Definition
			if def == nil && doc != nil {
				def = doc.Fragments.ForName(s.Name)
			}
			if def == nil || w.reached(doc, def.SelectionSet) {
				return true // a fragment that cannot be looked into may wait
			}
		}
	}
	return false
}
