package resolve

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Selects reports whether the operation asks, anywhere under the field
// being resolved, for the field named field of the type named typeName
// (fragments included), so that a resolver loads for a list only what
// the operation reads. Outside a gqlgen field (a unit test) it answers
// true: loading too much is safe, too little is not.
func Selects(ctx context.Context, typeName, field string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return true
	}
	return selectsIn(fc.Field.Selections, typeName, field, map[string]bool{})
}

// selectsIn walks a selection set; seen holds the fragments already
// walked, whose answer is the same wherever they are spread, so that a
// document spreading fragments many times is walked in linear time.
func selectsIn(set ast.SelectionSet, typeName, field string, seen map[string]bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == field && s.ObjectDefinition != nil && s.ObjectDefinition.Name == typeName {
				return true
			}
			if selectsIn(s.SelectionSet, typeName, field, seen) {
				return true
			}
		case *ast.InlineFragment:
			if selectsIn(s.SelectionSet, typeName, field, seen) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if selectsIn(s.Definition.SelectionSet, typeName, field, seen) {
				return true
			}
		}
	}
	return false
}
