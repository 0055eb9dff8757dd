package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// generated is the shape of gqlgen's list marshalling (v0.17.98).
var generated = `package generated

import (
	"bytes"
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

type executionContext struct{}

func (ec *executionContext) marshalItems(ctx context.Context, sel ast.SelectionSet, v []int) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return graphql.MarshalInt(v[i])
	})
	return ret
}

func (ec *executionContext) marshalOrders(ctx context.Context, sel ast.SelectionSet, v []int) graphql.Marshaler {
	return graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return graphql.MarshalInt(v[i])
	})
}

type Money struct{ Cents int }

func (ec *executionContext) fieldContext_Money_cents(_ context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
	return graphql.NewScalarFieldContext("Money", field, false, false, "Int")
}

func (ec *executionContext) marshalNInt2int(ctx context.Context, sel ast.SelectionSet, v int) graphql.Marshaler {
	return graphql.MarshalInt(v)
}

` + leafFunc("_Money_cents", "obj.Cents", "int", "marshalNInt2int") + `
func (ec *executionContext) _Item_price(ctx context.Context, field graphql.CollectedField, obj *Item) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Item_price(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return obj.Price, nil
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v Money) graphql.Marshaler {
			return ec.marshalNMoney(ctx, selections, v)
		},
		true,
		true,
	)
}

func (ec *executionContext) _Item_product(ctx context.Context, field graphql.CollectedField, obj *Item) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Item_product(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return obj.Product()
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v *Product) graphql.Marshaler {
			return ec.marshalOProduct(ctx, selections, v)
		},
		true,
		false,
	)
}

func (ec *executionContext) marshalNString2string(ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalString(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "String!")
	}
	return res
}

func (ec *executionContext) marshalNStatus2Status(ctx context.Context, sel ast.SelectionSet, v Status) graphql.Marshaler {
	return v
}

func (ec *executionContext) marshalNDateTime2time(ctx context.Context, sel ast.SelectionSet, v time.Time) graphql.Marshaler {
	_ = sel
	res := MarshalDateTime(v)
	return res
}

` + leafFields + `
` + guardedLeaf + `
func (ec *executionContext) _Money(ctx context.Context, sel ast.SelectionSet, obj *Money) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, nil)
	out := graphql.NewFieldSet(fields)
	deferred := graphql.NewDeferredGroup(ctx)
	if n := len(deferred.Defers); n > 0 {
		ec.ProcessDeferredGroup(deferred)
	}
	return out
}

func (ec *executionContext) _User(ctx context.Context, sel ast.SelectionSet, obj *User) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, nil)
	out := graphql.NewFieldSet(fields)
	deferred := graphql.NewDeferredGroup(ctx)
	out.ResolveConcurrently(ec.OperationContext, &deferred, 0, true, false, func(ctx context.Context) graphql.Marshaler {
		return graphql.Null
	})
	out.Dispatch(ctx)
	return out
}

type executableSchema struct{}

func (e *executableSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	return func(ctx context.Context) *graphql.Response {
		var response graphql.Response
		var data graphql.Marshaler
		var buf bytes.Buffer
		data.MarshalGQL(&buf)
		response.Data = buf.Bytes()
		return &response
	}
}

func (ec *executionContext) marshalNodes(ctx context.Context, sel ast.SelectionSet, v []int) graphql.Marshaler {
	return graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return graphql.MarshalInt(v[i])
	})
}
`

// leafFields are more fields that read their model, in gqlgen's shape: a
// built-in scalar, an enum, a method's value and a custom scalar.
var leafFields = leafFunc("_Money_currency", "obj.Currency", "string", "marshalNString2string") +
	leafFunc("_Money_status", "obj.Status", "Status", "marshalNStatus2Status") +
	leafFunc("_Money_formatted", "obj.Formatted()", "string", "marshalNString2string") +
	leafFunc("_Money_at", "obj.At", "time.Time", "marshalNDateTime2time")

// guardedLeaf is a leaf with a middleware chain (a field interceptor).
var guardedLeaf = strings.Replace(leafFunc("_Money_guarded", "obj.Cents", "int", "marshalNInt2int"),
	"\t\tnil,\n", "\t\tfunc(ctx context.Context, next graphql.Resolver) graphql.Resolver { return next },\n", 1)

// leafFunc is gqlgen's function of the field name whose resolver returns
// value, of Go type typ, marshalled by the method marshal.
func leafFunc(name, value, typ, marshal string) string {
	return fmt.Sprintf(`
func (ec *executionContext) %s(ctx context.Context, field graphql.CollectedField, obj *Money) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Money_cents(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return %s, nil
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v %s) graphql.Marshaler {
			return ec.%s(ctx, selections, v)
		},
		true,
		true,
	)
}
`, name, value, typ, marshal)
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "generated.go")
	if err := os.WriteFile(path, []byte(generated), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plan{
		inOrder: map[string]bool{"marshalItems": true},
		bySel:   map[string]bool{"marshalOrders": true},
		leaves: map[string]bool{"_Money_cents": true, "_Money_currency": true, "_Money_status": true,
			"_Money_formatted": true, "_Money_at": true},
		objects: map[string]bool{"_Item_price": true},
		failing: map[string]bool{"_Item_product": true},
		waiting: map[string][]string{"User": {"orders"}},
	}
	if err := rewrite(path, p); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(out)
	for _, want := range []string{
		`"github.com/acme/bff-gateway/internal/bff/gqlmarshal"`,
		"ret := gqlmarshal.MarshalInOrder(ctx, len(v), 0, false, func",
		"return gqlmarshal.Marshal(ctx, sel, fieldsThatWait, len(v), 0, false, func",
		"(ret graphql.Marshaler) {\n\treturn ec.marshalNInt2int(ctx, field.Selections, obj.Cents)\n}",
		// Built-in scalars and enums from a pointer to the model's field;
		// a method's value and other scalars through their marshal function.
		"(ret graphql.Marshaler) {\n\treturn (*gqlmarshal.String)(&obj.Currency)\n}",
		"(ret graphql.Marshaler) {\n\treturn &obj.Status\n}",
		"(ret graphql.Marshaler) {\n\treturn ec.marshalNString2string(ctx, field.Selections, obj.Formatted())\n}",
		"(ret graphql.Marshaler) {\n\treturn ec.marshalNDateTime2time(ctx, field.Selections, obj.At)\n}",
		"(ret graphql.Marshaler) {\n\tfc, err := ec.fieldContext_Item_price(ctx, field)\n\tif err != nil {\n\t\treturn graphql.Null\n\t}\n" +
			"\tctx = graphql.WithFieldContext(ctx, fc)\n\tdefer gqlmarshal.RecoverField(ctx, ec.OperationContext, &ret)\n" +
			"\treturn ec.marshalNMoney(ctx, field.Selections, obj.Price)\n}",
		"(ret graphql.Marshaler) {\n\tfc, err := ec.fieldContext_Item_product(ctx, field)\n\tif err != nil {\n\t\treturn graphql.Null\n\t}\n" +
			"\tctx = graphql.WithFieldContext(ctx, fc)\n\tdefer gqlmarshal.RecoverField(ctx, ec.OperationContext, &ret)\n" +
			"\tv, err := obj.Product()\n\tif err != nil {\n\t\treturn gqlmarshal.FieldError(ctx, ec.OperationContext, fc, err, false)\n\t}\n" +
			"\treturn ec.marshalOProduct(ctx, field.Selections, v)\n}",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("rewritten file lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "NewDeferredGroup") || !strings.Contains(src, "\tvar deferred graphql.DeferredGroup\n\tif n := len(deferred.Defers)") {
		t.Errorf("the object's deferred group is still built:\n%s", src)
	}
	for _, want := range []string{
		// An object without concurrent fields is one allocation; one with
		// them keeps gqlgen's field set (its scheduling reads the fields).
		"\tout := gqlmarshal.NewObjectSet(fields)\n\tvar deferred graphql.DeferredGroup\n\tif n := len(deferred.Defers); n > 0 {\n\t\tec.ProcessDeferredGroup(deferred)\n\t}\n\treturn out\n}",
		"\tout := graphql.NewFieldSet(fields)\n\tvar deferred graphql.DeferredGroup\n\tout.ResolveConcurrently(",
		"\tout.Dispatch(ctx)\n\treturn gqlmarshal.Object(fields, out)\n}",
		// Each operation collects the fields of a selection set once.
		"type executionContext struct{ collected gqlmarshal.Collected }",
		"\tfields := ec.collected.Fields(ec.OperationContext, sel, nil)\n\tout := gqlmarshal.NewObjectSet(fields)",
		`"github.com/acme/bff-gateway/internal/bufpool"`,
		"\t\tbuf := bufpool.Get()\n\t\tdata.MarshalGQL(buf)\n\t\tresponse.Data = buf.Bytes()\n",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("rewritten file lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, `"bytes"`) {
		t.Errorf("the bytes import is left although nothing uses it:\n%s", src)
	}
	if n := strings.Count(src, "graphql.MarshalSliceConcurrently"); n != 1 {
		t.Errorf("%d calls of MarshalSliceConcurrently left, want 1 (marshalNodes)", n)
	}
	waiting, err := os.ReadFile(filepath.Join(dir, waitingFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(waiting), `"User": {"orders": true},`) || !strings.HasPrefix(string(waiting), "// Code generated") {
		t.Errorf("%s:\n%s", waitingFile, waiting)
	}
}

func TestRewriteRefusesWhenGqlgensCodeChanged(t *testing.T) {
	for name, tc := range map[string]struct {
		p    plan
		want string
	}{
		"a list function without the call": {plan{inOrder: map[string]bool{"marshalMissing": true}}, "marshalMissing (0 calls)"},
		"a leaf with a middleware chain":   {plan{leaves: map[string]bool{"_Money_guarded": true}}, "a middleware chain"},
		"a leaf that is not ResolveField":  {plan{leaves: map[string]bool{"marshalNInt2int": true}}, "not a call of graphql.ResolveField"},
		"a failing field without recovery": {plan{failing: map[string]bool{"_Item_product": true}}, "no panic recovery"},
		"a failing field that cannot fail": {plan{failing: map[string]bool{"_Money_cents": true}}, "does not return one call's value and error"},
		"a deferred group used otherwise":  {plan{}, "1 uses of graphql.NewDeferredGroup other than"},
		"an object ending otherwise":       {plan{}, "_Other: does not end with return out"},
		"an answer written otherwise":      {plan{}, "the Exec method declares 1 answer buffers (var buf bytes.Buffer) and marshals into 0"},
		"no execution context struct":      {plan{}, "no executionContext struct"},
		"fields collected otherwise":       {plan{}, "no object marshaller collects its fields"},
	} {
		path := filepath.Join(t.TempDir(), "generated.go")
		src := generated
		switch name {
		case "a deferred group used otherwise":
			src += "\nfunc (ec *executionContext) other(ctx context.Context) any { return graphql.NewDeferredGroup(ctx).Path }\n"
		case "a failing field without recovery": // _Item_product's recoverFromPanic
			src = strings.Replace(src, "\t\ttrue,\n\t\tfalse,\n\t)", "\t\tfalse,\n\t\tfalse,\n\t)", 1)
		case "an object ending otherwise":
			src += "\nfunc (ec *executionContext) _Other(fields []graphql.CollectedField) graphql.Marshaler {\n\tout := graphql.NewFieldSet(fields)\n\t_ = out\n\treturn graphql.Null\n}\n"
		case "an answer written otherwise":
			src = strings.Replace(src, "data.MarshalGQL(&buf)", "data.MarshalGQL(nil)", 1)
		case "no execution context struct":
			src = strings.Replace(src, "type executionContext struct{}", "type executionContext int", 1)
		case "fields collected otherwise":
			src = strings.ReplaceAll(src, "graphql.CollectFields(ec.OperationContext, sel, nil)", "graphql.CollectFields(nil, sel, nil)")
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		err := rewrite(path, tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
		if out, _ := os.ReadFile(path); string(out) != src {
			t.Errorf("%s: the file was changed although the rewrite was refused", name)
		}
	}
}
