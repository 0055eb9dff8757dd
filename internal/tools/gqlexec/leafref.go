package main

import (
	"go/ast"
	"go/token"
)

// selfMarshalled marks, in what marshalledByReference returns, a marshal
// function that returns its value itself: a type (an enum) whose
// MarshalGQL has a value receiver, which a pointer to it has too.
const selfMarshalled = "*"

// builtinByReference are gqlgen's marshallers of built-in scalars that
// gqlmarshal writes from a pointer to the model's field, the same bytes
// without the closure gqlgen allocates for each value: gqlgen's function
// → the Go type of its value → gqlmarshal's type.
var builtinByReference = map[string]struct{ goType, ref string }{
	"MarshalString":  {"string", "String"},
	"MarshalID":      {"string", "String"},
	"MarshalInt":     {"int", "Int"},
	"MarshalBoolean": {"bool", "Boolean"},
}

// marshalledByReference returns the executionContext's marshal functions
// (marshalX(ctx, sel, v T)) whose value can be marshalled from a pointer
// to it instead: those whose body is gqlgen's
//
//	res := graphql.MarshalString(v) // MarshalID, MarshalInt, MarshalBoolean
//
// for a v of the Go type that function takes (→ the gqlmarshal type
// writing it), and those that are return v (→ selfMarshalled).
func marshalledByReference(file *ast.File, graphqlName string) map[string]string {
	refs := map[string]string{}
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Body == nil || fn.Type.Params == nil || len(fn.Type.Params.List) != 3 {
			continue
		}
		param := fn.Type.Params.List[2]
		if len(param.Names) != 1 || param.Names[0].Name != "v" {
			continue
		}
		if ret, ok := onlyReturn(fn.Body); ok && len(ret.Results) == 1 {
			if id, ok := ret.Results[0].(*ast.Ident); ok && id.Name == "v" {
				refs[fn.Name.Name] = selfMarshalled
			}
			continue
		}
		goType, ok := param.Type.(*ast.Ident)
		if !ok {
			continue
		}
		for _, st := range fn.Body.List {
			as, ok := st.(*ast.AssignStmt)
			if !ok || as.Tok != token.DEFINE || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
				continue
			}
			res, ok := as.Lhs[0].(*ast.Ident)
			call, isCall := as.Rhs[0].(*ast.CallExpr)
			if !ok || res.Name != "res" || !isCall || len(call.Args) != 1 {
				continue
			}
			arg, ok := call.Args[0].(*ast.Ident)
			if !ok || arg.Name != "v" {
				continue
			}
			for name, b := range builtinByReference {
				if isSelector(call.Fun, graphqlName, name) && goType.Name == b.goType {
					refs[fn.Name.Name] = b.ref
				}
			}
		}
	}
	return refs
}

// byReference returns the leaf value marshalled from a pointer to the
// model's field, when the leaf's marshal function (fun, ec.marshalX) is
// one of refs and its value is a field of the model (obj.F, not a
// method's result): (*gqlmarshal.T)(&obj.F), or &obj.F for a type that
// marshals itself. Nil otherwise. The model is not changed while its
// answer is written (the models are built from the services' answers and
// only read), so what the pointer reads then is what gqlgen's copy held.
func byReference(fun, value ast.Expr, refs map[string]string) ast.Expr {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	ref, ok := refs[sel.Sel.Name]
	if !ok {
		return nil
	}
	field, ok := value.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	if obj, ok := field.X.(*ast.Ident); !ok || obj.Name != "obj" {
		return nil
	}
	addr := &ast.UnaryExpr{Op: token.AND, X: field}
	if ref == selfMarshalled {
		return addr
	}
	return &ast.CallExpr{
		Fun:  &ast.ParenExpr{X: &ast.StarExpr{X: &ast.SelectorExpr{X: ast.NewIdent("gqlmarshal"), Sel: ast.NewIdent(ref)}}},
		Args: []ast.Expr{addr},
	}
}
