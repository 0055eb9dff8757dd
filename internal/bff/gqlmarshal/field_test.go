package gqlmarshal

import (
	"context"
	"errors"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestFieldError checks that a failing method's error is recorded at the
// field's path and answered with the null graphql.ResolveField answers:
// RequiredNull for a non-null field the caller does not check itself,
// Null otherwise.
func TestFieldError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                 string
		fieldNonNull, caller bool
		want                 graphql.Marshaler
	}{
		{"nullable", false, false, graphql.Null},
		{"non-null", true, false, graphql.RequiredNull},
		{"non-null, checked by the caller", true, true, graphql.Null},
	} {
		ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, nil)
		oc := &graphql.OperationContext{}
		fc := &graphql.FieldContext{Object: "OrderItem", NonNull: tc.fieldNonNull,
			Field: graphql.CollectedField{Field: &ast.Field{Alias: "product", Name: "product"}}}
		ctx = graphql.WithFieldContext(ctx, fc)
		got := FieldError(ctx, oc, fc, errors.New("product service unavailable"), tc.caller)
		if got != tc.want {
			t.Errorf("%s: answered %v, want %v", tc.name, got, tc.want)
		}
		errs := graphql.GetErrors(ctx)
		if len(errs) != 1 || errs[0].Message != "product service unavailable" || errs[0].Path.String() != "product" {
			t.Errorf("%s: errors %v, want the error at product", tc.name, errs)
		}
	}
}
