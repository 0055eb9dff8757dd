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
// that decide from the selection (gqllist.Marshal), and the schema's
// fields that can wait, for the latter.
type plan struct {
	inOrder map[string]bool
	bySel   map[string]bool
	// leaves are the functions of the leaf fields that read the model
	// (_Object_field): marshalled straight from the model, without
	// gqlgen's field context and middleware.
	leaves  map[string]bool
	waiting map[string][]string // object → its fields that can wait, sorted
}

// planLists plans the lists among refs.
func planLists(objects codegen.Objects, refs map[string]*config.TypeReference) plan {
	notPlain := notPlain(objects)
	p := plan{inOrder: map[string]bool{}, bySel: map[string]bool{}, leaves: map[string]bool{}, waiting: map[string][]string{}}
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
			if readsTheModel(o, f) {
				p.leaves["_"+o.Name+"_"+f.Name] = true
			}
			if waits(f) {
				p.waiting[o.Name] = append(p.waiting[o.Name], f.Name)
			}
		}
		sort.Strings(p.waiting[o.Name])
	}
	return p
}

// readsTheModel reports whether f is a leaf field that only reads its
// model: a scalar or enum, of an object that is not a root nor one of
// introspection's, bound to a struct field or to a method taking no
// context, returning no error, with no arguments and no directives, and
// that cannot be a null where the schema forbids one (a non-null field
// bound to a Go pointer can). Such a field needs nothing of what gqlgen
// does around a field: it cannot fail, panic or wait, and its value has
// no fields under it whose errors would need its path.
func readsTheModel(o *codegen.Object, f *codegen.Field) bool {
	ref := f.TypeReference
	switch {
	case o.Root, strings.HasPrefix(o.Name, "__"), f.IsResolver, f.MethodHasContext, f.Stream, f.VOkFunc, f.Batch,
		len(f.Args) > 0, len(f.Directives) > 0, ref == nil, ref.Definition == nil, ref.IsContext:
		return false
	case f.IsMethod() && !f.NoErr:
		return false
	case ref.Definition.Kind != ast.Scalar && ref.Definition.Kind != ast.Enum, ref.IsSlice(), ref.IsPtrToSlice():
		return false
	case ref.GQL.NonNull && ref.IsNilable():
		return false
	}
	return true
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
