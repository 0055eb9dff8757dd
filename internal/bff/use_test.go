package bff

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
)

// fieldTracer is an extension that intercepts every field.
type fieldTracer struct{}

func (fieldTracer) ExtensionName() string                   { return "FieldTracer" }
func (fieldTracer) Validate(graphql.ExecutableSchema) error { return nil }
func (fieldTracer) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	return next(ctx)
}

// TestUseRefusesFieldInterceptors: the leaf fields of the models bypass
// gqlgen's per-field middleware, so an extension that would expect to see
// them is refused at start rather than silently missing them.
func TestUseRefusesFieldInterceptors(t *testing.T) {
	srv := handler.New(nil)
	use(srv, extension.Introspection{}) // not a field interceptor
	defer func() {
		r := recover()
		if msg, _ := r.(string); !strings.Contains(msg, "FieldTracer intercepts fields") {
			t.Fatalf("recovered %v, want a refusal of FieldTracer", r)
		}
	}()
	use(srv, fieldTracer{})
}
