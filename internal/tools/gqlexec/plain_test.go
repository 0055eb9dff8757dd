package main

import (
	"go/types"
	"slices"
	"testing"

	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
	"github.com/vektah/gqlparser/v2/ast"
)

// fixture builds gqlgen's data for a schema of objects by hand: each
// object's fields name their type's kind and name, and whether gqlgen
// resolves them concurrently.
type fieldSpec struct {
	name, typ  string
	kind       ast.DefinitionKind
	concurrent bool
}

// leafSpec is a field whose binding matters to readsTheModel.
type leafSpec struct {
	fieldSpec
	method, noErr, goPointer, nonNull, args, directive bool
	// byValue binds an object field to a Go struct, not a pointer.
	byValue bool
}

func objects(spec map[string][]fieldSpec) codegen.Objects {
	var out codegen.Objects
	for _, name := range sortedKeys(spec) {
		o := &codegen.Object{Definition: &ast.Definition{Name: name, Kind: ast.Object}}
		for _, f := range spec[name] {
			o.Fields = append(o.Fields, field(o, leafSpec{fieldSpec: f, nonNull: true}))
		}
		out = append(out, o)
	}
	return out
}

// field builds gqlgen's field of o for spec: bound to a struct field of
// a Go value type unless spec says otherwise.
func field(o *codegen.Object, spec leafSpec) *codegen.Field {
	var goType types.Type = types.Typ[types.Int]
	if (spec.kind == ast.Object && !spec.byValue) || spec.goPointer {
		goType = types.NewPointer(goType)
	}
	gql := ast.NamedType(spec.typ, nil)
	gql.NonNull = spec.nonNull
	f := &codegen.Field{
		FieldDefinition: &ast.FieldDefinition{Name: spec.name},
		TypeReference:   &config.TypeReference{Definition: &ast.Definition{Name: spec.typ, Kind: spec.kind}, GO: goType, GQL: gql},
		IsResolver:      spec.concurrent,
		NoErr:           spec.noErr,
		Object:          o,
	}
	if spec.method {
		f.GoFieldType = codegen.GoFieldMethod
	} else {
		f.GoFieldType = codegen.GoFieldVariable
	}
	if spec.args {
		f.Args = []*codegen.FieldArgument{{}}
	}
	if spec.directive {
		f.Directives = []*codegen.Directive{{}}
	}
	return f
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// listOf is the type reference of a list of the named type of kind.
func listOf(name string, kind ast.DefinitionKind) *config.TypeReference {
	pkg := types.NewPackage("example.com/model", "model")
	named := types.NewNamed(types.NewTypeName(0, pkg, name, nil), types.NewStruct(nil, nil), nil)
	return &config.TypeReference{
		Definition: &ast.Definition{Name: name, Kind: kind},
		GO:         types.NewSlice(types.NewPointer(named)),
		GQL:        ast.NonNullListType(ast.NonNullNamedType(name, nil), nil),
	}
}

var shop = map[string][]fieldSpec{
	"Money":   {{"cents", "Int", ast.Scalar, false}, {"currency", "String", ast.Scalar, false}},
	"Product": {{"id", "ID", ast.Scalar, false}, {"price", "Money", ast.Object, false}},
	"Item":    {{"quantity", "Int", ast.Scalar, false}, {"product", "Product", ast.Object, false}, {"status", "Status", ast.Enum, false}},
	"Order":   {{"id", "ID", ast.Scalar, false}, {"items", "Item", ast.Object, false}, {"customer", "User", ast.Object, false}},
	"User":    {{"id", "ID", ast.Scalar, false}, {"orders", "Order", ast.Object, true}},
	// A cycle with a waiting field at its far end: A → B → A, and B waits.
	"A": {{"b", "B", ast.Object, false}},
	"B": {{"a", "A", ast.Object, false}, {"slow", "Int", ast.Scalar, true}},
	// A cycle of plain objects: C ↔ D.
	"C": {{"d", "D", ast.Object, false}},
	"D": {{"c", "C", ast.Object, false}},
	// An interface field, and an object this data does not hold.
	"Holder":  {{"node", "Node", ast.Interface, false}},
	"Dangler": {{"ghost", "Ghost", ast.Object, false}},
}

func TestNotPlain(t *testing.T) {
	got := notPlain(objects(shop))
	want := map[string]bool{"User": true, "Order": true, "A": true, "B": true, "Holder": true, "Dangler": true}
	for _, name := range sortedKeys(shop) {
		if got[name] != want[name] {
			t.Errorf("%s: not plain %v, want %v", name, got[name], want[name])
		}
	}
}

func TestPlanLists(t *testing.T) {
	lists := map[string]*config.TypeReference{
		"Item": listOf("Item", ast.Object), "Order": listOf("Order", ast.Object), "User": listOf("User", ast.Object),
		"Status": listOf("Status", ast.Enum), "Node": listOf("Node", ast.Interface), "String": listOf("String", ast.Scalar),
	}
	refs := map[string]*config.TypeReference{}
	for _, r := range lists {
		refs[r.UniquenessKey()] = r
	}
	p := planLists(objects(shop), refs)
	// Lists of interfaces stay concurrent; lists of scalars are never
	// concurrent in gqlgen's code and are left alone.
	for name, want := range map[string]string{
		"Item": "in order", "Status": "in order", "Order": "by selection", "User": "by selection",
		"Node": "as gqlgen wrote it", "String": "as gqlgen wrote it",
	} {
		fn := lists[name].MarshalFunc()
		got := "as gqlgen wrote it"
		switch {
		case p.inOrder[fn]:
			got = "in order"
		case p.bySel[fn]:
			got = "by selection"
		}
		if got != want {
			t.Errorf("list of %s: %s, want %s", name, got, want)
		}
	}
	wantWaiting := map[string][]string{"B": {"slow"}, "Holder": {"node"}, "User": {"orders"}}
	for _, name := range sortedKeys(shop) {
		if !slices.Equal(p.waiting[name], wantWaiting[name]) {
			t.Errorf("%s: fields that wait %v, want %v", name, p.waiting[name], wantWaiting[name])
		}
	}
}

// TestReadsTheModel: which leaf fields are marshalled straight from the
// model (and which object fields keep only their context and recovery).
func TestReadsTheModel(t *testing.T) {
	o := &codegen.Object{Definition: &ast.Definition{Name: "Order", Kind: ast.Object}}
	scalar := fieldSpec{"total", "Int", ast.Scalar, false}
	tests := []struct {
		name string
		spec leafSpec
		root bool
		want bool
	}{
		{"struct field", leafSpec{fieldSpec: scalar, nonNull: true}, false, true},
		{"enum", leafSpec{fieldSpec: fieldSpec{"status", "Status", ast.Enum, false}, nonNull: true}, false, true},
		{"method without error", leafSpec{fieldSpec: scalar, method: true, noErr: true, nonNull: true}, false, true},
		{"nullable pointer", leafSpec{fieldSpec: scalar, goPointer: true}, false, true},
		{"method with an error", leafSpec{fieldSpec: scalar, method: true, nonNull: true}, false, false},
		{"resolver", leafSpec{fieldSpec: fieldSpec{"total", "Int", ast.Scalar, true}, nonNull: true}, false, false},
		{"non-null pointer", leafSpec{fieldSpec: scalar, goPointer: true, nonNull: true}, false, false},
		{"arguments", leafSpec{fieldSpec: scalar, nonNull: true, args: true}, false, false},
		{"directive", leafSpec{fieldSpec: scalar, nonNull: true, directive: true}, false, false},
		{"object", leafSpec{fieldSpec: fieldSpec{"customer", "User", ast.Object, false}}, false, false},
		{"root field", leafSpec{fieldSpec: scalar, nonNull: true}, true, false},
	}
	for _, tt := range tests {
		obj := *o
		obj.Root = tt.root
		f := field(&obj, tt.spec)
		if got := readsTheModel(&obj, f) && isLeaf(f); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestObjectFieldsThatReadTheModel(t *testing.T) {
	o := &codegen.Object{Definition: &ast.Definition{Name: "Order", Kind: ast.Object}}
	customer := fieldSpec{"customer", "User", ast.Object, false}
	for _, tt := range []struct {
		name string
		spec leafSpec
		want bool
	}{
		{"struct field", leafSpec{fieldSpec: customer}, true},
		{"method without error", leafSpec{fieldSpec: customer, method: true, noErr: true}, true},
		{"method with an error", leafSpec{fieldSpec: customer, method: true}, false},
		{"resolver", leafSpec{fieldSpec: fieldSpec{"customer", "User", ast.Object, true}}, false},
		{"scalar", leafSpec{fieldSpec: fieldSpec{"total", "Int", ast.Scalar, false}}, false},
	} {
		f := field(o, tt.spec)
		if got := readsTheModel(o, f) && isObject(f); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFieldsThatFailReadingTheModel: a method that can fail and takes no
// context keeps its field context and answers its error; a resolver, a
// method taking arguments or one that cannot fail does not go that way.
func TestFieldsThatFailReadingTheModel(t *testing.T) {
	o := &codegen.Object{Definition: &ast.Definition{Name: "OrderItem", Kind: ast.Object}}
	product := fieldSpec{"product", "Product", ast.Object, false}
	for _, tt := range []struct {
		name string
		spec leafSpec
		want bool
	}{
		{"object method with an error", leafSpec{fieldSpec: product, method: true}, true},
		{"scalar method with an error", leafSpec{fieldSpec: fieldSpec{"thumbnailUrl", "String", ast.Scalar, false}, method: true}, true},
		{"method without error", leafSpec{fieldSpec: product, method: true, noErr: true}, false},
		{"struct field", leafSpec{fieldSpec: product}, false},
		{"method with arguments", leafSpec{fieldSpec: product, method: true, args: true}, false},
		{"resolver", leafSpec{fieldSpec: fieldSpec{"product", "Product", ast.Object, true}}, false},
	} {
		f := field(o, tt.spec)
		if got := failsReadingTheModel(o, f); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFlatObjects: the objects nothing under which can fail, whose fields
// then need no field context of their own.
func TestFlatObjects(t *testing.T) {
	cents := leafSpec{fieldSpec: fieldSpec{"cents", "Int", ast.Scalar, false}, nonNull: true}
	currency := leafSpec{fieldSpec: fieldSpec{"currency", "String", ast.Scalar, false}, nonNull: true}
	status := leafSpec{fieldSpec: fieldSpec{"status", "Status", ast.Enum, false}, nonNull: true}
	money := func(name string, change func(*leafSpec)) leafSpec {
		s := leafSpec{fieldSpec: fieldSpec{name, "Money", ast.Object, false}, nonNull: true, byValue: true}
		if change != nil {
			change(&s)
		}
		return s
	}
	spec := map[string][]leafSpec{
		"Money": {cents, currency},
		// A flat object in a flat object, by value or as a nullable pointer.
		"Line":      {cents, status, money("price", nil), money("discount", func(s *leafSpec) { s.byValue, s.nonNull = false, false })},
		"Priced":    {money("price", nil)},
		"Formatted": {cents, {fieldSpec: fieldSpec{"formatted", "String", ast.Scalar, false}, method: true, noErr: true, nonNull: true}},
		// Not flat: what can fail or be a forbidden null under them.
		"NonNullPointer": {money("price", func(s *leafSpec) { s.byValue = false })},
		"Failing":        {cents, {fieldSpec: fieldSpec{"tax", "Int", ast.Scalar, false}, method: true, nonNull: true}},
		"Resolved":       {cents, {fieldSpec: fieldSpec{"rate", "Int", ast.Scalar, true}, nonNull: true}},
		"CustomScalar":   {cents, {fieldSpec: fieldSpec{"at", "DateTime", ast.Scalar, false}, nonNull: true}},
		"Argument":       {{fieldSpec: fieldSpec{"cents", "Int", ast.Scalar, false}, nonNull: true, args: true}},
		"HoldsNotFlat":   {money("failing", func(s *leafSpec) { s.typ = "Failing" })},
		"Empty":          nil,
		// A cycle, even of plain objects, is never flat.
		"C": {cents, {fieldSpec: fieldSpec{"d", "D", ast.Object, false}, byValue: true, nonNull: true}},
		"D": {cents, {fieldSpec: fieldSpec{"c", "C", ast.Object, false}, byValue: true, nonNull: true}},
	}
	var objs codegen.Objects
	for _, name := range sortedKeys(spec) {
		o := &codegen.Object{Definition: &ast.Definition{Name: name, Kind: ast.Object}}
		for _, f := range spec[name] {
			o.Fields = append(o.Fields, field(o, f))
		}
		objs = append(objs, o)
	}
	got := flatObjects(objs)
	want := map[string]bool{"Money": true, "Line": true, "Priced": true, "Formatted": true}
	for _, name := range sortedKeys(spec) {
		if got[name] != want[name] {
			t.Errorf("%s: flat %v, want %v", name, got[name], want[name])
		}
	}
	// A field holding a flat object is planned as a leaf (no field
	// context); one holding an object that is not flat keeps its context.
	p := planLists(objs, nil)
	for name, want := range map[string]bool{
		"_Line_price": true, "_Line_discount": true, "_Priced_price": true, "_Line_cents": true,
		"_NonNullPointer_price": false, "_HoldsNotFlat_failing": false,
	} {
		if p.leaves[name] != want {
			t.Errorf("%s: planned as a leaf %v, want %v", name, p.leaves[name], want)
		}
	}
	if !p.objects["_HoldsNotFlat_failing"] || !p.objects["_NonNullPointer_price"] {
		t.Error("fields holding objects that are not flat: want them to keep their field context (objects)")
	}
}
