package gqlmarshal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// listContext is the context of the field "orders" of an operation on
// doc, with a response context that collects errors.
func listContext(doc *ast.QueryDocument) context.Context {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ctx = graphql.WithOperationContext(ctx, &graphql.OperationContext{Doc: doc})
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "orders", Name: "orders"}}})
}

func marshalled(a graphql.Array) string {
	var b bytes.Buffer
	a.MarshalGQL(&b)
	return b.String()
}

func TestMarshalInOrderRunsEachElementInTurnWithItsPath(t *testing.T) {
	ctx := listContext(nil)
	next := 0
	got := MarshalInOrder(ctx, 4, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		if i != next {
			t.Errorf("element %d marshalled when %d was expected", i, next)
		}
		next++
		if i == 2 {
			graphql.AddError(ctx, errors.New("no product"))
		}
		return graphql.MarshalInt(i * 10)
	})
	if s := marshalled(got); s != "[0,10,20,30]" {
		t.Errorf("got %s, want [0,10,20,30]", s)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || errs[0].Path.String() != "orders[2]" {
		t.Errorf("errors %v, want one at orders[2]", errs)
	}
}

// TestMarshalInOrderMakesTheElementsContextsTogether: the field contexts
// and indices of a list's elements are two allocations for the list, one
// context value per element left (gqlgen: three per element).
func TestMarshalInOrderMakesTheElementsContextsTogether(t *testing.T) {
	ctx := listContext(nil)
	const n = 50
	element := func(context.Context, int) graphql.Marshaler { return graphql.Null }
	allocs := testing.AllocsPerRun(20, func() { MarshalInOrder(ctx, n, 0, true, element) })
	if allocs > n+4 {
		t.Errorf("%v allocations for %d elements, want at most %d", allocs, n, n+4)
	}
}

func TestMarshalInOrderRecoversAPanicAsANullAtItsPath(t *testing.T) {
	ctx := listContext(nil)
	got := MarshalInOrder(ctx, 3, 0, false, func(_ context.Context, i int) graphql.Marshaler {
		if i == 1 {
			panic("boom")
		}
		return graphql.MarshalInt(i)
	})
	if s := marshalled(got); s != "[0,null,2]" {
		t.Errorf("got %s, want [0,null,2]", s)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || errs[0].Path.String() != "orders[1]" {
		t.Errorf("errors %v, want one at orders[1]", errs)
	}
}

func TestMarshalInOrderWithoutAPanicHandlerLetsThePanicThrough(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("the panic was recovered with omitPanicHandler")
		}
	}()
	MarshalInOrder(listContext(nil), 2, 0, true, func(context.Context, int) graphql.Marshaler { panic("boom") })
}

// schema has a field that can wait (User.orders) beside plain ones.
const schema = `
type Query { recentOrders: [Order!]! }
type Order { id: ID! customer: User items: [Item!]! }
type Item { quantity: Int! }
type User { id: ID! name: String! orders: [Order!]! }
`

var waiting = Waiting{"User": {"orders": true}}

// ordersSelection is the selection under recentOrders in query.
func ordersSelection(t *testing.T, query string) (*ast.QueryDocument, ast.SelectionSet) {
	t.Helper()
	s := gqlparser.MustLoadSchema(&ast.Source{Name: "schema", Input: schema})
	doc, errs := gqlparser.LoadQueryWithRules(s, query, nil)
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	return doc, doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
}

func TestReachedFindsAWaitingFieldAtAnyDepth(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{`{ recentOrders { id items { quantity } customer { id name } } }`, false},
		{`{ recentOrders { customer { orders { id } } } }`, true},
		{`{ recentOrders { ... on Order { customer { ... on User { orders { id } } } } } }`, true},
		{`{ recentOrders { ...O } } fragment O on Order { customer { ...U } } fragment U on User { orders { id } }`, true},
		{`{ recentOrders { ...O } } fragment O on Order { customer { name } }`, false},
		// @skip is not evaluated: what it could include counts.
		{`query($s: Boolean!) { recentOrders { customer { orders @skip(if: $s) { id } } } }`, true},
		{`{ recentOrders { customer { orders { customer { id } } } } }`, true},
	}
	for _, tt := range tests {
		doc, sel := ordersSelection(t, tt.query)
		if got := waiting.reached(doc, sel); got != tt.want {
			t.Errorf("%s: reached %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestReachedTakesAFragmentItCannotLookIntoAsWaiting(t *testing.T) {
	sel := ast.SelectionSet{&ast.FragmentSpread{Name: "Missing"}}
	if !waiting.reached(&ast.QueryDocument{}, sel) {
		t.Error("a fragment spread with no definition was taken as plain")
	}
}

// TestMarshalIsConcurrentOnlyWhenTheSelectionCanWait: when the selection
// reaches a field that can wait, the elements run together (each one
// waits here until all have started, which in order would never end);
// when it does not, they run one after the other.
func TestMarshalIsConcurrentOnlyWhenTheSelectionCanWait(t *testing.T) {
	doc, sel := ordersSelection(t, `{ recentOrders { customer { orders { id } } } }`)
	const n = 5
	var started atomic.Int32
	all := make(chan struct{})
	got := Marshal(listContext(doc), sel, waiting, n, 0, false, func(_ context.Context, i int) graphql.Marshaler {
		if started.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			return graphql.MarshalString("alone")
		}
		return graphql.MarshalInt(i)
	})
	if s := marshalled(got); s != "[0,1,2,3,4]" {
		t.Errorf("selection that can wait: got %s, want the elements marshalled together", s)
	}

	doc, sel = ordersSelection(t, `{ recentOrders { id customer { name } } }`)
	var running, overlapped atomic.Int32
	got = Marshal(listContext(doc), sel, waiting, n, 0, false, func(_ context.Context, i int) graphql.Marshaler {
		if running.Add(1) > 1 {
			overlapped.Add(1)
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		return graphql.MarshalString(fmt.Sprint(i))
	})
	if overlapped.Load() > 0 {
		t.Errorf("plain selection: %d elements marshalled while another was", overlapped.Load())
	}
	if s := marshalled(got); s != `["0","1","2","3","4"]` {
		t.Errorf("plain selection: got %s", s)
	}
}

// TestRecoverFieldTurnsAPanicIntoANullAtTheFieldsPath: deferred by an
// object field that reads its model, as graphql.ResolveField recovers.
func TestRecoverFieldTurnsAPanicIntoANullAtTheFieldsPath(t *testing.T) {
	ctx := listContext(nil)
	oc := &graphql.OperationContext{RecoverFunc: graphql.DefaultRecover}
	ctx = graphql.WithOperationContext(ctx, oc)
	field := func(ctx context.Context) (ret graphql.Marshaler) {
		ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "price", Name: "price"}}})
		defer RecoverField(ctx, oc, &ret)
		panic("boom")
	}
	if got := field(ctx); got != graphql.Null {
		t.Errorf("got %v, want null", got)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || errs[0].Path.String() != "orders.price" {
		t.Errorf("errors %v, want one at orders.price", errs)
	}
}
