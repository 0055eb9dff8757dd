package gqlmarshal

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// RecoverField is deferred by the fields that read their model and keep
// their field context (internal/tools/gqlexec), as graphql.ResolveField
// recovers: a panic while the field's value is read or marshalled becomes
// an error at the field's path (ctx carries its field context) and the
// field a null.
func RecoverField(ctx context.Context, oc *graphql.OperationContext, ret *graphql.Marshaler) {
	if r := recover(); r != nil {
		oc.Error(ctx, oc.Recover(ctx, r))
		*ret = graphql.Null
	}
}

// FieldError is what a field that reads its model through a method that
// can fail (internal/tools/gqlexec) answers when the method fails, as
// graphql.ResolveField does: err at the field's path (ctx carries its
// field context fc), and a null, which makes the enclosing object null
// when the field is non-null (nonNull: when it is a non-null field of a
// list or a root).
func FieldError(ctx context.Context, oc *graphql.OperationContext, fc *graphql.FieldContext, err error, nonNull bool) graphql.Marshaler {
	oc.Error(ctx, graphql.AddFieldLocationToError(ctx, err))
	if fc.NonNull && !nonNull {
		return graphql.RequiredNull
	}
	return graphql.Null
}
