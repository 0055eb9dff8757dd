package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

const (
	gqlmarshalPath = "github.com/acme/bff-gateway/internal/bff/gqlmarshal"
	bufpoolPath    = "github.com/acme/bff-gateway/internal/bufpool"
	gqlgenFunc     = "MarshalSliceConcurrently"
	// waitingVar is the schema's gqlmarshal.Waiting, written beside the
	// executable schema in waitingFile.
	waitingVar  = "fieldsThatWait"
	waitingFile = "lists_gen.go"
)

// rewrite changes, in the Go file at path, the call of
// graphql.MarshalSliceConcurrently of each list function the plan names:
// to gqlmarshal.MarshalInOrder (same arguments) or to gqlmarshal.Marshal (the
// selection and the schema's fields that can wait first). Each function
// named must hold exactly one such call: anything else means gqlgen's
// templates changed, and the file is left as gqlgen wrote it.
func rewrite(path string, p plan) error {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	graphqlName, ok := importName(file, "github.com/99designs/gqlgen/graphql")
	if !ok {
		return fmt.Errorf("%s does not import gqlgen's graphql package", path)
	}
	seen, refs := map[string]int{}, marshalledByReference(file, graphqlName)
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if ok && fn.Body != nil && (p.leaves[fn.Name.Name] || p.objects[fn.Name.Name] || p.failing[fn.Name.Name]) {
			kind := leafField
			switch {
			case p.objects[fn.Name.Name]:
				kind = objectField
			case p.failing[fn.Name.Name]:
				kind = failingField
			}
			if err := readModel(fn, graphqlName, kind, refs); err != nil {
				return fmt.Errorf("%s: %s: %w: gqlgen's field code changed", path, fn.Name.Name, err)
			}
			seen[fn.Name.Name]++
			continue
		}
		if !ok || fn.Body == nil || (!p.inOrder[fn.Name.Name] && !p.bySel[fn.Name.Name]) {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != gqlgenFunc {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != graphqlName {
				return true
			}
			sel.X = ast.NewIdent("gqlmarshal")
			if p.inOrder[fn.Name.Name] {
				sel.Sel = ast.NewIdent("MarshalInOrder")
			} else {
				sel.Sel = ast.NewIdent("Marshal")
				call.Args = append([]ast.Expr{call.Args[0], ast.NewIdent("sel"), ast.NewIdent(waitingVar)}, call.Args[1:]...)
			}
			seen[fn.Name.Name]++
			return true
		})
	}
	if err := dropDeferredGroups(file, graphqlName); err != nil {
		return fmt.Errorf("%s: %w: gqlgen's object code changed", path, err)
	}
	if err := writeObjects(file, graphqlName); err != nil {
		return fmt.Errorf("%s: %w: gqlgen's object code changed", path, err)
	}
	if err := collectOnce(file, graphqlName); err != nil {
		return fmt.Errorf("%s: %w: gqlgen's object code changed", path, err)
	}
	if err := pooledAnswers(fset, file); err != nil {
		return fmt.Errorf("%s: %w: gqlgen's Exec changed", path, err)
	}
	var wrong []string
	for _, set := range []map[string]bool{p.inOrder, p.bySel, p.leaves, p.objects, p.failing} {
		for name := range set {
			if seen[name] != 1 {
				wrong = append(wrong, fmt.Sprintf("%s (%d calls)", name, seen[name]))
			}
		}
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		return fmt.Errorf("%s: want one graphql.%s call in each of %v: gqlgen's list marshalling changed", path, gqlgenFunc, wrong)
	}
	astutil.AddImport(fset, file, gqlmarshalPath)
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, file); err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return writeWaiting(filepath.Join(filepath.Dir(path), waitingFile), file.Name.Name, p.waiting)
}

// dropDeferredGroups turns each
//
//	deferred := graphql.NewDeferredGroup(ctx)
//
// of an object's marshaller into
//
//	var deferred graphql.DeferredGroup
//
// The group holds what @defer puts off, and the BFFs refuse @defer
// (guard.CodeDeferNotSupported: they answer in one response); building it
// computed the object's path (a slice and a boxed element per level), a
// field set and a map for every object of an answer, a fifth of a long
// list's allocations. The zero group is what the generated code reads
// when nothing is deferred: no deferred fields. Any other use of
// NewDeferredGroup is refused.
func dropDeferredGroups(file *ast.File, graphqlName string) error {
	dropped := 0
	astutil.Apply(file, func(c *astutil.Cursor) bool {
		as, ok := c.Node().(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		call, ok := as.Rhs[0].(*ast.CallExpr)
		name, isIdent := as.Lhs[0].(*ast.Ident)
		if !ok || !isIdent || len(call.Args) != 1 || !isSelector(call.Fun, graphqlName, "NewDeferredGroup") {
			return true
		}
		// On the line of the statement it replaces: no blank line around it.
		at := as.Pos()
		c.Replace(&ast.DeclStmt{Decl: &ast.GenDecl{TokPos: at, Tok: token.VAR, Specs: []ast.Spec{&ast.ValueSpec{
			Names: []*ast.Ident{{NamePos: at, Name: name.Name}},
			Type:  &ast.SelectorExpr{X: &ast.Ident{NamePos: at, Name: graphqlName}, Sel: &ast.Ident{NamePos: at, Name: "DeferredGroup"}},
		}}}})
		dropped++
		return false
	}, nil)
	left := 0
	ast.Inspect(file, func(n ast.Node) bool {
		if e, ok := n.(ast.Expr); ok && isSelector(e, graphqlName, "NewDeferredGroup") {
			left++
		}
		return true
	})
	if left > 0 {
		return fmt.Errorf("%d uses of graphql.NewDeferredGroup other than `deferred := graphql.NewDeferredGroup(ctx)` (%d of those)", left, dropped)
	}
	return nil
}

// writeObjects changes each object's marshaller,
//
//	out := graphql.NewFieldSet(fields)
//	…
//	return out
//
// When no field of the object is resolved concurrently (out is not
// scheduled on), into out := gqlmarshal.NewObjectSet(fields) … return out:
// the field set, its values and its marshaler in one allocation (gqlgen's
// three). Otherwise (the scheduling reads the field set's own fields),
// its return into return gqlmarshal.Object(fields, out). Both write the
// object without gqlgen's allocations per field. It fails when a function
// making a field set of its fields does not end so, or when there is none.
func writeObjects(file *ast.File, graphqlName string) error {
	changed := 0
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		made := fieldSetMade(fn.Body, graphqlName)
		if made == nil {
			continue
		}
		last, ok := fn.Body.List[len(fn.Body.List)-1].(*ast.ReturnStmt)
		if !ok || len(last.Results) != 1 {
			return fmt.Errorf("%s: does not end with a return of its field set", fn.Name.Name)
		}
		if id, ok := last.Results[0].(*ast.Ident); !ok || id.Name != "out" {
			return fmt.Errorf("%s: does not end with return out", fn.Name.Name)
		}
		if schedulesOn(fn.Body, "out") {
			last.Results[0] = &ast.CallExpr{
				Fun:  &ast.SelectorExpr{X: &ast.Ident{NamePos: last.Return, Name: "gqlmarshal"}, Sel: ast.NewIdent("Object")},
				Args: []ast.Expr{ast.NewIdent("fields"), ast.NewIdent("out")},
			}
		} else {
			made.Fun = &ast.SelectorExpr{X: ast.NewIdent("gqlmarshal"), Sel: ast.NewIdent("NewObjectSet")}
		}
		changed++
	}
	if changed == 0 {
		return errors.New("no object marshaller (out := graphql.NewFieldSet(fields))")
	}
	return nil
}

// schedulesOn reports whether body calls a method of the field set named
// set whose name holds Concurrently (ResolveConcurrently, Concurrently,
// ResolveRootConcurrently): it schedules a field on it.
func schedulesOn(body *ast.BlockStmt, set string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && strings.Contains(sel.Sel.Name, "Concurrently") {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == set {
				found = true
			}
		}
		return !found
	})
	return found
}

// fieldSetMade returns the call graphql.NewFieldSet(fields) of the
// statement out := graphql.NewFieldSet(fields) at body's top level, nil
// when it has none.
func fieldSetMade(body *ast.BlockStmt, graphqlName string) *ast.CallExpr {
	for _, st := range body.List {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			continue
		}
		call, ok := as.Rhs[0].(*ast.CallExpr)
		if id, isIdent := as.Lhs[0].(*ast.Ident); !ok || !isIdent || id.Name != "out" || len(call.Args) != 1 ||
			!isSelector(call.Fun, graphqlName, "NewFieldSet") {
			continue
		}
		if arg, ok := call.Args[0].(*ast.Ident); ok && arg.Name == "fields" {
			return call
		}
	}
	return nil
}

// pooledAnswers turns, in Exec, each
//
//	var buf bytes.Buffer
//	data.MarshalGQL(&buf)
//
// into
//
//	buf := bufpool.Get()
//	data.MarshalGQL(buf)
//
// so that an answer is written into a reused buffer (the transport,
// edge.POST, gives it back once written), and drops the bytes import when
// nothing else uses it. It fails unless Exec writes its answers so.
func pooledAnswers(fset *token.FileSet, file *ast.File) error {
	var exec *ast.FuncDecl
	for _, decl := range file.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Name.Name == "Exec" && fn.Recv != nil && fn.Body != nil {
			exec = fn
		}
	}
	if exec == nil {
		return errors.New("no Exec method")
	}
	declared, passed := 0, 0
	astutil.Apply(exec.Body, func(c *astutil.Cursor) bool {
		switch n := c.Node().(type) {
		case *ast.DeclStmt:
			if isAnswerBuffer(n) {
				at := n.Pos()
				c.Replace(&ast.AssignStmt{
					Lhs:    []ast.Expr{&ast.Ident{NamePos: at, Name: "buf"}},
					TokPos: at, Tok: token.DEFINE,
					Rhs: []ast.Expr{&ast.CallExpr{Fun: &ast.SelectorExpr{
						X: &ast.Ident{NamePos: at, Name: "bufpool"}, Sel: ast.NewIdent("Get")}}},
				})
				declared++
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "MarshalGQL" || len(n.Args) != 1 {
				return true
			}
			if u, ok := n.Args[0].(*ast.UnaryExpr); ok && u.Op == token.AND {
				if id, ok := u.X.(*ast.Ident); ok && id.Name == "buf" {
					n.Args[0] = id
					passed++
				}
			}
		}
		return true
	}, nil)
	if declared == 0 || declared != passed {
		return fmt.Errorf("the Exec method declares %d answer buffers (var buf bytes.Buffer) and marshals into %d (X.MarshalGQL(&buf))", declared, passed)
	}
	astutil.AddImport(fset, file, bufpoolPath)
	if !usesPackage(file, "bytes") {
		astutil.DeleteImport(fset, file, "bytes")
	}
	return nil
}

// isAnswerBuffer reports whether st is var buf bytes.Buffer.
func isAnswerBuffer(st *ast.DeclStmt) bool {
	gd, ok := st.Decl.(*ast.GenDecl)
	if !ok || gd.Tok != token.VAR || len(gd.Specs) != 1 {
		return false
	}
	vs, ok := gd.Specs[0].(*ast.ValueSpec)
	return ok && len(vs.Names) == 1 && vs.Names[0].Name == "buf" && len(vs.Values) == 0 && isSelector(vs.Type, "bytes", "Buffer")
}

// usesPackage reports whether file refers to the package it imports as name.
func usesPackage(file *ast.File, name string) bool {
	used := false
	ast.Inspect(file, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == name {
				used = true
			}
		}
		return !used
	})
	return used
}

// The kinds of fields that read their model.
type fieldKind int

const (
	leafField    fieldKind = iota // a scalar or enum that cannot fail
	objectField                   // an object or a list of objects that cannot fail
	failingField                  // anything read through a method that can fail
)

// readModel turns the function of a leaf field that reads its model,
//
//	return graphql.ResolveField(ctx, ec.OperationContext, field,
//		func(ctx, field) { return ec.fieldContext_O_f(ctx, field) },
//		func(ctx) (any, error) { return obj.F, nil },
//		nil,
//		func(ctx, selections, v T) graphql.Marshaler { return ec.marshalX(ctx, selections, v) },
//		true, true)
//
// into
//
//	return ec.marshalX(ctx, field.Selections, obj.F)
//
// or, where marshalX is a built-in scalar's or returns an enum itself
// (refs, marshalledByReference) and F a field of the model, into
// return (*gqlmarshal.String)(&obj.F) or return &obj.F (byReference);
//
// for an object (which keeps its field context, the path of what fails
// under it, and the recovery of a panic) into
//
//	fc, err := ec.fieldContext_O_f(ctx, field)
//	if err != nil {
//		return graphql.Null
//	}
//	ctx = graphql.WithFieldContext(ctx, fc)
//	defer gqlmarshal.RecoverField(ctx, ec.OperationContext, &ret)
//	return ec.marshalX(ctx, field.Selections, obj.F)
//
// and, for a field read by a method that can fail (whose resolver is
// return obj.F()), into the same with
//
//	v, err := obj.F()
//	if err != nil {
//		return gqlmarshal.FieldError(ctx, ec.OperationContext, fc, err, NONNULL)
//	}
//	return ec.marshalX(ctx, field.Selections, v)
//
// at the end. It fails on any other shape (a middleware chain, a resolver
// that uses its context, no panic recovery where the field keeps it).
func readModel(fn *ast.FuncDecl, graphqlName string, kind fieldKind, refs map[string]string) error {
	ret, ok := onlyReturn(fn.Body)
	if !ok || len(ret.Results) != 1 {
		return errors.New("not a single return")
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok || len(call.Args) != 9 || !isSelector(call.Fun, graphqlName, "ResolveField") {
		return errors.New("not a call of graphql.ResolveField with 9 arguments")
	}
	if id, ok := call.Args[5].(*ast.Ident); !ok || id.Name != "nil" {
		return errors.New("a middleware chain")
	}
	if id, ok := call.Args[7].(*ast.Ident); kind != leafField && (!ok || id.Name != "true") {
		return errors.New("no panic recovery")
	}
	resolver, ok := call.Args[4].(*ast.FuncLit)
	if !ok {
		return errors.New("no resolver function")
	}
	value, ok := onlyReturn(resolver.Body)
	if !ok {
		return errors.New("the resolver is not a single return")
	}
	if kind == failingField {
		if len(value.Results) != 1 {
			return errors.New("the resolver does not return one call's value and error")
		}
		if _, ok := value.Results[0].(*ast.CallExpr); !ok {
			return errors.New("the resolver does not return one call's value and error")
		}
	} else {
		if len(value.Results) != 2 {
			return errors.New("the resolver is not a single return of a value and an error")
		}
		if id, ok := value.Results[1].(*ast.Ident); !ok || id.Name != "nil" {
			return errors.New("the resolver can fail")
		}
	}
	if uses(value.Results[0], "ctx") {
		return errors.New("the resolver uses its context")
	}
	mcall, err := returnedCall(call.Args[6], "marshal", 3)
	if err != nil {
		return err
	}
	marshalOf := func(v ast.Expr) ast.Expr {
		return &ast.CallExpr{Fun: mcall.Fun, Args: []ast.Expr{
			ast.NewIdent("ctx"),
			&ast.SelectorExpr{X: ast.NewIdent("field"), Sel: ast.NewIdent("Selections")},
			v,
		}}
	}
	if kind == leafField {
		result := byReference(mcall.Fun, value.Results[0], refs)
		if result == nil {
			result = marshalOf(value.Results[0])
		}
		fn.Body.List = []ast.Stmt{&ast.ReturnStmt{Return: ret.Return, Results: []ast.Expr{result}}}
		fn.Body.Rbrace = ret.Return + 1 // no blank line where the call was
		return nil
	}
	fcCall, err := returnedCall(call.Args[3], "field context", 2)
	if err != nil {
		return err
	}
	template, exprs := objectTemplate, map[string]ast.Expr{"FIELDCONTEXT": fcCall.Fun, "MARSHAL": marshalOf(value.Results[0])}
	if kind == failingField {
		template, exprs = failingTemplate, map[string]ast.Expr{
			"FIELDCONTEXT": fcCall.Fun, "VALUE": value.Results[0], "NONNULL": call.Args[8], "MARSHAL": marshalOf(ast.NewIdent("v")),
		}
	}
	stmts, err := fieldBody(graphqlName, template, exprs)
	if err != nil {
		return err
	}
	fn.Body.List = stmts
	fn.Body.Rbrace = token.NoPos
	return nil
}

// returnedCall returns the call of n arguments that e, graphql.ResolveField's
// function named what, is a single return of; an error naming what for any
// other shape.
func returnedCall(e ast.Expr, what string, n int) (*ast.CallExpr, error) {
	lit, ok := e.(*ast.FuncLit)
	if !ok {
		return nil, fmt.Errorf("no %s function", what)
	}
	ret, ok := onlyReturn(lit.Body)
	if !ok || len(ret.Results) != 1 {
		return nil, fmt.Errorf("the %s function is not a single return", what)
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok || len(call.Args) != n {
		return nil, fmt.Errorf("the %s function does not return a call of %d arguments", what, n)
	}
	return call, nil
}

// fieldPrelude begins the body of a field that reads its model and keeps
// its field context and panic recovery; FIELDCONTEXT stands for the
// generated code's function making it.
const fieldPrelude = `package p

func _() {
	fc, err := FIELDCONTEXT(ctx, field)
	if err != nil {
		return GRAPHQL.Null
	}
	ctx = GRAPHQL.WithFieldContext(ctx, fc)
	defer gqlmarshal.RecoverField(ctx, ec.OperationContext, &ret)
`

// objectTemplate is the body of an object field that reads its model;
// MARSHAL stands for the marshalling of its value.
const objectTemplate = fieldPrelude + `	return MARSHAL
}
`

// failingTemplate is the body of a field that reads its model through a
// method that can fail: VALUE is the method's call, NONNULL
// graphql.ResolveField's nonNull argument.
const failingTemplate = fieldPrelude + `	v, err := VALUE
	if err != nil {
		return gqlmarshal.FieldError(ctx, ec.OperationContext, fc, err, NONNULL)
	}
	return MARSHAL
}
`

// fieldBody returns template's statements with the expressions of exprs
// in place of their names, graphqlName for GRAPHQL, without positions (so
// the printer lays them out afresh).
func fieldBody(graphqlName, template string, exprs map[string]ast.Expr) ([]ast.Stmt, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", template, 0)
	if err != nil {
		return nil, err
	}
	body := f.Decls[0].(*ast.FuncDecl).Body
	astutil.Apply(body, func(c *astutil.Cursor) bool {
		id, ok := c.Node().(*ast.Ident)
		if !ok {
			return true
		}
		if e, ok := exprs[id.Name]; ok {
			c.Replace(e)
		} else if id.Name == "GRAPHQL" {
			c.Replace(ast.NewIdent(graphqlName))
		}
		return true
	}, nil)
	clearPositions(body)
	return body.List, nil
}

// clearPositions sets every position in n to none.
func clearPositions(n ast.Node) {
	ast.Inspect(n, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		v := reflect.ValueOf(n)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			return true
		}
		v = v.Elem()
		for i := range v.NumField() {
			if f := v.Field(i); f.Type() == reflect.TypeFor[token.Pos]() && f.CanSet() {
				f.SetInt(int64(token.NoPos))
			}
		}
		return true
	})
}

// onlyReturn returns the return statement that is the whole of body.
func onlyReturn(body *ast.BlockStmt) (*ast.ReturnStmt, bool) {
	if body == nil || len(body.List) != 1 {
		return nil, false
	}
	r, ok := body.List[0].(*ast.ReturnStmt)
	return r, ok
}

// isSelector reports whether e is pkg.name.
func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg
}

// uses reports whether the identifier name occurs in e.
func uses(e ast.Expr, name string) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// writeWaiting writes the schema's fields that can wait as a
// gqlmarshal.Waiting named waitingVar in package pkg.
func writeWaiting(path, pkg string, waiting map[string][]string) error {
	objects := make([]string, 0, len(waiting))
	for o := range waiting {
		objects = append(objects, o)
	}
	sort.Strings(objects)
	var b strings.Builder
	b.WriteString("// Code generated by internal/tools/gqlexec. DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package %s\n\nimport %q\n\n", pkg, gqlmarshalPath)
	fmt.Fprintf(&b, "// %s are the fields of this schema that can wait (resolvers, methods\n", waitingVar)
	b.WriteString("// taking a context, interfaces and unions): a list whose selection\n")
	b.WriteString("// reaches none of them is marshalled in order (gqlmarshal.Marshal).\n")
	fmt.Fprintf(&b, "var %s = gqlmarshal.Waiting{\n", waitingVar)
	for _, o := range objects {
		fmt.Fprintf(&b, "\t%q: {", o)
		for i, f := range waiting[o] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q: true", f)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	return os.WriteFile(path, src, 0o644)
}

// importName is the name file refers to the package at path by.
func importName(file *ast.File, path string) (string, bool) {
	for _, imp := range file.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || p != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name, true
		}
		return "graphql", true
	}
	return "", false
}

// collectOnce gives the executionContext (one per operation) a
// gqlmarshal.Collected named collected, and turns each object
// marshaller's
//
//	fields := graphql.CollectFields(ec.OperationContext, sel, xImplementors)
//
// into ec.collected.Fields(ec.OperationContext, sel, xImplementors): the
// same fields, without a key allocated for every object of an answer.
// It fails when the executionContext is not a struct or nothing calls
// graphql.CollectFields so.
func collectOnce(file *ast.File, graphqlName string) error {
	var ec *ast.StructType
	ast.Inspect(file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "executionContext" {
			ec, _ = ts.Type.(*ast.StructType)
		}
		return ec == nil
	})
	if ec == nil {
		return errors.New("no executionContext struct")
	}
	changed := 0
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil || fn.Recv == nil || len(fn.Recv.List) != 1 || len(fn.Recv.List[0].Names) != 1 ||
			fn.Recv.List[0].Names[0].Name != "ec" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 3 || !isSelector(call.Fun, graphqlName, "CollectFields") {
				return true
			}
			if oc, ok := call.Args[0].(*ast.SelectorExpr); !ok || !isSelector(oc, "ec", "OperationContext") {
				return true
			}
			call.Fun = &ast.SelectorExpr{
				X:   &ast.SelectorExpr{X: ast.NewIdent("ec"), Sel: ast.NewIdent("collected")},
				Sel: ast.NewIdent("Fields"),
			}
			changed++
			return true
		})
	}
	if changed == 0 {
		return errors.New("no object marshaller collects its fields with graphql.CollectFields(ec.OperationContext, …)")
	}
	ec.Fields.List = append(ec.Fields.List, &ast.Field{
		Names: []*ast.Ident{ast.NewIdent("collected")},
		Type:  &ast.SelectorExpr{X: ast.NewIdent("gqlmarshal"), Sel: ast.NewIdent("Collected")},
	})
	return nil
}
