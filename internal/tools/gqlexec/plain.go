package main

import (
	"sort"
	"strings"

	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
	"github.com/vektah/gqlparser/v2/ast"
)

// lists is a gqlgen plugin that sees the data gqlgen generates from (it
// only reads it, before gqlgen writes the executable schema) and decides
// how each list of objects or enums is marshalled.
type lists struct {
	plan plan
}

func (*lists) Name() string { return "gqlexec-lists" }

func (l *lists) GenerateCode(data *codegen.Data) error {
	l.plan = planLists(data.Objects, data.ReferencedTypes)
	return nil
}

// plan is what the rewrite does: the marshal functions whose lists go in
// order whatever is selected (their elements are plain, or enums), those
// that decide from the selection (gqlmarshal.Marshal), and the schema's
// fields that can wait, for the latter.
type plan struct {
	inOrder map[string]bool
	bySel   map[string]bool
	// leaves are the functions of the leaf fields that read the model
	// (_Object_field), and of the fields of flat objects (flatObjects)
	// that read it: marshalled straight from the model, without gqlgen's
	// field context and middleware.
	leaves map[string]bool
	// objects are the functions of the object fields (one object or a
	// list of them) that read the model: their value goes to its
	// marshaller under the field's context and recovery, without the
	// closures and middleware chain.
	objects map[string]bool
	// failing are the functions of the fields that read the model through
	// a method that can fail: the same as objects, and the method's error
	// answered as graphql.ResolveField does (gqlmarshal.FieldError).
	failing map[string]bool
	waiting map[string][]string // object → its fields that can wait, sorted
}

// planLists plans the lists among refs.
func planLists(objects codegen.Objects, refs map[string]*config.TypeReference) plan {
	notPlain, flat := notPlain(objects), flatObjects(objects)
	p := plan{inOrder: map[string]bool{}, bySel: map[string]bool{}, leaves: map[string]bool{}, objects: map[string]bool{},
		failing: map[string]bool{}, waiting: map[string][]string{}}
	for _, ref := range refs {
		if !ref.IsSlice() || ref.IsScalar() || ref.Definition == nil {
			continue
		}
		switch def := ref.Definition; {
		case def.Kind == ast.Enum:
			p.inOrder[ref.MarshalFunc()] = true
		case def.Kind == ast.Object && objects.ByName(def.Name) != nil && !notPlain[def.Name]:
			p.inOrder[ref.MarshalFunc()] = true
		case def.Kind == ast.Object:
			p.bySel[ref.MarshalFunc()] = true
		}
	}
	for _, o := range objects {
		for _, f := range o.Fields {
			switch name := "_" + o.Name + "_" + f.Name; {
			case readsTheModel(o, f) && (isLeaf(f) || flatField(f, flat)):
				p.leaves[name] = true
			case readsTheModel(o, f) && isObject(f):
				p.objects[name] = true
			case failsReadingTheModel(o, f):
				p.failing[name] = true
			}
			if waits(f) {
				p.waiting[o.Name] = append(p.waiting[o.Name], f.Name)
			}
		}
		sort.Strings(p.waiting[o.Name])
	}
	return p
}

// readsTheModel reports whether f only reads its model: a field of an
// object that is not a root nor one of introspection's, bound to a struct
// field or to a method taking no context and returning no error, with no
// arguments and no directives. Such a field cannot fail, wait or be
// intercepted; what it holds is marshalled as gqlgen would.
func readsTheModel(o *codegen.Object, f *codegen.Field) bool {
	return onlyTheModel(o, f) && (!f.IsMethod() || f.NoErr)
}

// failsReadingTheModel reports whether f reads its model through a method
// that can fail (and takes no context: it cannot wait), with what
// readsTheModel asks of the rest.
func failsReadingTheModel(o *codegen.Object, f *codegen.Field) bool {
	return onlyTheModel(o, f) && f.IsMethod() && !f.NoErr
}

// onlyTheModel reports whether f is bound to its model and nothing else
// can run in it: not a root's, nor introspection's, nor a resolver, no
// context, arguments nor directives.
func onlyTheModel(o *codegen.Object, f *codegen.Field) bool {
	ref := f.TypeReference
	switch {
	case o.Root, strings.HasPrefix(o.Name, "__"), f.IsResolver, f.MethodHasContext, f.Stream, f.VOkFunc, f.Batch,
		len(f.Args) > 0, len(f.Directives) > 0, ref == nil, ref.Definition == nil, ref.IsContext:
		return false
	}
	return true
}

// isLeaf reports whether f, which reads its model, is a scalar or enum
// that cannot be a null where the schema forbids one (a non-null field
// bound to a Go pointer can): it needs nothing of what gqlgen does around
// a field, not even a field context, as nothing under it can fail.
func isLeaf(f *codegen.Field) bool {
	ref := f.TypeReference
	kind := ref.Definition.Kind
	forbiddenNull := ref.GQL.NonNull && ref.IsNilable()
	return (kind == ast.Scalar || kind == ast.Enum) && !ref.IsSlice() && !ref.IsPtrToSlice() && !forbiddenNull
}

// flatObjects returns the objects each field of which reads the model and
// is always written: a leaf of a built-in scalar or an enum that cannot be
// a null where the schema forbids one, or one flat object (flatField).
// Nothing under a flat object can fail, so a field holding one needs no
// field context (the path of an error) nor recovery of its own, no more
// than a leaf does: the money of an order and of each of its items. The
// least fixed point: objects in a cycle are never flat.
func flatObjects(objects codegen.Objects) map[string]bool {
	flat := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, o := range objects {
			if flat[o.Name] || len(o.Fields) == 0 {
				continue
			}
			all := true
			for _, f := range o.Fields {
				written := readsTheModel(o, f) && ((isLeaf(f) && alwaysWritten(f)) || flatField(f, flat))
				if !written {
					all = false
					break
				}
			}
			if all {
				flat[o.Name] = true
				changed = true
			}
		}
	}
	return flat
}

// alwaysWritten reports whether f's type is one whose marshaller never
// gives a null of its own: gqlgen's built-in scalars and enums (a custom
// scalar's may, and then reports the error on the field's context).
func alwaysWritten(f *codegen.Field) bool {
	def := f.TypeReference.Definition
	switch def.Kind {
	case ast.Enum:
		return true
	case ast.Scalar:
		switch def.Name {
		case "Int", "Float", "String", "Boolean", "ID":
			return true
		}
	}
	return false
}

// flatField reports whether f holds one object of flat (not a list), and
// cannot hold a null where the schema forbids one.
func flatField(f *codegen.Field, flat map[string]bool) bool {
	ref := f.TypeReference
	return ref.Definition.Kind == ast.Object && flat[ref.Definition.Name] &&
		!ref.IsSlice() && !ref.IsPtrToSlice() && (!ref.GQL.NonNull || !ref.IsNilable())
}

// isObject reports whether f, which reads its model, is an object or a
// list of objects: it keeps its field context (the path of what fails
// under it) and gqlgen's panic recovery, and loses only the closures and
// the middleware chain around its value. (A nil slice or pointer is
// handed to the marshaller as graphql.ResolveField hands it: typed, not
// a nil interface.)
func isObject(f *codegen.Field) bool {
	return f.TypeReference.Definition.Kind == ast.Object
}

// waits reports whether a field can wait: gqlgen resolves it concurrently
// (a resolver, a method taking a context), or its type is an interface or
// a union, whose objects are not looked into.
func waits(f *codegen.Field) bool {
	if f.IsConcurrent() || f.TypeReference == nil || f.TypeReference.Definition == nil {
		return true
	}
	switch f.TypeReference.Definition.Kind {
	case ast.Interface, ast.Union:
		return true
	}
	return false
}

// notPlain returns the objects that are not plain: those with a field
// that can wait, and those with a field whose object is not plain, to a
// fixed point (so cycles of objects are decided right).
// An object this schema's data does not hold is not plain.
func notPlain(objects codegen.Objects) map[string]bool {
	known := map[string]bool{}
	for _, o := range objects {
		known[o.Name] = true
	}
	out := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, o := range objects {
			if out[o.Name] {
				continue
			}
			for _, f := range o.Fields {
				def := f.TypeReference.Definition
				if waits(f) || (def.Kind == ast.Object && (out[def.Name] || !known[def.Name])) {
					out[o.Name] = true
					changed = true
					break
				}
			}
		}
	}
	return out
}
